"""Protobuf frames: golden vectors from the JS SDK's own tests, byte for byte, and the signaling envelope."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from parley.proto import chime_signaling_pb2 as pb
from parley.transcripts.events import (
    Transcript,
    TranscriptAlternative,
    TranscriptEntity,
    TranscriptionStatus,
    TranscriptItem,
    TranscriptLanguageWithScore,
    TranscriptResult,
)
from parley.transcripts.wire import (
    FRAME_TYPE_RTC,
    TRANSCRIPTION_TOPIC,
    from_sdk_transcript_frame,
    from_signal_data_message_frame,
    to_sdk_transcript_frame,
    to_signal_data_message_frame,
)

from . import vectors
from .samples import rich_events

STATUS_KW = {
    "event_time_ms": 1234567890,
    "transcription_region": "test-region",
    "transcription_configuration": "test-configuration",
}
SPEAKER = ("speaker-attendee-id", "speaker-external-user-id")


def _raw(b64: str) -> bytes:
    return base64.b64decode(b64)


# -- status vectors: every field is set, so our encoder must reproduce them exactly --------------------


@pytest.mark.parametrize(
    ("vector", "expected"),
    [
        (vectors.TRANSCRIPTION_STATUS_STARTED, [TranscriptionStatus("started", **STATUS_KW)]),
        (
            vectors.TRANSCRIPTION_STATUS_STARTED_WITH_MESSAGE,
            [TranscriptionStatus("started", **STATUS_KW, message="detail message")],
        ),
        (
            vectors.TRANSCRIPTION_STATUS_ALL,
            [
                TranscriptionStatus(kind, **STATUS_KW)  # type: ignore[arg-type]
                for kind in ("started", "interrupted", "resumed", "stopped", "failed")
            ],
        ),
    ],
    ids=["started", "started_with_message", "all"],
)
def test_status_vectors_decode_and_reencode_byte_for_byte(vector: str, expected: list) -> None:
    assert from_sdk_transcript_frame(_raw(vector)) == expected
    assert to_sdk_transcript_frame(expected) == _raw(vector)
    assert base64.b64encode(to_sdk_transcript_frame(expected)).decode() == vector


def test_status_with_unknown_type_is_skipped_like_the_js_converter() -> None:
    raw = _raw(vectors.TRANSCRIPTION_STATUS_INVALID)
    assert pb.SdkTranscriptFrame.FromString(raw).events[0].HasField("status")
    assert from_sdk_transcript_frame(raw) == []


# -- transcript vectors: decoded content ----------------------------------------------------------------


def _item(
    content: str, start: int, end: int, kind: str = "pronunciation", who: tuple[str, str] = SPEAKER, **kw: Any
) -> TranscriptItem:
    return TranscriptItem(kind, start, end, who[0], who[1], content, **kw)  # type: ignore[arg-type]


def test_transcript_single_vector_decodes() -> None:
    [event] = from_sdk_transcript_frame(_raw(vectors.TRANSCRIPT_SINGLE))
    assert event == Transcript(
        (
            TranscriptResult(
                result_id="",
                channel_id="",
                is_partial=False,
                start_time_ms=0,  # unset on the wire in this vector
                end_time_ms=0,
                alternatives=(
                    TranscriptAlternative(
                        items=(
                            _item("Test", 1627938238115, 1627938239097, vocabulary_filter_match=True),
                            _item(".", 1627938239114, 1627938239115, "punctuation"),
                        ),
                        transcript="Test.",
                    ),
                ),
            ),
        )
    )


def test_transcript_mixed_vector_decodes() -> None:
    status, transcript = from_sdk_transcript_frame(_raw(vectors.TRANSCRIPT_MIXED))
    assert status == TranscriptionStatus("started", **STATUS_KW)
    assert isinstance(transcript, Transcript)
    assert transcript.results[0].alternatives[0].transcript == "Test."


def _entity_vector_items(raw: bytes) -> tuple[TranscriptAlternative, TranscriptResult]:
    [event] = from_sdk_transcript_frame(raw)
    assert isinstance(event, Transcript)
    result = event.results[0]
    alt = result.alternatives[0]
    first, second, third = alt.items
    assert (first.content, first.vocabulary_filter_match, first.confidence, first.stable) == (
        "Test",
        True,
        1.0,
        True,
    )
    assert (second.type, second.vocabulary_filter_match, second.confidence, second.stable) == (
        "punctuation",
        None,
        None,
        False,
    )
    assert third.attendee_id == "speaker-attendee-id1"
    assert third.external_user_id == "speaker-external-user-id1"
    assert (third.confidence, third.stable) == (0.0, None)
    return alt, result


def test_transcript_entity_vector_decodes() -> None:
    alt, _ = _entity_vector_items(_raw(vectors.TRANSCRIPT_ENTITY))
    assert alt.entities == (
        TranscriptEntity("PII", 1.0, "Content is a PII data", 1234, 12345, "Address"),
        TranscriptEntity("PII", 0.0, "Content is a PII data", 0, 0, None),
    )


def test_transcript_language_identification_vector_decodes() -> None:
    alt, result = _entity_vector_items(_raw(vectors.TRANSCRIPT_LANGUAGE_IDENTIFICATIONS))
    assert alt.entities == ()
    assert result.language_code is None
    assert result.language_identification == (
        TranscriptLanguageWithScore("en-US", 0.895),
        TranscriptLanguageWithScore("fr-CA", 0.102),
        TranscriptLanguageWithScore("ja-JP", 0.003),
    )


# -- transcript vectors: byte-for-byte under our "always write" policy -----------------------------------


def _with_always_written_fields(raw: bytes) -> bytes:
    """The vector as parley would encode it: the SDK's encoder skipped fields our encoder always writes.

    Setting a proto2 field to its default makes it present, so this adds exactly those fields and keeps
    every byte the SDK wrote (field order is by number in both encoders).
    """
    frame = pb.SdkTranscriptFrame.FromString(raw)
    for event in frame.events:
        if not event.HasField("transcript"):
            continue
        for result in event.transcript.results:
            for name in ("channel_id", "end_time", "is_partial", "result_id", "start_time"):
                setattr(result, name, getattr(result, name))
            for alt in result.alternatives:
                alt.transcript = alt.transcript
                for item in alt.items:
                    for name in (
                        "content",
                        "end_time",
                        "speaker_attendee_id",
                        "speaker_external_user_id",
                        "start_time",
                        "type",
                    ):
                        setattr(item, name, getattr(item, name))
                for entity in alt.entities:
                    for name in ("category", "confidence", "content", "end_time", "start_time"):
                        setattr(entity, name, getattr(entity, name))
    return frame.SerializeToString()


@pytest.mark.parametrize(
    "name",
    ["TRANSCRIPT_SINGLE", "TRANSCRIPT_MIXED", "TRANSCRIPT_ENTITY", "TRANSCRIPT_LANGUAGE_IDENTIFICATIONS"],
)
def test_transcript_vectors_reencode_byte_for_byte(name: str) -> None:
    raw = _raw(vectors.ALL[name])
    ours = to_sdk_transcript_frame(from_sdk_transcript_frame(raw))
    assert ours == _with_always_written_fields(raw)
    # Every byte of the SDK's encoding survives: ours only adds the always-written fields.
    assert len(ours) >= len(raw)


def test_item_bytes_match_the_sdk_exactly_when_all_fields_are_set() -> None:
    """The SDK vector's first item has every field our encoder writes, so its bytes must be identical."""
    raw = _raw(vectors.TRANSCRIPT_SINGLE)
    sdk_item = pb.SdkTranscriptFrame.FromString(raw).events[0].transcript.results[0].alternatives[0].items[0]
    [event] = from_sdk_transcript_frame(raw)
    assert isinstance(event, Transcript)
    ours = to_sdk_transcript_frame([Transcript((event.results[0],))])
    ours_frame = pb.SdkTranscriptFrame.FromString(ours)
    ours_item = ours_frame.events[0].transcript.results[0].alternatives[0].items[0]
    assert ours_item.SerializeToString() == sdk_item.SerializeToString()
    assert sdk_item.SerializeToString() in raw


# -- our own frames -------------------------------------------------------------------------------------


def test_rich_events_round_trip_through_protobuf() -> None:
    events = rich_events()
    assert from_sdk_transcript_frame(to_sdk_transcript_frame(events)) == events


def test_every_time_field_is_always_present() -> None:
    frame = pb.SdkTranscriptFrame.FromString(to_sdk_transcript_frame(rich_events()))
    seen = 0
    for event in frame.events:
        if event.HasField("status"):
            assert event.status.HasField("event_time")
            seen += 1
            continue
        assert event.HasField("transcript")  # even an empty Transcript selects the oneof
        for result in event.transcript.results:
            assert result.HasField("start_time")
            assert result.HasField("end_time")
            for alt in result.alternatives:
                for msg in [*alt.items, *alt.entities]:
                    assert msg.HasField("start_time")
                    assert msg.HasField("end_time")
                    seen += 1
    assert seen > 20


def test_empty_frame_is_empty_bytes() -> None:
    assert to_sdk_transcript_frame([]) == b""


# -- signaling envelope -----------------------------------------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, wire_type: int, payload: bytes) -> bytes:
    key = _varint(number << 3 | wire_type)
    return key + (_varint(len(payload)) + payload if wire_type == 2 else payload)


def test_signal_frame_layout_is_hand_checkable() -> None:
    events = rich_events()
    data = to_sdk_transcript_frame(events)
    ingest = 1_795_500_000_123_456_789
    frame = to_signal_data_message_frame(
        events, ingest_time_ns=ingest, sender_attendee_id="att-x", sender_external_user_id="ext-x"
    )
    payload = (
        _field(1, 2, TRANSCRIPTION_TOPIC.encode())
        + _field(2, 2, data)
        + _field(4, 2, b"att-x")
        + _field(5, 0, _varint(ingest))
        + _field(6, 2, b"ext-x")
    )
    expected = (
        bytes([0x05])
        + _field(1, 0, _varint(ingest // 1_000_000))  # timestamp_ms
        + _field(2, 0, _varint(22))  # type = DATA_MESSAGE
        + _field(23, 2, _field(1, 2, payload))  # data_message.messages[0]
    )
    assert frame == expected


def test_signal_frame_parses_back() -> None:
    events = rich_events()
    message = to_signal_data_message_frame(events, timestamp_ms=42)
    assert message[0] == FRAME_TYPE_RTC
    frame = from_signal_data_message_frame(message)
    assert frame.type == pb.SdkSignalFrame.DATA_MESSAGE
    assert frame.timestamp_ms == 42
    [payload] = frame.data_message.messages
    assert payload.topic == "aws:chime:transcription"
    assert payload.ingest_time_ns > 0
    assert not payload.HasField("lifetime_ms")
    assert from_sdk_transcript_frame(payload.data) == events


def test_signal_frame_refuses_a_throttled_looking_ingest_time() -> None:
    with pytest.raises(ValueError, match="ingest_time_ns"):
        to_signal_data_message_frame([], ingest_time_ns=0)
