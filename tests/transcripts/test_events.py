"""The event model: storage round-trip, immutability and validation."""

from __future__ import annotations

import json

import pytest

from parley.transcripts.events import (
    Transcript,
    TranscriptAlternative,
    TranscriptionStatus,
    TranscriptItem,
    TranscriptResult,
    event_from_dict,
    event_to_dict,
)

from .samples import T0, final_result, rich_events, word


@pytest.mark.parametrize("event", rich_events(), ids=lambda e: type(e).__name__)
def test_storage_round_trip_is_exact(event: Transcript | TranscriptionStatus) -> None:
    stored = json.loads(json.dumps(event_to_dict(event)))
    back = event_from_dict(stored)
    assert back == event
    assert type(back) is type(event)
    assert event_to_dict(back) == event_to_dict(event)


def test_storage_keeps_absent_apart_from_false() -> None:
    d = word("x", 0, 1, vfm=False).to_dict()
    assert d["vocabulary_filter_match"] is False
    assert d["confidence"] is None
    assert d["stable"] is None
    assert TranscriptItem.from_dict(d).vocabulary_filter_match is False


def test_storage_dict_shape() -> None:
    d = event_to_dict(TranscriptionStatus("stopped", T0, "us-east-1", "{}"))
    assert d == {
        "kind": "status",
        "type": "stopped",
        "event_time_ms": T0,
        "transcription_region": "us-east-1",
        "transcription_configuration": "{}",
        "message": None,
    }
    t = event_to_dict(Transcript((final_result(),)))
    assert t["kind"] == "transcript"
    assert t["results"][0]["alternatives"][0]["items"][0]["attendee_id"] == "att-1"


def test_lists_are_frozen_to_tuples_and_hashable() -> None:
    alt = TranscriptAlternative(items=[word("a", 0, 1)], transcript="a")  # type: ignore[arg-type]
    result = TranscriptResult("r", "ch_0", False, T0, T0 + 1, [alt])  # type: ignore[arg-type]
    assert isinstance(alt.items, tuple)
    assert isinstance(result.alternatives, tuple)
    assert hash(Transcript([result])) == hash(Transcript((result,)))  # type: ignore[arg-type]


def test_unknown_kind_rejected() -> None:
    with pytest.raises(ValueError, match="kind"):
        event_from_dict({"kind": "nope"})


def test_validation() -> None:
    with pytest.raises(ValueError, match="type"):
        TranscriptionStatus("paused", T0, "r", "{}")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="type"):
        TranscriptItem("word", T0, T0, "a", "b", "c")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="epoch milliseconds"):
        TranscriptItem("pronunciation", 1.5, T0, "a", "b", "c")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="epoch milliseconds"):
        TranscriptionStatus("started", True, "r", "{}")
