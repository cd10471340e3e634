"""Per-attendee streaming recognition: VAD → decode scheduling → LocalAgreement commits → results."""

from parley.streaming.attendee_stream import AttendeeStream, StreamPolicy
from parley.streaming.results import Item, RecognitionResult, StreamConfig

__all__ = ["AttendeeStream", "Item", "RecognitionResult", "StreamConfig", "StreamPolicy"]
