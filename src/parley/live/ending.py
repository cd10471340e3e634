"""How a meeting's end travels on the bus, so that what was said before the end is not lost.

DeleteMeeting (or auto-end) publishes ``ended`` with the nodes that held the meeting's connections and the
``stopped`` status to announce (if it was transcribing). Each of those nodes finishes its recognizers (their
finals are published and stored as usual), then publishes ``closed``. A listener (a hub's sessions, a backend
subscription) closes once every node has said ``closed``, or after a grace for a node that never does: it
then sees the finals of speech in flight, then ``stopped``, then the 4410 close.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from parley.live.messages import Closed, Ended
from parley.transcripts.events import TranscriptEvent


@dataclass
class Ending:
    """A listener's view of an ``ended`` meeting: the nodes still finishing, and what to say at the close."""

    pending: set[str]
    stopped: list[TranscriptEvent] = field(default_factory=list)

    @classmethod
    def from_message(cls, message: Ended) -> Ending:
        return cls(pending=set(message.nodes), stopped=list(message.stopped))

    @property
    def done(self) -> bool:
        return not self.pending

    def closed(self, message: Closed) -> bool:
        """Note a node's ``closed``; True once no node is left."""
        self.pending.discard(message.node)
        return self.done
