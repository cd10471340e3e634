"""The cluster's bus messages (live/messages.py): every kind survives JSON unchanged; unknown or malformed ones
are refused with UnknownMessage (a reader skips them) rather than crashing a meeting's hub."""

from __future__ import annotations

import json

import pytest

from parley.live import messages as m
from parley.store import TranscriptionState
from parley.transcripts.events import Transcript, TranscriptionStatus

STATE = TranscriptionState(
    meeting_id="m-1",
    status="started",
    configuration={"EngineTranscribeSettings": {"LanguageCode": "en-US"}},
    region="us-east-1",
    started_at=1.5,
    updated_at=2.5,
    extra={"pii": None},
)
STATUS = TranscriptionStatus(
    type="stopped", event_time_ms=1, transcription_region="us-east-1", transcription_configuration="{}"
)

EXAMPLES: list[m.Message] = [
    m.Events((STATUS, Transcript(results=()))),
    m.Events((STATUS,), origin="node-a"),
    m.TranscriptionChanged("req-1", STATE),
    m.Ack("req-1", "node-a"),
    m.EngineStatus("interrupted"),
    m.Ended(("node-a", "node-b"), (STATUS,)),
    m.Ended(()),
    m.Closed("node-b"),
    m.AttendeeRemoved("att-1"),
    m.Barrier("conn-1"),
    m.CapabilitiesChanged(),
    m.Replaced("att-1", "conn-2"),
]


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda x: type(x).__name__)
def test_every_message_survives_json(message: m.Message) -> None:
    wire = json.loads(json.dumps(m.encode(message)))
    assert m.decode(wire) == message


@pytest.mark.parametrize(
    "wire",
    [
        {},
        {"kind": "nonsense"},
        {"kind": "ack", "request": "r"},
        {"kind": "replaced", "attendee_id": "a", "x": 1},
    ],
)
def test_unknown_or_malformed_messages_are_refused(wire: dict) -> None:
    with pytest.raises(m.UnknownMessage):
        m.decode(wire)
