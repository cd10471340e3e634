"""Loop detection that keeps real repeats, words past the audio, and split compounds (no model needed)."""

from __future__ import annotations

import pytest

from parley.engine.base import WordTiming
from parley.engine.guards import drop_unheard_tail, join_continuations, trim_tail_loop


def spoken(text: str, per_word: float = 0.3, start: float = 0.0) -> list[WordTiming]:
    """Words at a plausible speaking rate (one every ``per_word`` seconds)."""
    return [
        WordTiming(w, start + i * per_word, start + (i + 1) * per_word, 0.9)
        for i, w in enumerate(text.split())
    ]


def text(words: list[WordTiming]) -> str:
    return " ".join(w.text for w in words)


@pytest.mark.parametrize(
    "said",
    [
        "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.",
        "thank you, thank you, thank you",
        "one two three, one two three, one two three",
        "The team is still testing them. The team is",
        "that was that was that was",
        "five five",
    ],
)
def test_repeats_a_person_said_are_kept(said: str) -> None:
    words = spoken(said)
    assert text(trim_tail_loop(words, audio_end_s=words[-1].end_s + 0.5)) == said


def test_a_loop_squeezed_into_the_window_end_is_cut_to_one_copy() -> None:
    heard = spoken("we should move the design meeting")
    end = heard[-1].end_s
    # Whisper's loop: the last phrase again and again, aligned into (almost) no time at the window's end
    loop = [WordTiming(w, end - 0.02, end, 0.3) for w in ["design", "meeting"] * 3]
    assert text(trim_tail_loop(heard + loop, audio_end_s=end)) == "we should move the design meeting"


def test_a_whole_sentence_repeated_into_no_time_is_cut() -> None:
    """Seen on real speech (the cards clip, a final with its previous text as prompt): the 9-word sentence
    came back a second time, aligned into 20 ms before the trailing silence, and reached the transcript."""
    heard = spoken("8 of spades 4 of clothes 7 of hearts", start=9.37)
    end = heard[-1].end_s
    loop = [WordTiming(w.text, end, end + 0.02, 0.2) for w in heard]
    kept = trim_tail_loop(heard + loop, audio_end_s=end + 0.5, audio_start_s=9.37)
    assert text(kept) == "8 of spades 4 of clothes 7 of hearts"


def test_a_loop_faster_than_anyone_speaks_is_cut() -> None:
    # 24 words in 2 s: every copy has some duration, but together they outrun the audio
    words = spoken("week " * 24, per_word=2.0 / 24)
    kept = trim_tail_loop(words, audio_end_s=2.0)
    assert 1 <= len(kept) <= 12
    assert all(w.text == "week" for w in kept)


def test_words_aligned_past_the_audio_are_dropped_only_at_the_tail() -> None:
    words = spoken("ask what you can do")
    end = words[-1].end_s
    unheard = [WordTiming("for", end, end, 0.4), WordTiming("your", end, end, 0.3)]
    assert text(drop_unheard_tail(words + unheard, audio_end_s=end)) == "ask what you can do"
    short_but_heard = [*words, WordTiming("a", end - 0.5, end - 0.49, 0.9), *spoken("day", start=end - 0.4)]
    assert text(drop_unheard_tail(short_but_heard, audio_end_s=end + 1.0)) == "ask what you can do a day"


def test_compound_halves_are_joined() -> None:
    raw = [
        (" He", 0.0, 0.4, 0.9),
        (" was", 0.4, 0.6, 0.9),
        (" ill", 0.6, 0.8, 0.9),
        ("-disposed.", 0.8, 1.3, 0.7),
    ]
    joined = join_continuations(raw)
    assert [t.strip() for t, *_ in joined] == ["He", "was", "ill-disposed."]
    assert joined[-1][1:] == (0.6, 1.3, 0.7)
    # a new sentence never continues the previous one's last word
    assert len(join_continuations([(" end.", 0.0, 0.3, 0.9), ("Next", 0.3, 0.6, 0.9)])) == 2
