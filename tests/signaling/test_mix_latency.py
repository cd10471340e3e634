"""The downlink mix does not turn queued audio into standing delay (found with bench/media.py).

Uplink audio arrives and the mix consumes it at the same 20 ms pace, so whatever piles up in a sender's queue (a
sender that started before the receiver's downlink, a burst after an uplink stall) would stay as added delay
forever. Once per ``DRAIN_TICKS`` the mix drops the part of a queue that stayed above ``SLACK_SAMPLES`` for the
whole window; a queue that ran low at any point (jitter) is left alone.
"""

from __future__ import annotations

import numpy as np

from parley.signaling.media import DRAIN_TICKS, MIX_RATE, MIX_SAMPLES, SLACK_SAMPLES, MixTrack


def frame(number: int) -> np.ndarray:
    """A frame whose samples hold its number, so what the mix plays shows which frame it is."""
    return np.full(MIX_SAMPLES, number, dtype=np.int16)


def play(mix: MixTrack, ticks: int, first: int) -> list[int]:
    """``ticks`` ticks of steady audio (one frame in, one frame out); the frame numbers played."""
    played = []
    for i in range(ticks):
        mix.push("a", frame(first + i), MIX_RATE)
        played.append(int(mix._mix()[0]))
    return played


def test_a_standing_backlog_is_drained_once_to_the_slack() -> None:
    mix = MixTrack()
    for n in range(1, 11):  # 200 ms queued before the downlink's first tick
        mix.push("a", frame(n), MIX_RATE)
    first_window = play(mix, DRAIN_TICKS, first=11)
    assert first_window == list(range(1, DRAIN_TICKS + 1))  # nothing lost within the window
    assert len(mix._sources["a"]) == SLACK_SAMPLES  # then the persistent 9 frames (less the slack) went
    later = play(mix, 2 * DRAIN_TICKS, first=11 + DRAIN_TICKS)
    assert later == list(range(later[0], later[0] + 2 * DRAIN_TICKS))  # steady again, no further drops
    assert later[0] == 11 + DRAIN_TICKS - 1  # one frame behind the newest: the slack


def test_jitter_is_not_drained() -> None:
    mix = MixTrack()
    played = []
    n = 1
    for tick in range(3 * DRAIN_TICKS):
        if tick % 10 == 0:  # a burst of three frames, then two ticks with nothing: jitter, not delay
            for _ in range(3):
                mix.push("a", frame(n), MIX_RATE)
                n += 1
        elif tick % 10 > 2:
            mix.push("a", frame(n), MIX_RATE)
            n += 1
        played.append(int(mix._mix()[0]))
    assert [p for p in played if p] == list(range(1, max(played) + 1))  # every frame, in order


def test_leavers_are_forgotten() -> None:
    mix = MixTrack()
    mix.push("a", frame(1), MIX_RATE)
    mix._mix()
    mix.forget("a")
    assert "a" not in mix._sources
    assert "a" not in mix._lowest
