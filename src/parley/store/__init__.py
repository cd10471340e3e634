"""Durable storage of meetings, attendees, tags and transcription state (SQLAlchemy 2, async)."""

from parley.store.records import (
    Attendee,
    Meeting,
    TranscriptionState,
    TranscriptRecord,
    VocabularyRecord,
)
from parley.store.sql import Store, normalize_database_url

__all__ = [
    "Attendee",
    "Meeting",
    "Store",
    "TranscriptRecord",
    "TranscriptionState",
    "VocabularyRecord",
    "normalize_database_url",
]
