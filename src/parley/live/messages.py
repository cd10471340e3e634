"""What the nodes of a cluster say to each other about a meeting, on its bus channel: one dataclass per message,
and the one place they become JSON and back.

Every publisher builds one of these and every reader (a node's meeting hub, a backend subscription) gets one
back from ``decode``, so a message's fields are written down once and a reader matches on types, not on strings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, TypeAlias

from parley.store import TranscriptionState
from parley.transcripts.events import TranscriptEvent, event_from_dict, event_to_dict


@dataclass(frozen=True, slots=True)
class Events:
    """Transcript results and statuses for every participant. ``origin``: set on finals a node held back during
    a bus outage and publishes late; that node delivered them itself at the time (LiveRuntime.publish_events)."""

    events: tuple[TranscriptEvent, ...]
    origin: str | None = None


@dataclass(frozen=True, slots=True)
class TranscriptionChanged:
    """Start/Stop/Update took effect: every node with connections applies ``state`` and answers ``Ack``."""

    request: str
    state: TranscriptionState


@dataclass(frozen=True, slots=True)
class Ack:
    request: str
    node: str


@dataclass(frozen=True, slots=True)
class EngineStatus:
    """The speech engine on some node is falling behind (``interrupted``) or caught up (``resumed``)."""

    status: str


@dataclass(frozen=True, slots=True)
class Ended:
    """The meeting was deleted: ``nodes`` finish the speech in flight, then say ``Closed`` (live/ending.py);
    ``stopped`` is the status to announce then, if it was transcribing."""

    nodes: tuple[str, ...]
    stopped: tuple[TranscriptEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class Closed:
    node: str


@dataclass(frozen=True, slots=True)
class AttendeeRemoved:
    attendee_id: str


@dataclass(frozen=True, slots=True)
class Barrier:
    """Everything this connection's node published before it has been delivered: close the connection now."""

    connection_id: str


@dataclass(frozen=True, slots=True)
class CapabilitiesChanged:
    pass


@dataclass(frozen=True, slots=True)
class Replaced:
    """The attendee connected again (``connection_id``); any other connection of theirs closes."""

    attendee_id: str
    connection_id: str


Message: TypeAlias = (
    Events
    | TranscriptionChanged
    | Ack
    | EngineStatus
    | Ended
    | Closed
    | AttendeeRemoved
    | Barrier
    | CapabilitiesChanged
    | Replaced
)

_KINDS: dict[type, str] = {
    Events: "events",
    TranscriptionChanged: "transcription",
    Ack: "ack",
    EngineStatus: "engine",
    Ended: "ended",
    Closed: "closed",
    AttendeeRemoved: "attendee_removed",
    Barrier: "barrier",
    CapabilitiesChanged: "capabilities",
    Replaced: "replaced",
}
_TYPES = {kind: cls for cls, kind in _KINDS.items()}


class UnknownMessage(ValueError):
    """A message this node cannot read (another version of parley, or not parley's)."""


def encode(message: Message) -> dict[str, Any]:
    kind = _KINDS[type(message)]
    if isinstance(message, Events):
        out: dict[str, Any] = {"events": [event_to_dict(e) for e in message.events]}
        if message.origin is not None:
            out["origin"] = message.origin
    elif isinstance(message, TranscriptionChanged):
        out = {"request": message.request, "state": asdict(message.state)}
    elif isinstance(message, Ended):
        out = {"nodes": sorted(message.nodes), "stopped": [event_to_dict(e) for e in message.stopped]}
    else:
        out = asdict(message)
    return {"kind": kind, **out}


def decode(data: dict[str, Any]) -> Message:
    cls = _TYPES.get(str(data.get("kind")))
    if cls is None:
        raise UnknownMessage(f"unknown message kind {data.get('kind')!r}")
    body = {k: v for k, v in data.items() if k != "kind"}
    try:
        if cls is Events:
            return Events(tuple(event_from_dict(e) for e in body["events"]), body.get("origin"))
        if cls is TranscriptionChanged:
            return TranscriptionChanged(body["request"], TranscriptionState(**body["state"]))
        if cls is Ended:
            stopped = tuple(event_from_dict(e) for e in body.get("stopped") or ())
            return Ended(tuple(body.get("nodes") or ()), stopped)
        return cls(**body)  # type: ignore[no-any-return]
    except (KeyError, TypeError) as exc:
        raise UnknownMessage(f"malformed {data.get('kind')!r} message: {exc}") from None
