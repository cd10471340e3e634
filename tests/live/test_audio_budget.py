"""The audio rate budget of an audio socket (ws/audio.py AudioBudget), on a fake clock."""

from __future__ import annotations

from parley.ws.audio import AudioBudget


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_real_time_audio_never_runs_out() -> None:
    clock = Clock()
    budget = AudioBudget(max_speed=4.0, burst_s=30.0, clock=clock)
    for _ in range(10_000):  # 200 s of 20 ms frames, one every 20 ms
        clock.now += 0.02
        assert budget.spend(0.02)


def test_a_burst_then_the_sustained_speed() -> None:
    clock = Clock()
    budget = AudioBudget(max_speed=4.0, burst_s=30.0, clock=clock)
    assert budget.spend(30.0), "a 30 s file may arrive at once"
    assert not budget.spend(0.1), "but nothing more without time passing"
    clock.now += 1.0
    assert budget.spend(3.9), "then four seconds of audio per second"


def test_twenty_times_real_time_is_cut_off_within_two_seconds() -> None:
    clock = Clock()
    budget = AudioBudget(max_speed=4.0, burst_s=30.0, clock=clock)
    sent_s = 0.0
    while budget.spend(0.4):  # 20 ms of wall time per 400 ms of audio
        clock.now += 0.02
        sent_s += 0.4
    assert 30.0 <= sent_s <= 40.0
    assert clock.now < 2.0


def test_the_budget_is_the_attendees_and_reconnecting_does_not_refill_it() -> None:
    from parley.ws.audio import AudioSocket

    sockets = AudioSocket(None, max_audio_speed=2.0, audio_burst_s=30.0)  # type: ignore[arg-type]
    first = sockets._budget("flooder")
    assert first.spend(30.0)
    assert sockets._budget("flooder") is first, "a new connection of the same attendee shares its budget"
    assert not sockets._budget("flooder").spend(1.0)
    assert sockets._budget("someone-else") is not first
