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
# chime-signaling.md §2 / §10.3.
EXPECTED: dict[str, dict[str, tuple[int, int, str, str | None]]] = {
    "SdkSignalFrame": {
        "timestamp_ms": (1, F.TYPE_UINT64, REQ, None),
        "type": (2, F.TYPE_ENUM, REQ, "SdkSignalFrame.Type"),
        "data_message": (23, F.TYPE_MESSAGE, OPT, "SdkDataMessageFrame"),
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
    "SdkTranscriptItem.Type": {"PRONUNCIATION": 1, "PUNCTUATION": 2},
    "SdkTranscriptionStatus.Type": {"STARTED": 1, "INTERRUPTED": 2, "RESUMED": 3, "STOPPED": 4, "FAILED": 5},
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
    if message == "SdkSignalFrame":
        # A later change adds the other signaling payloads; only the ones we rely on are pinned here.
        actual = {k: v for k, v in actual.items() if k in EXPECTED[message]}
    assert actual == EXPECTED[message]


def test_transcript_event_is_a_oneof() -> None:
    oneof = pb.SdkTranscriptEvent.DESCRIPTOR.oneofs_by_name["Event"]
    assert [f.name for f in oneof.fields] == ["status", "transcript"]


@pytest.mark.parametrize("enum", sorted(EXPECTED_ENUMS))
def test_enum_values(enum: str) -> None:
    message, name = enum.split(".")
    descriptor = pb.DESCRIPTOR.message_types_by_name[message].enum_types_by_name[name]
    assert {v.name: v.number for v in descriptor.values} == EXPECTED_ENUMS[enum]


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
