"""The committed protobuf module: field numbers match the reference, and it never drifts from the .proto."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from google.protobuf import __version__ as protobuf_version
from google.protobuf.descriptor import FieldDescriptor as F
from packaging.requirements import Requirement
from packaging.version import Version

from parley.proto import chime_signaling_pb2 as pb
from parley.proto.generate import PROTO_DIR, generate

ROOT = Path(__file__).resolve().parents[2]

OPT, REQ, REP = "optional", "required", "repeated"

# (number, type, label, message/enum type name or None) per field, from amazon-chime-sdk-js
# protocol/SignalingProtocol.proto as recorded in shared/reference/chime-meetings.md §3.1–3.2 and
# chime-signaling.md §2 / §10.3; the video fields from the SDK 3.32.0 build's SignalingProtocol.js (SdkPauseResumeFrame
# SP:4526-4540, SdkJoinAckFrame.video_subscription_limit SP:2462-2478, SdkStreamDescriptor width/height SP:5170-5200,
# SdkSignalFrame.bitrates SP:309, SdkBitrateFrame SP:4818-4830, SdkBitrate SP:6114-6126; docs/chime-js.md "Video").
EXPECTED: dict[str, dict[str, tuple[int, int, str, str | None]]] = {
    "SdkSignalFrame": {
        "timestamp_ms": (1, F.TYPE_UINT64, REQ, None),
        "type": (2, F.TYPE_ENUM, REQ, "SdkSignalFrame.Type"),
        "error": (3, F.TYPE_MESSAGE, OPT, "SdkErrorFrame"),
        "join": (4, F.TYPE_MESSAGE, OPT, "SdkJoinFrame"),
        "joinack": (5, F.TYPE_MESSAGE, OPT, "SdkJoinAckFrame"),
        "sub": (6, F.TYPE_MESSAGE, OPT, "SdkSubscribeFrame"),
        "suback": (7, F.TYPE_MESSAGE, OPT, "SdkSubscribeAckFrame"),
        "index": (8, F.TYPE_MESSAGE, OPT, "SdkIndexFrame"),
        "pause": (10, F.TYPE_MESSAGE, OPT, "SdkPauseResumeFrame"),
        "leave": (11, F.TYPE_MESSAGE, OPT, "SdkLeaveFrame"),
        "leave_ack": (12, F.TYPE_MESSAGE, OPT, "SdkLeaveAckFrame"),
        "bitrates": (14, F.TYPE_MESSAGE, OPT, "SdkBitrateFrame"),
        "audio_control": (17, F.TYPE_MESSAGE, OPT, "SdkAudioControlFrame"),
        "audio_metadata": (18, F.TYPE_MESSAGE, OPT, "SdkAudioMetadataFrame"),
        "audio_stream_id_info": (19, F.TYPE_MESSAGE, OPT, "SdkAudioStreamIdInfoFrame"),
        "ping_pong": (20, F.TYPE_MESSAGE, OPT, "SdkPingPongFrame"),
        "audio_status": (21, F.TYPE_MESSAGE, OPT, "SdkAudioStatusFrame"),
        "data_message": (23, F.TYPE_MESSAGE, OPT, "SdkDataMessageFrame"),
    },
    "SdkBitrateFrame": {
        "bitrates": (1, F.TYPE_MESSAGE, REP, "SdkBitrate"),
        "server_available_outgoing_bitrate": (2, F.TYPE_UINT32, OPT, None),
    },
    "SdkBitrate": {
        "source_stream_id": (1, F.TYPE_UINT32, OPT, None),
        "avg_bitrate_bps": (2, F.TYPE_UINT32, OPT, None),
    },
    # The audio-only signaling payloads (chime-signaling.md §2-§4; SDK protocol/SignalingProtocol.proto).
    "SdkErrorFrame": {
        "status": (1, F.TYPE_UINT32, OPT, None),
        "description": (2, F.TYPE_STRING, OPT, None),
    },
    "SdkClientDetails": {
        "app_name": (1, F.TYPE_STRING, OPT, None),
        "app_version": (2, F.TYPE_STRING, OPT, None),
        "device_model": (3, F.TYPE_STRING, OPT, None),
        "device_make": (4, F.TYPE_STRING, OPT, None),
        "platform_name": (5, F.TYPE_STRING, OPT, None),
        "platform_version": (6, F.TYPE_STRING, OPT, None),
        "client_source": (7, F.TYPE_STRING, OPT, None),
        "chime_sdk_version": (8, F.TYPE_STRING, OPT, None),
    },
    "SdkJoinFrame": {
        "protocol_version": (1, F.TYPE_UINT32, OPT, None),
        "max_num_of_videos": (2, F.TYPE_UINT32, OPT, None),
        "flags": (3, F.TYPE_UINT32, OPT, None),
        "client_details": (4, F.TYPE_MESSAGE, OPT, "SdkClientDetails"),
        "audio_session_id": (6, F.TYPE_UINT64, OPT, None),
    },
    "SdkTurnCredentials": {
        "username": (1, F.TYPE_STRING, OPT, None),
        "password": (2, F.TYPE_STRING, OPT, None),
        "ttl": (3, F.TYPE_UINT32, OPT, None),
        "uris": (4, F.TYPE_STRING, REP, None),
    },
    "SdkJoinAckFrame": {
        "turn_credentials": (1, F.TYPE_MESSAGE, OPT, "SdkTurnCredentials"),
        "video_subscription_limit": (2, F.TYPE_UINT32, OPT, None),
    },
    "SdkLeaveFrame": {},
    "SdkLeaveAckFrame": {},
    "SdkStreamDescriptor": {
        "stream_id": (1, F.TYPE_UINT32, OPT, None),
        "framerate": (2, F.TYPE_UINT32, OPT, None),
        "max_bitrate_kbps": (3, F.TYPE_UINT32, OPT, None),
        "track_label": (4, F.TYPE_STRING, OPT, None),
        "group_id": (6, F.TYPE_UINT32, OPT, None),
        "avg_bitrate_bps": (7, F.TYPE_UINT32, OPT, None),
        "attendee_id": (8, F.TYPE_STRING, OPT, None),
        "media_type": (9, F.TYPE_ENUM, OPT, "SdkStreamMediaType"),
        "external_user_id": (10, F.TYPE_STRING, OPT, None),
        "width": (11, F.TYPE_UINT32, OPT, None),
        "height": (12, F.TYPE_UINT32, OPT, None),
    },
    "SdkStreamAllocation": {
        "track_label": (1, F.TYPE_STRING, OPT, None),
        "stream_id": (2, F.TYPE_UINT32, OPT, None),
        "group_id": (3, F.TYPE_UINT32, OPT, None),
    },
    "SdkTrackMapping": {
        "stream_id": (1, F.TYPE_UINT32, OPT, None),
        "ssrc": (2, F.TYPE_UINT32, OPT, None),
        "track_label": (3, F.TYPE_STRING, OPT, None),
    },
    "SdkSubscribeFrame": {
        "duplex": (1, F.TYPE_ENUM, OPT, "SdkStreamServiceType"),
        "send_streams": (2, F.TYPE_MESSAGE, REP, "SdkStreamDescriptor"),
        "receive_stream_ids": (3, F.TYPE_UINT32, REP, None),
        "sdp_offer": (4, F.TYPE_STRING, OPT, None),
        "audio_host": (5, F.TYPE_STRING, OPT, None),
        "audio_checkin": (6, F.TYPE_BOOL, OPT, None),
        "audio_muted": (7, F.TYPE_BOOL, OPT, None),
    },
    "SdkSubscribeAckFrame": {
        "duplex": (1, F.TYPE_ENUM, OPT, "SdkStreamServiceType"),
        "allocations": (2, F.TYPE_MESSAGE, REP, "SdkStreamAllocation"),
        "sdp_answer": (3, F.TYPE_STRING, OPT, None),
        "tracks": (4, F.TYPE_MESSAGE, REP, "SdkTrackMapping"),
    },
    "SdkIndexFrame": {
        "at_capacity": (1, F.TYPE_BOOL, OPT, None),
        "sources": (2, F.TYPE_MESSAGE, REP, "SdkStreamDescriptor"),
        "paused_at_source_ids": (3, F.TYPE_UINT32, REP, None),
        "num_participants": (4, F.TYPE_UINT32, OPT, None),
    },
    "SdkPauseResumeFrame": {
        "stream_ids": (1, F.TYPE_UINT32, REP, None),
        "group_ids": (2, F.TYPE_UINT32, REP, None),
    },
    "SdkAudioControlFrame": {
        "muted": (1, F.TYPE_BOOL, OPT, None),
    },
    "SdkAudioAttendeeState": {
        "audio_stream_id": (1, F.TYPE_UINT32, OPT, None),
        "volume": (2, F.TYPE_UINT32, OPT, None),
        "muted": (3, F.TYPE_BOOL, OPT, None),
        "signal_strength": (4, F.TYPE_UINT32, OPT, None),
    },
    "SdkAudioMetadataFrame": {
        "attendee_states": (1, F.TYPE_MESSAGE, REP, "SdkAudioAttendeeState"),
    },
    "SdkAudioStreamIdInfo": {
        "audio_stream_id": (1, F.TYPE_UINT32, OPT, None),
        "attendee_id": (2, F.TYPE_STRING, OPT, None),
        "muted": (3, F.TYPE_BOOL, OPT, None),
        "external_user_id": (4, F.TYPE_STRING, OPT, None),
        "dropped": (5, F.TYPE_BOOL, OPT, None),
    },
    "SdkAudioStreamIdInfoFrame": {
        "streams": (1, F.TYPE_MESSAGE, REP, "SdkAudioStreamIdInfo"),
    },
    "SdkPingPongFrame": {
        "type": (1, F.TYPE_ENUM, REQ, "SdkPingPongType"),
        "ping_id": (2, F.TYPE_UINT32, REQ, None),
    },
    "SdkAudioStatusFrame": {
        "audio_status": (1, F.TYPE_UINT32, OPT, None),
    },
    "SdkDataMessageFrame": {
        "messages": (1, F.TYPE_MESSAGE, REP, "SdkDataMessagePayload"),
    },
    "SdkDataMessagePayload": {
        "topic": (1, F.TYPE_STRING, OPT, None),
        "data": (2, F.TYPE_BYTES, OPT, None),
        "lifetime_ms": (3, F.TYPE_UINT32, OPT, None),
        "sender_attendee_id": (4, F.TYPE_STRING, OPT, None),
        "ingest_time_ns": (5, F.TYPE_INT64, OPT, None),
        "sender_external_user_id": (6, F.TYPE_STRING, OPT, None),
    },
    "SdkTranscriptItem": {
        "content": (1, F.TYPE_STRING, OPT, None),
        "end_time": (2, F.TYPE_INT64, OPT, None),
        "speaker_attendee_id": (3, F.TYPE_STRING, OPT, None),
        "speaker_external_user_id": (4, F.TYPE_STRING, OPT, None),
        "start_time": (5, F.TYPE_INT64, OPT, None),
        "type": (6, F.TYPE_ENUM, OPT, "SdkTranscriptItem.Type"),
        "vocabulary_filter_match": (7, F.TYPE_BOOL, OPT, None),
        "confidence": (8, F.TYPE_DOUBLE, OPT, None),
        "stable": (9, F.TYPE_BOOL, OPT, None),
    },
    "SdkTranscriptEntity": {
        "category": (1, F.TYPE_STRING, OPT, None),
        "confidence": (2, F.TYPE_DOUBLE, OPT, None),
        "content": (3, F.TYPE_STRING, OPT, None),
        "end_time": (4, F.TYPE_INT64, OPT, None),
        "start_time": (5, F.TYPE_INT64, OPT, None),
        "type": (6, F.TYPE_STRING, OPT, None),
    },
    "SdkTranscriptAlternative": {
        "items": (1, F.TYPE_MESSAGE, REP, "SdkTranscriptItem"),
        "transcript": (2, F.TYPE_STRING, OPT, None),
        "entities": (3, F.TYPE_MESSAGE, REP, "SdkTranscriptEntity"),
    },
    "SdkTranscriptLanguageWithScore": {
        "language_code": (1, F.TYPE_STRING, OPT, None),
        "score": (2, F.TYPE_DOUBLE, OPT, None),
    },
    "SdkTranscriptResult": {
        "alternatives": (1, F.TYPE_MESSAGE, REP, "SdkTranscriptAlternative"),
        "channel_id": (2, F.TYPE_STRING, OPT, None),
        "end_time": (3, F.TYPE_INT64, OPT, None),
        "is_partial": (4, F.TYPE_BOOL, OPT, None),
        "result_id": (5, F.TYPE_STRING, OPT, None),
        "start_time": (6, F.TYPE_INT64, OPT, None),
        "language_code": (7, F.TYPE_STRING, OPT, None),
        "language_identification": (8, F.TYPE_MESSAGE, REP, "SdkTranscriptLanguageWithScore"),
    },
    "SdkTranscript": {
        "results": (1, F.TYPE_MESSAGE, REP, "SdkTranscriptResult"),
    },
    "SdkTranscriptionStatus": {
        "type": (1, F.TYPE_ENUM, OPT, "SdkTranscriptionStatus.Type"),
        "event_time": (2, F.TYPE_INT64, OPT, None),
        "transcription_region": (3, F.TYPE_STRING, OPT, None),
        "transcription_configuration": (4, F.TYPE_STRING, OPT, None),
        "message": (5, F.TYPE_STRING, OPT, None),
    },
    "SdkTranscriptEvent": {
        "status": (1, F.TYPE_MESSAGE, OPT, "SdkTranscriptionStatus"),
        "transcript": (2, F.TYPE_MESSAGE, OPT, "SdkTranscript"),
    },
    "SdkTranscriptFrame": {
        "events": (1, F.TYPE_MESSAGE, REP, "SdkTranscriptEvent"),
    },
}

EXPECTED_ENUMS: dict[str, dict[str, int]] = {
    "SdkSignalFrame.Type": {
        "JOIN": 1,
        "JOIN_ACK": 2,
        "SUBSCRIBE": 3,
        "SUBSCRIBE_ACK": 4,
        "INDEX": 5,
        "PAUSE": 7,
        "RESUME": 8,
        "LEAVE": 9,
        "LEAVE_ACK": 10,
        "BITRATES": 13,
        "AUDIO_CONTROL": 16,
        "AUDIO_METADATA": 17,
        "AUDIO_STREAM_ID_INFO": 18,
        "PING_PONG": 19,
        "AUDIO_STATUS": 20,
        "CLIENT_METRIC": 21,
        "DATA_MESSAGE": 22,
        "REMOTE_VIDEO_UPDATE": 24,
        "PRIMARY_MEETING_JOIN": 25,
        "PRIMARY_MEETING_JOIN_ACK": 26,
        "PRIMARY_MEETING_LEAVE": 27,
        "NOTIFICATION": 34,
        "MEETING_SESSION_TIMING": 43,
    },
    "SdkTranscriptItem.Type": {"PRONUNCIATION": 1, "PUNCTUATION": 2},
    "SdkTranscriptionStatus.Type": {"STARTED": 1, "INTERRUPTED": 2, "RESUMED": 3, "STOPPED": 4, "FAILED": 5},
}


# Top-level enums of the signaling payloads.
EXPECTED_TOP_ENUMS: dict[str, dict[str, int]] = {
    "SdkStreamServiceType": {"RX": 1, "TX": 2, "DUPLEX": 3},
    "SdkStreamMediaType": {"AUDIO": 1, "VIDEO": 2},
    "SdkPingPongType": {"PING": 1, "PONG": 2},
}


def _label(field: F) -> str:
    return REP if field.is_repeated else REQ if field.is_required else OPT


def _relative(full_name: str) -> str:
    return full_name.removeprefix(pb.DESCRIPTOR.package + ".")


def test_file_is_proto2() -> None:
    assert 'syntax = "proto2";' in (PROTO_DIR / "chime_signaling.proto").read_text(encoding="utf-8")
    # proto2 semantics are what make "optional" fields carry presence, which the JS converter relies on.
    assert pb.SdkTranscriptItem.DESCRIPTOR.fields_by_name["stable"].has_presence


@pytest.mark.parametrize("message", sorted(EXPECTED))
def test_field_numbers_types_and_labels(message: str) -> None:
    descriptor = pb.DESCRIPTOR.message_types_by_name[message]
    actual = {}
    for field in descriptor.fields:
        ref = field.message_type or field.enum_type
        ref_name = _relative(ref.full_name) if ref else None
        actual[field.name] = (field.number, field.type, _label(field), ref_name)
    assert actual == EXPECTED[message]


def test_transcript_event_is_a_oneof() -> None:
    oneof = pb.SdkTranscriptEvent.DESCRIPTOR.oneofs_by_name["Event"]
    assert [f.name for f in oneof.fields] == ["status", "transcript"]


@pytest.mark.parametrize("enum", sorted(EXPECTED_ENUMS))
def test_enum_values(enum: str) -> None:
    message, name = enum.split(".")
    descriptor = pb.DESCRIPTOR.message_types_by_name[message].enum_types_by_name[name]
    assert {v.name: v.number for v in descriptor.values} == EXPECTED_ENUMS[enum]


@pytest.mark.parametrize("enum", sorted(EXPECTED_TOP_ENUMS))
def test_top_level_enum_values(enum: str) -> None:
    descriptor = pb.DESCRIPTOR.enum_types_by_name[enum]
    assert {v.name: v.number for v in descriptor.values} == EXPECTED_TOP_ENUMS[enum]


def test_every_message_is_pinned() -> None:
    """A message added to the .proto without its field numbers here would go unguarded."""
    assert set(pb.DESCRIPTOR.message_types_by_name) == set(EXPECTED)


def test_signal_frame_type_data_message_is_22() -> None:
    assert pb.SdkSignalFrame.DATA_MESSAGE == 22


def test_generated_module_matches_the_proto(tmp_path: Path) -> None:
    written = generate(tmp_path)
    assert written
    for fresh in written:
        committed = PROTO_DIR / fresh.name
        assert committed.exists(), f"{committed.name} is not committed; run `python -m parley.proto.generate`"
        assert committed.read_text(encoding="utf-8") == fresh.read_text(encoding="utf-8"), (
            f"{committed.name} drifted from its .proto (or grpcio-tools changed): "
            "run `python -m parley.proto.generate` and commit the result"
        )


def _gencode_version() -> Version:
    text = (PROTO_DIR / "chime_signaling_pb2.py").read_text(encoding="utf-8")
    match = re.search(
        r"ValidateProtobufRuntimeVersion\(\s*_runtime_version\.Domain\.PUBLIC,\s*(\d+),\s*(\d+),\s*(\d+),\s*'([^']*)'",
        text,
    )
    assert match, "generated module has no runtime version gate; was it generated by an old protoc?"
    major, minor, patch, suffix = match.groups()
    return Version(f"{major}.{minor}.{patch}{suffix}")


def _protobuf_requirement() -> Requirement:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    [spec] = [Requirement(r) for r in project["dependencies"] if Requirement(r).name == "protobuf"]
    return spec


def test_pinned_runtime_satisfies_the_gencode_gate() -> None:
    """The gate refuses runtimes older than the gencode, or of another major: the pin must exclude both."""
    gate = _gencode_version()
    spec = _protobuf_requirement()
    lower = [Version(s.version) for s in spec.specifier if s.operator == ">="]
    upper = [Version(s.version) for s in spec.specifier if s.operator == "<"]
    assert lower == [gate], f"pyproject pins {spec}, generated code needs protobuf>={gate}"
    assert upper == [Version(f"{gate.major + 1}")], f"pyproject pins {spec}, gencode is major {gate.major}"
    assert Version(protobuf_version) in spec.specifier


def test_grpcio_tools_is_pinned_in_the_test_extra() -> None:
    """The drift test compares text, so everyone must generate with the same protoc."""
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]["test"]
    [spec] = [Requirement(r) for r in extra if Requirement(r).name == "grpcio-tools"]
    assert [s.operator for s in spec.specifier] == ["=="]
