"""How a meeting's end travels on the bus, so that what was said before the end is not lost.

DeleteMeeting (or auto-end) publishes ``ended`` with the nodes that held the meeting's connections and the
``stopped`` status to announce (if it was transcribing). Each of those nodes finishes its recognizers (their
finals are published and stored as usual), then publishes ``closed``. A listener (a hub's sessions, a backend
subscription) closes once every node has said ``closed``, or after a grace for a node that never does: it
then sees the finals of speech in flight, then ``stopped``, then the 4410 close.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parley.transcripts.events import TranscriptEvent, event_from_dict, event_to_dict


def ended_message(nodes: frozenset[str], stopped: list[TranscriptEvent]) -> dict[str, Any]:
    return {"kind": "ended", "nodes": sorted(nodes), "stopped": [event_to_dict(e) for e in stopped]}


def closed_message(node_id: str) -> dict[str, Any]:
    return {"kind": "closed", "node": node_id}


@dataclass
class Ending:
    """A listener's view of an ``ended`` meeting: the nodes still finishing, and what to say at the close."""

    pending: set[str]
    stopped: list[TranscriptEvent] = field(default_factory=list)

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Ending:
        return cls(
            pending=set(message.get("nodes") or ()),
            stopped=[event_from_dict(e) for e in message.get("stopped") or ()],
        )

    @property
    def done(self) -> bool:
        return not self.pending

    def closed(self, message: dict[str, Any]) -> bool:
        """Note a node's ``closed``; True once no node is left."""
        self.pending.discard(str(message.get("node")))
        return self.done
