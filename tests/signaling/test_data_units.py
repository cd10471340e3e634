"""Data-message state on its own, with a fake clock: the soft throttle and the lifetime buffer (§10.2)."""

from __future__ import annotations

from parley.signaling.data import BUFFER_MAX_MESSAGES, SOFT_BURST, SOFT_RATE, MeetingData, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_the_burst_then_the_rate() -> None:
    assert (SOFT_RATE, SOFT_BURST) == (100, 200)  # the meeting's soft limit
    clock = Clock()
    bucket = TokenBucket(rate=SOFT_RATE, burst=SOFT_BURST, clock=clock)
    assert sum(bucket.take() for _ in range(250)) == 200
    clock.now += 0.1  # refills 10 tokens
    assert sum(bucket.take() for _ in range(50)) == 10
    clock.now += 3600  # never more than the burst
    assert sum(bucket.take() for _ in range(500)) == 200


def test_buffer_keeps_lifetime_messages_until_they_expire_capped_at_5_minutes() -> None:
    clock = Clock()
    data = MeetingData(clock)
    data.keep({"topic": "t", "lifetime_ms": 0})  # no lifetime: not kept
    data.keep({"topic": "short", "lifetime_ms": 1_000})
    data.keep({"topic": "forever", "lifetime_ms": 3_600_000})
    data.keep({"topic": "medium", "lifetime_ms": 10_000})
    assert [p["topic"] for p in data.buffered()] == ["short", "forever", "medium"]
    clock.now += 2
    assert [p["topic"] for p in data.buffered()] == ["forever", "medium"]
    assert data.expires_in() == 298
    clock.now += 298
    assert data.buffered() == []
    assert data.expires_in() is None


def test_buffer_holds_at_most_1024_messages_dropping_the_oldest() -> None:
    data = MeetingData(Clock())
    for i in range(BUFFER_MAX_MESSAGES + 5):
        data.keep({"n": i, "lifetime_ms": 60_000})
    kept = data.buffered()
    assert len(kept) == BUFFER_MAX_MESSAGES == 1024
    assert kept[0]["n"] == 5


def test_ingest_times_are_nonzero_and_strictly_increasing() -> None:
    data = MeetingData()
    times = [data.ingest_time_ns() for _ in range(1000)]
    assert times[0] > 0
    assert times == sorted(set(times))
