"""The transcript event model, mirroring the Chime JS SDK's ``TranscriptEvent`` types field for field.

One model feeds every encoding (protobuf for SDK clients, JSON frames, storage, exports), so its fields
follow the JS SDK (snake_case of its names) and every time is epoch milliseconds, as Chime delivers them.
Optional fields use ``None`` for "absent on the wire": the JS converter distinguishes present from absent
for ``confidence``/``stable``, so the model must too.

``to_dict``/``from_dict`` are the storage form: plain JSON-compatible dicts that round-trip exactly
(``None`` kept as ``null``), with a ``kind`` tag on events because ``TranscriptionStatus`` already owns
``type``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, get_args

ItemType: TypeAlias = Literal["pronunciation", "punctuation"]
StatusType: TypeAlias = Literal["started", "interrupted", "resumed", "stopped", "failed"]

ITEM_TYPES: tuple[ItemType, ...] = get_args(ItemType)
STATUS_TYPES: tuple[StatusType, ...] = get_args(StatusType)

JsonDict: TypeAlias = dict[str, Any]


def _check_ms(owner: str, **times: int) -> None:
    # bool is an int subclass; a stray True would encode as 1 ms and silently corrupt cue times.
    for name, value in times.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{owner}.{name} must be int epoch milliseconds, got {value!r}")


def _freeze(obj: object, name: str, value: Iterable[Any]) -> None:
    # Accept lists from callers but store tuples, so frozen instances stay hashable and immutable.
    object.__setattr__(obj, name, tuple(value))


@dataclass(frozen=True, slots=True)
class TranscriptItem:
    """One word or punctuation mark (JS ``TranscriptItem``; ``attendee`` flattened to two fields)."""

    type: ItemType
    start_time_ms: int
    end_time_ms: int
    attendee_id: str
    external_user_id: str
    content: str
    vocabulary_filter_match: bool | None = None
    confidence: float | None = None
    stable: bool | None = None

    def __post_init__(self) -> None:
        if self.type not in ITEM_TYPES:
            raise ValueError(f"TranscriptItem.type must be one of {ITEM_TYPES}, got {self.type!r}")
        _check_ms("TranscriptItem", start_time_ms=self.start_time_ms, end_time_ms=self.end_time_ms)

    def to_dict(self) -> JsonDict:
        return {
            "type": self.type,
            "start_time_ms": self.start_time_ms,
            "end_time_ms": self.end_time_ms,
            "attendee_id": self.attendee_id,
            "external_user_id": self.external_user_id,
            "content": self.content,
            "vocabulary_filter_match": self.vocabulary_filter_match,
            "confidence": self.confidence,
            "stable": self.stable,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TranscriptItem:
        return cls(
            type=data["type"],
            start_time_ms=data["start_time_ms"],
            end_time_ms=data["end_time_ms"],
            attendee_id=data["attendee_id"],
            external_user_id=data["external_user_id"],
            content=data["content"],
            vocabulary_filter_match=data.get("vocabulary_filter_match"),
            confidence=data.get("confidence"),
            stable=data.get("stable"),
        )


@dataclass(frozen=True, slots=True)
class TranscriptEntity:
    """A PII/PHI span found by content identification or redaction (JS ``TranscriptEntity``)."""

    category: str
    confidence: float
    content: str
    start_time_ms: int
    end_time_ms: int
    type: str | None = None

    def __post_init__(self) -> None:
        _check_ms("TranscriptEntity", start_time_ms=self.start_time_ms, end_time_ms=self.end_time_ms)

    def to_dict(self) -> JsonDict:
        return {
            "category": self.category,
            "confidence": self.confidence,
            "content": self.content,
            "start_time_ms": self.start_time_ms,
            "end_time_ms": self.end_time_ms,
            "type": self.type,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TranscriptEntity:
        return cls(
            category=data["category"],
            confidence=data["confidence"],
            content=data["content"],
            start_time_ms=data["start_time_ms"],
            end_time_ms=data["end_time_ms"],
            type=data.get("type"),
        )


@dataclass(frozen=True, slots=True)
class TranscriptAlternative:
    """One hypothesis for a result; the first alternative of a result is the best one."""

    items: tuple[TranscriptItem, ...]
    transcript: str
    entities: tuple[TranscriptEntity, ...] = ()

    def __post_init__(self) -> None:
        _freeze(self, "items", self.items)
        _freeze(self, "entities", self.entities)

    def to_dict(self) -> JsonDict:
        return {
            "items": [item.to_dict() for item in self.items],
            "transcript": self.transcript,
            "entities": [entity.to_dict() for entity in self.entities],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TranscriptAlternative:
        return cls(
            items=tuple(TranscriptItem.from_dict(i) for i in data["items"]),
            transcript=data["transcript"],
            entities=tuple(TranscriptEntity.from_dict(e) for e in data.get("entities", ())),
        )


@dataclass(frozen=True, slots=True)
class TranscriptLanguageWithScore:
    """A language-identification candidate and its confidence score (0–1)."""

    language_code: str
    score: float

    def to_dict(self) -> JsonDict:
        return {"language_code": self.language_code, "score": self.score}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TranscriptLanguageWithScore:
        return cls(language_code=data["language_code"], score=data["score"])


@dataclass(frozen=True, slots=True)
class TranscriptResult:
    """A speech segment; partial results are re-sent under the same ``result_id`` until final."""

    result_id: str
    channel_id: str
    is_partial: bool
    start_time_ms: int
    end_time_ms: int
    alternatives: tuple[TranscriptAlternative, ...]
    language_code: str | None = None
    language_identification: tuple[TranscriptLanguageWithScore, ...] = ()

    def __post_init__(self) -> None:
        _check_ms("TranscriptResult", start_time_ms=self.start_time_ms, end_time_ms=self.end_time_ms)
        _freeze(self, "alternatives", self.alternatives)
        _freeze(self, "language_identification", self.language_identification)

    def to_dict(self) -> JsonDict:
        return {
            "result_id": self.result_id,
            "channel_id": self.channel_id,
            "is_partial": self.is_partial,
            "start_time_ms": self.start_time_ms,
            "end_time_ms": self.end_time_ms,
            "alternatives": [alt.to_dict() for alt in self.alternatives],
            "language_code": self.language_code,
            "language_identification": [lang.to_dict() for lang in self.language_identification],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TranscriptResult:
        return cls(
            result_id=data["result_id"],
            channel_id=data["channel_id"],
            is_partial=data["is_partial"],
            start_time_ms=data["start_time_ms"],
            end_time_ms=data["end_time_ms"],
            alternatives=tuple(TranscriptAlternative.from_dict(a) for a in data["alternatives"]),
            language_code=data.get("language_code"),
            language_identification=tuple(
                TranscriptLanguageWithScore.from_dict(lang)
                for lang in data.get("language_identification", ())
            ),
        )


@dataclass(frozen=True, slots=True)
class Transcript:
    """A transcript event: one or more (partial or final) results."""

    results: tuple[TranscriptResult, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        _freeze(self, "results", self.results)

    def to_dict(self) -> JsonDict:
        return {"kind": "transcript", "results": [r.to_dict() for r in self.results]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Transcript:
        return cls(results=tuple(TranscriptResult.from_dict(r) for r in data["results"]))


@dataclass(frozen=True, slots=True)
class TranscriptionStatus:
    """A lifecycle event; ``transcription_configuration`` is the request's config as a JSON *string*."""

    type: StatusType
    event_time_ms: int
    transcription_region: str
    transcription_configuration: str
    message: str | None = None

    def __post_init__(self) -> None:
        if self.type not in STATUS_TYPES:
            raise ValueError(f"TranscriptionStatus.type must be one of {STATUS_TYPES}, got {self.type!r}")
        _check_ms("TranscriptionStatus", event_time_ms=self.event_time_ms)

    def to_dict(self) -> JsonDict:
        return {
            "kind": "status",
            "type": self.type,
            "event_time_ms": self.event_time_ms,
            "transcription_region": self.transcription_region,
            "transcription_configuration": self.transcription_configuration,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TranscriptionStatus:
        return cls(
            type=data["type"],
            event_time_ms=data["event_time_ms"],
            transcription_region=data["transcription_region"],
            transcription_configuration=data["transcription_configuration"],
            message=data.get("message"),
        )


TranscriptEvent: TypeAlias = Transcript | TranscriptionStatus


def event_to_dict(event: TranscriptEvent) -> JsonDict:
    """Storage form of any event (tagged with ``kind``)."""
    return event.to_dict()


def event_from_dict(data: Mapping[str, Any]) -> TranscriptEvent:
    """Inverse of :func:`event_to_dict`, dispatching on ``kind``."""
    kind = data.get("kind")
    if kind == "transcript":
        return Transcript.from_dict(data)
    if kind == "status":
        return TranscriptionStatus.from_dict(data)
    raise ValueError(f"unknown transcript event kind {kind!r}")
