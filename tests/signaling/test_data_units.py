"""Data-message state on its own, with a fake clock: the limits and the lifetime buffer (§10, D28)."""

from __future__ import annotations

from parley.signaling.data import (
    BUFFER_MAX_MESSAGES,
    HARD_ATTENDEE_BURST,
    HARD_ATTENDEE_RATE,
    HARD_MEETING_BURST,
    HARD_MEETING_RATE,
    MAX_DATA_BYTES,
    SOFT_BURST,
    SOFT_RATE,
    MeetingData,
    TokenBucket,
    Verdict,
)


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


def test_the_limits_are_the_references() -> None:
    assert (HARD_ATTENDEE_RATE, HARD_ATTENDEE_BURST) == (200, 2000)
    assert (HARD_MEETING_RATE, HARD_MEETING_BURST) == (500, 10_000)
    assert MAX_DATA_BYTES == 2048


def test_topics_and_sizes_follow_the_sdks_own_checks() -> None:
    data = MeetingData(Clock())
    for topic in ["a", "chat", "A-Z_0-9", "x" * 36]:
        assert data.admit("ann", topic, MAX_DATA_BYTES) is Verdict.RELAY, topic
    for topic in ["", "x" * 37, "has space", "dot.ted", "colon:topic", "émoji"]:
        assert data.admit("ann", topic, 1) is Verdict.REJECTED, topic
    assert data.admit("ann", "chat", MAX_DATA_BYTES + 1) is Verdict.REJECTED
    # The reserved server topics are dropped, never echoed: they would reach the sender's transcription.
    assert data.admit("ann", "aws:chime:transcription", 1) is Verdict.DROPPED
    assert data.admit("ann", "aws:", 1) is Verdict.DROPPED


def test_over_the_soft_limit_messages_are_throttled_and_rejected_ones_take_no_soft_token() -> None:
    data = MeetingData(Clock())
    for _ in range(50):
        assert data.admit("ann", "bad topic", 1) is Verdict.REJECTED
    verdicts = [data.admit(sender, "chat", 1) for sender in ("ann", "bob") for _ in range(150)]
    assert verdicts.count(Verdict.RELAY) == SOFT_BURST  # per meeting, whoever sends
    assert verdicts.count(Verdict.THROTTLED) == 300 - SOFT_BURST


def test_an_attendee_over_its_hard_limit_is_hung_up_on_whatever_it_sends() -> None:
    clock = Clock()
    data = MeetingData(clock)
    topics = ["chat", "bad topic", "aws:x"]  # throttled, rejected and dropped messages all count
    verdicts = [data.admit("ann", topics[i % 3], 1) for i in range(HARD_ATTENDEE_BURST)]
    assert Verdict.HANG_UP not in verdicts
    assert data.admit("ann", "chat", 1) is Verdict.HANG_UP
    assert data.admit("bob", "chat", 1) is Verdict.THROTTLED  # another attendee is not affected
    clock.now += 0.125  # refills 25 of ann's tokens (200/s)
    verdicts = [data.admit("ann", "chat", 1) for _ in range(26)]
    assert Verdict.HANG_UP not in verdicts[:25]
    assert verdicts[25] is Verdict.HANG_UP
    clock.now += 3600  # never more than the burst
    verdicts = [data.admit("ann", "chat", 1) for _ in range(HARD_ATTENDEE_BURST + 1)]
    assert verdicts[-1] is Verdict.HANG_UP
    assert Verdict.HANG_UP not in verdicts[:-1]


def test_a_meeting_over_its_hard_limit_hangs_up_on_the_sender_that_breaks_it() -> None:
    clock = Clock()
    data = MeetingData(clock)
    senders = [f"attendee-{i}" for i in range(HARD_MEETING_BURST // HARD_ATTENDEE_BURST)]
    for sender in senders:  # each stays within its own burst, together they use up the meeting's
        verdicts = [data.admit(sender, "chat", 1) for _ in range(HARD_ATTENDEE_BURST)]
        assert Verdict.HANG_UP not in verdicts
    assert data.admit("newcomer", "chat", 1) is Verdict.HANG_UP
    clock.now += 0.125  # refills 62.5 of the meeting's tokens (500/s)
    verdicts = [data.admit("newcomer", "chat", 1) for _ in range(63)]
    assert Verdict.HANG_UP not in verdicts[:62]
    assert verdicts[62] is Verdict.HANG_UP
