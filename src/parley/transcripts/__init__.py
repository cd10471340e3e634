"""Live transcription output: the event model, its wire encodings (``wire``) and exports (``export``)."""

from parley.transcripts.events import (
    Transcript,
    TranscriptAlternative,
    TranscriptEntity,
    TranscriptEvent,
    TranscriptionStatus,
    TranscriptItem,
    TranscriptLanguageWithScore,
    TranscriptResult,
    event_from_dict,
    event_to_dict,
)

__all__ = [
    "Transcript",
    "TranscriptAlternative",
    "TranscriptEntity",
    "TranscriptEvent",
    "TranscriptItem",
    "TranscriptLanguageWithScore",
    "TranscriptResult",
    "TranscriptionStatus",
    "event_from_dict",
    "event_to_dict",
]
