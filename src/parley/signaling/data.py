"""Per-meeting state of Chime SDK data messages: the limits and the lifetime buffer.

Reference chime-signaling.md §10: the SDK only sends topics matching ``^[a-zA-Z0-9_-]{1,36}$`` with at
most 2048 bytes of data. Messages with ``lifetime_ms > 0`` are kept (at most 1024, at most 5 min) and
replayed to attendees who join late or reconnect. Over the soft limit (100 msg/s, burst 200, per meeting)
a message goes back to its sender only, with ``ingest_time_ns = 0`` (the SDK's "throttled"). Over a hard
limit (200 msg/s, burst 2000 per attendee; 500 msg/s, burst 10000 per meeting) the server may hang up.
What parley does at each step is decision D28 (docs/decisions.md).
"""

from __future__ import annotations

import enum
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any

SOFT_RATE = 100.0  # messages per second, per meeting
SOFT_BURST = 200
HARD_ATTENDEE_RATE = 200.0  # messages per second, per attendee (every message it sends counts)
HARD_ATTENDEE_BURST = 2000
HARD_MEETING_RATE = 500.0  # messages per second, per meeting
HARD_MEETING_BURST = 10_000
MAX_DATA_BYTES = 2048
TOPIC = re.compile(r"[a-zA-Z0-9_-]{1,36}")  # the SDK's own check, applied with fullmatch
SERVER_TOPIC_PREFIX = "aws:"  # reserved for the server (transcription)
BUFFER_MAX_MESSAGES = 1024
BUFFER_MAX_LIFETIME_S = 300.0


class Verdict(enum.Enum):
    """What becomes of one client data message."""

    RELAY = "relay"  # to the other attendees, stamped with an ingest time; kept if it has a lifetime
    THROTTLED = "throttled"  # over the soft limit: back to the sender alone, ingest_time_ns = 0
    REJECTED = "rejected"  # breaks the SDK's topic or size rule: back to the sender alone, ingest_time_ns = 0
    DROPPED = "dropped"  # a reserved ``aws:`` topic: nobody gets it
    HANG_UP = "hang_up"  # over a hard limit: the sender's socket is closed (4529) and the SDK reconnects


class TokenBucket:
    """``burst`` tokens, refilled at ``rate`` per second; each message takes one."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class MeetingData:
    """One meeting's data-message state; it outlives the signaling connections while messages are kept,
    and an attendee's hard-limit bucket outlives its connection (a reconnect does not refill it)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.soft = TokenBucket(SOFT_RATE, SOFT_BURST, clock)
        self.hard = TokenBucket(HARD_MEETING_RATE, HARD_MEETING_BURST, clock)
        self._attendee_hard: dict[str, TokenBucket] = {}
        self._buffer: deque[tuple[float, dict[str, Any]]] = deque(maxlen=BUFFER_MAX_MESSAGES)
        self._last_ingest_ns = 0

    def admit(self, attendee_id: str, topic: str, size: int) -> Verdict:
        """Judge one message of ``size`` data bytes from ``attendee_id``.

        Every message counts against the hard limits, whatever becomes of it; only relayed messages take
        from the soft limit.
        """
        bucket = self._attendee_hard.get(attendee_id)
        if bucket is None:
            bucket = self._attendee_hard[attendee_id] = TokenBucket(
                HARD_ATTENDEE_RATE, HARD_ATTENDEE_BURST, self._clock
            )
        if not (bucket.take() and self.hard.take()):
            return Verdict.HANG_UP
        if topic.startswith(SERVER_TOPIC_PREFIX):
            return Verdict.DROPPED
        if TOPIC.fullmatch(topic) is None or size > MAX_DATA_BYTES:
            return Verdict.REJECTED
        return Verdict.RELAY if self.soft.take() else Verdict.THROTTLED

    def ingest_time_ns(self) -> int:
        """Wall-clock ingest time, strictly increasing within the meeting (and never 0)."""
        self._last_ingest_ns = max(time.time_ns(), self._last_ingest_ns + 1)
        return self._last_ingest_ns

    def keep(self, payload: dict[str, Any]) -> None:
        """Buffer a relayed message for its lifetime (capped at 5 min); the oldest goes past 1024."""
        lifetime_s = min(payload.get("lifetime_ms", 0) / 1000, BUFFER_MAX_LIFETIME_S)
        if lifetime_s > 0:
            self._buffer.append((self._clock() + lifetime_s, payload))

    def _prune(self) -> None:
        now = self._clock()
        # Lifetimes differ, so expired messages need not be at the front.
        if any(expires <= now for expires, _ in self._buffer):
            live = [(expires, p) for expires, p in self._buffer if expires > now]
            self._buffer.clear()
            self._buffer.extend(live)

    def buffered(self) -> list[dict[str, Any]]:
        """The messages still alive, oldest first."""
        self._prune()
        return [payload for _, payload in self._buffer]

    def expires_in(self) -> float | None:
        """Seconds until the last kept message expires; None when nothing is kept."""
        self._prune()
        if not self._buffer:
            return None
        return max(expires for expires, _ in self._buffer) - self._clock()
