"""Per-meeting state of Chime SDK data messages: the soft throttle and the lifetime buffer.

Reference chime-signaling.md §10.2: messages with ``lifetime_ms > 0`` are kept (at most 1024, at most
5 min) and replayed to attendees who join late or reconnect; over the soft limit (100 msg/s, burst 200,
per meeting) a message goes back to its sender only, with ``ingest_time_ns = 0`` (the SDK's "throttled").
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

SOFT_RATE = 100.0  # messages per second, per meeting
SOFT_BURST = 200
BUFFER_MAX_MESSAGES = 1024
BUFFER_MAX_LIFETIME_S = 300.0


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
    """One meeting's data-message state; it outlives the signaling connections while messages are kept."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.soft = TokenBucket(SOFT_RATE, SOFT_BURST, clock)
        self._buffer: deque[tuple[float, dict[str, Any]]] = deque(maxlen=BUFFER_MAX_MESSAGES)
        self._last_ingest_ns = 0

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
