"""The two wire encodings of transcript events: JS-SDK-shaped JSON text and Chime's protobuf frames.

* Protobuf (:func:`to_sdk_transcript_frame`, :func:`to_signal_data_message_frame`) is what
  ``amazon-chime-sdk-js`` decodes from a data message on topic ``aws:chime:transcription``. Every int64
  time is always written: protobufjs hands an *absent* int64 to the app as a ``Long`` object, not a number.
* JSON (:func:`to_json`) is exactly what ``TranscriptEventConverter.from()`` would hand a JS app for the
  same protobuf frame, quirks included (e.g. ``vocabularyFilterMatch`` only when true), wrapped in a tagged
  envelope (see docs/protocol.md, "Transcript events"). ``tests/transcripts/test_js_decoder.py`` proves the
  two agree by running the real SDK converter on our protobuf bytes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from parley.proto import chime_signaling_pb2 as pb
from parley.proto.envelope import FRAME_TYPE_RTC, unwrap, wrap
from parley.transcripts.events import (
    ItemType,
    JsonDict,
    StatusType,
    Transcript,
    TranscriptAlternative,
    TranscriptEntity,
    TranscriptEvent,
    TranscriptionStatus,
    TranscriptItem,
    TranscriptLanguageWithScore,
    TranscriptResult,
)

TRANSCRIPTION_TOPIC = "aws:chime:transcription"

_STATUS_TO_PB: dict[StatusType, int] = {
    "started": pb.SdkTranscriptionStatus.STARTED,
    "interrupted": pb.SdkTranscriptionStatus.INTERRUPTED,
    "resumed": pb.SdkTranscriptionStatus.RESUMED,
    "stopped": pb.SdkTranscriptionStatus.STOPPED,
    "failed": pb.SdkTranscriptionStatus.FAILED,
}
_STATUS_FROM_PB: dict[int, StatusType] = {v: k for k, v in _STATUS_TO_PB.items()}
_ITEM_TO_PB: dict[ItemType, int] = {
    "pronunciation": pb.SdkTranscriptItem.PRONUNCIATION,
    "punctuation": pb.SdkTranscriptItem.PUNCTUATION,
}
_ITEM_FROM_PB: dict[int, ItemType] = {v: k for k, v in _ITEM_TO_PB.items()}


# ---------------------------------------------------------------------------------------------------
# JSON: the JS SDK model (TranscriptEventConverter.from output)


def item_to_sdk_dict(item: TranscriptItem) -> JsonDict:
    out: JsonDict = {
        "type": item.type,
        "startTimeMs": item.start_time_ms,
        "endTimeMs": item.end_time_ms,
        "attendee": {"attendeeId": item.attendee_id, "externalUserId": item.external_user_id},
        "content": item.content,
    }
    if item.vocabulary_filter_match:  # the converter copies it only when truthy
        out["vocabularyFilterMatch"] = True
    if item.confidence is not None:  # copied whenever present on the wire (hasOwnProperty)
        out["confidence"] = item.confidence
    if item.stable is not None:
        out["stable"] = item.stable
    return out


def entity_to_sdk_dict(entity: TranscriptEntity) -> JsonDict:
    out: JsonDict = {
        "category": entity.category,
        "confidence": entity.confidence,
        "content": entity.content,
        "startTimeMs": entity.start_time_ms,
        "endTimeMs": entity.end_time_ms,
    }
    if entity.type:  # dropped when empty
        out["type"] = entity.type
    return out


def alternative_to_sdk_dict(alternative: TranscriptAlternative) -> JsonDict:
    out: JsonDict = {
        "items": [item_to_sdk_dict(i) for i in alternative.items],
        "transcript": alternative.transcript,
    }
    if alternative.entities:  # the key exists only once there is an entity
        out["entities"] = [entity_to_sdk_dict(e) for e in alternative.entities]
    return out


def result_to_sdk_dict(result: TranscriptResult) -> JsonDict:
    """One result in the JS SDK (and media-capture artifact) camelCase shape."""
    out: JsonDict = {
        "resultId": result.result_id,
        "channelId": result.channel_id,
        "isPartial": result.is_partial,
        "startTimeMs": result.start_time_ms,
        "endTimeMs": result.end_time_ms,
        "alternatives": [alternative_to_sdk_dict(a) for a in result.alternatives],
    }
    if result.language_code:
        out["languageCode"] = result.language_code
    if result.language_identification:
        out["languageIdentification"] = [
            {"languageCode": lang.language_code, "score": lang.score}
            for lang in result.language_identification
        ]
    return out


def status_to_sdk_dict(status: TranscriptionStatus) -> JsonDict:
    out: JsonDict = {
        "type": status.type,
        "eventTimeMs": status.event_time_ms,
        "transcriptionRegion": status.transcription_region,
        "transcriptionConfiguration": status.transcription_configuration,
    }
    if status.message:  # dropped when empty
        out["message"] = status.message
    return out


def event_to_sdk_dict(event: TranscriptEvent) -> JsonDict:
    """One event, tagged: ``{"type":"transcript","transcript":{...}}`` or ``{"type":"status",...}``.

    The JS app tells the two apart with ``instanceof``; JSON needs an explicit tag instead.
    """
    if isinstance(event, Transcript):
        results = [result_to_sdk_dict(r) for r in event.results]
        return {"type": "transcript", "transcript": {"results": results}}
    return {"type": "status", "status": status_to_sdk_dict(event)}


def to_json(events: Iterable[TranscriptEvent]) -> str:
    """One JSON text frame ``{"events":[...]}`` carrying the same events as one protobuf frame."""
    body = {"events": [event_to_sdk_dict(e) for e in events]}
    # allow_nan=False: a NaN confidence must fail here, not in a client's JSON.parse.
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# ---------------------------------------------------------------------------------------------------
# Protobuf: SdkTranscriptFrame, and the signaling frame that carries it


def _fill_item(msg: Any, item: TranscriptItem) -> None:
    msg.content = item.content
    msg.end_time = item.end_time_ms
    msg.speaker_attendee_id = item.attendee_id
    msg.speaker_external_user_id = item.external_user_id
    msg.start_time = item.start_time_ms
    msg.type = _ITEM_TO_PB[item.type]
    if item.vocabulary_filter_match is not None:
        msg.vocabulary_filter_match = item.vocabulary_filter_match
    if item.confidence is not None:
        msg.confidence = item.confidence
    if item.stable is not None:
        msg.stable = item.stable


def _fill_entity(msg: Any, entity: TranscriptEntity) -> None:
    msg.category = entity.category
    msg.confidence = entity.confidence
    msg.content = entity.content
    msg.end_time = entity.end_time_ms
    msg.start_time = entity.start_time_ms
    if entity.type is not None:
        msg.type = entity.type


def _fill_result(msg: Any, result: TranscriptResult) -> None:
    for alternative in result.alternatives:
        alt = msg.alternatives.add()
        for item in alternative.items:
            _fill_item(alt.items.add(), item)
        alt.transcript = alternative.transcript
        for entity in alternative.entities:
            _fill_entity(alt.entities.add(), entity)
    msg.channel_id = result.channel_id
    msg.end_time = result.end_time_ms
    msg.is_partial = result.is_partial
    msg.result_id = result.result_id
    msg.start_time = result.start_time_ms
    if result.language_code is not None:
        msg.language_code = result.language_code
    for lang in result.language_identification:
        msg.language_identification.add(language_code=lang.language_code, score=lang.score)


def _fill_status(msg: Any, status: TranscriptionStatus) -> None:
    msg.type = _STATUS_TO_PB[status.type]
    msg.event_time = status.event_time_ms
    msg.transcription_region = status.transcription_region
    msg.transcription_configuration = status.transcription_configuration
    if status.message is not None:
        msg.message = status.message


def to_sdk_transcript_frame_message(events: Iterable[TranscriptEvent]) -> pb.SdkTranscriptFrame:
    """The ``SdkTranscriptFrame`` message itself, for callers that nest it further."""
    frame = pb.SdkTranscriptFrame()
    for event in events:
        sdk_event = frame.events.add()
        if isinstance(event, Transcript):
            sdk_event.transcript.SetInParent()  # an empty Transcript must still select the oneof
            for result in event.results:
                _fill_result(sdk_event.transcript.results.add(), result)
        else:
            _fill_status(sdk_event.status, event)
    return frame


def to_sdk_transcript_frame(events: Iterable[TranscriptEvent]) -> bytes:
    """Serialized ``SdkTranscriptFrame``: the ``data`` of an ``aws:chime:transcription`` data message."""
    return to_sdk_transcript_frame_message(events).SerializeToString()


def to_signal_data_message_frame(
    events: Iterable[TranscriptEvent],
    *,
    ingest_time_ns: int | None = None,
    timestamp_ms: int | None = None,
    sender_attendee_id: str = "",
    sender_external_user_id: str = "",
) -> bytes:
    """A complete signaling websocket message: ``0x05 || SdkSignalFrame{DATA_MESSAGE}`` with one payload.

    ``ingest_time_ns`` must be non-zero: the SDK flags a data message with ``ingest_time_ns == 0`` as
    throttled, and uses ``ingest_time_ns / 1e6`` as its timestamp. Defaults to now.
    """
    ingest = time.time_ns() if ingest_time_ns is None else ingest_time_ns
    if ingest <= 0:
        raise ValueError("ingest_time_ns must be positive (0 means 'throttled' to the JS SDK)")
    frame = pb.SdkSignalFrame(
        timestamp_ms=ingest // 1_000_000 if timestamp_ms is None else timestamp_ms,
        type=pb.SdkSignalFrame.DATA_MESSAGE,
    )
    frame.data_message.messages.add(
        topic=TRANSCRIPTION_TOPIC,
        data=to_sdk_transcript_frame(events),
        sender_attendee_id=sender_attendee_id,
        ingest_time_ns=ingest,
        sender_external_user_id=sender_external_user_id,
    )
    return wrap(frame)


# ---------------------------------------------------------------------------------------------------
# Decoding (inspection, tests, relays): the inverse of the encoder, with the converter's leniency


def _optional(msg: Any, name: str) -> Any:
    # proto2 presence is what the JS converter keys on, so absent stays None rather than a default.
    return getattr(msg, name) if msg.HasField(name) else None


def _item_from_pb(msg: Any) -> TranscriptItem:
    return TranscriptItem(
        type=_ITEM_FROM_PB.get(msg.type, "pronunciation"),
        start_time_ms=msg.start_time,
        end_time_ms=msg.end_time,
        attendee_id=msg.speaker_attendee_id,
        external_user_id=msg.speaker_external_user_id,
        content=msg.content,
        vocabulary_filter_match=_optional(msg, "vocabulary_filter_match"),
        confidence=_optional(msg, "confidence"),
        stable=_optional(msg, "stable"),
    )


def _entity_from_pb(msg: Any) -> TranscriptEntity:
    return TranscriptEntity(
        category=msg.category,
        confidence=msg.confidence,
        content=msg.content,
        start_time_ms=msg.start_time,
        end_time_ms=msg.end_time,
        type=_optional(msg, "type"),
    )


def _result_from_pb(msg: Any) -> TranscriptResult:
    return TranscriptResult(
        result_id=msg.result_id,
        channel_id=msg.channel_id,
        is_partial=msg.is_partial,
        start_time_ms=msg.start_time,
        end_time_ms=msg.end_time,
        alternatives=tuple(
            TranscriptAlternative(
                items=tuple(_item_from_pb(i) for i in alt.items),
                transcript=alt.transcript,
                entities=tuple(_entity_from_pb(e) for e in alt.entities),
            )
            for alt in msg.alternatives
        ),
        language_code=_optional(msg, "language_code"),
        language_identification=tuple(
            TranscriptLanguageWithScore(language_code=lang.language_code, score=lang.score)
            for lang in msg.language_identification
        ),
    )


def from_sdk_transcript_frame(data: bytes) -> list[TranscriptEvent]:
    """Decode an ``SdkTranscriptFrame``; like the JS converter, status events of unknown type are skipped.

    Absent times decode as 0 and an absent or unknown item type as ``pronunciation`` (the JS model
    would have ``type: null``; our model has no such value).
    """
    frame = pb.SdkTranscriptFrame.FromString(data)
    events: list[TranscriptEvent] = []
    for sdk_event in frame.events:
        which = sdk_event.WhichOneof("Event")
        if which == "status":
            st = sdk_event.status
            # proto2 reads an absent or unknown enum as its first value (STARTED); presence is the truth.
            status_type = _STATUS_FROM_PB.get(st.type) if st.HasField("type") else None
            if status_type is None:
                continue
            events.append(
                TranscriptionStatus(
                    type=status_type,
                    event_time_ms=st.event_time,
                    transcription_region=st.transcription_region,
                    transcription_configuration=st.transcription_configuration,
                    message=_optional(st, "message"),
                )
            )
        elif which == "transcript":
            events.append(Transcript(results=tuple(_result_from_pb(r) for r in sdk_event.transcript.results)))
    return events


def from_signal_data_message_frame(message: bytes) -> pb.SdkSignalFrame:
    """Parse a signaling websocket message (type byte stripped, as the SDK does, whatever its value)."""
    return pb.SdkSignalFrame.FromString(unwrap(message))


__all__ = [
    "FRAME_TYPE_RTC",
    "TRANSCRIPTION_TOPIC",
    "alternative_to_sdk_dict",
    "entity_to_sdk_dict",
    "event_to_sdk_dict",
    "from_sdk_transcript_frame",
    "from_signal_data_message_frame",
    "item_to_sdk_dict",
    "result_to_sdk_dict",
    "status_to_sdk_dict",
    "to_json",
    "to_sdk_transcript_frame",
    "to_sdk_transcript_frame_message",
    "to_signal_data_message_frame",
]
