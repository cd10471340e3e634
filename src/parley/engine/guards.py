"""Sanity checks on a decoded hypothesis: repetition loops, words past the audio, split compounds.

Why these and not an n-gram rule: people repeat themselves ("ask not what your country can do for you, ask what
you can do for your country", counting, "thank you, thank you"), so a phrase occurring twice is no evidence of a
decoder loop. What a Whisper loop does that speech does not is outrun the audio: the repeats pile up at the end of
the hypothesis, faster than anyone speaks, and cross-attention alignment squeezes them into (nearly) zero time at
the window's end. So a tail repeat is cut only where its timing is implausible, and everything a person could
have said is kept. Decode-level guards (compression ratio, average log-probability with temperature fallback,
no-speech probability) live in the engine; these run on the aligned words.

Pure functions over ``WordTiming`` lists, unit-tested without a model.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from parley.engine.base import WordTiming

#: a repeat of k words must span at least k × this; Whisper's aligned words are ≥ 2 frames (40 ms) when heard
MIN_REPEAT_WORD_S = 0.08
#: faster than anyone speaks, sustained over a window (fast conversational English is ~4 words per second)
MAX_WORDS_PER_S = 6.0
#: a word starting this close to the end of the decoded audio, with (nearly) no duration, was not heard
EDGE_S = 0.04
#: longest repeated unit searched at a hypothesis' tail: Whisper's loops repeat whole sentences of the window
#: (a 9-word "eight of spades, four of clubs, seven of hearts" came back twice on a 3.5 s window)
MAX_PERIOD = 16
#: Whisper languages written without spaces between words: aligned pieces are never joined into compounds, and
#: transcripts are joined without spaces
NO_SPACE_LANGUAGES = frozenset({"ja", "zh", "th", "lo", "my", "km", "yue"})

_PUNCT = re.compile(r"[^\w']+", re.UNICODE)


def _key(text: str) -> str:
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text).casefold()).strip("'")


def _tail_period(keys: Sequence[str]) -> tuple[int, int]:
    """(k, r): the tail of ``keys`` is ``r`` ≥ 2 back-to-back copies of a k-word unit; (0, 0) if none.

    Among periods, the one covering the most words wins (a loop of "to be, to be" is period 2, not 1).
    """
    n = len(keys)
    best = (0, 0)
    for k in range(1, min(MAX_PERIOD, n // 2) + 1):
        unit = keys[n - k :]
        if not all(unit):
            continue
        r = 1
        while n - (r + 1) * k >= 0 and list(keys[n - (r + 1) * k : n - r * k]) == list(unit):
            r += 1
        if r >= 2 and k * r > best[0] * best[1]:
            best = (k, r)
    return best


def trim_tail_loop(
    words: list[WordTiming], audio_end_s: float, *, audio_start_s: float | None = None
) -> list[WordTiming]:
    """Cut the copies of a repeated tail unit that the audio cannot hold; keep every plausible repeat.

    A copy is implausible when its words span less than ``MIN_REPEAT_WORD_S`` each, when it starts at the very
    end of the decoded audio, or when keeping it makes the whole hypothesis faster than ``MAX_WORDS_PER_S``.
    The first copy is always kept (the phrase was said at least once).
    """
    keys = [_key(w.text) for w in words]
    k, r = _tail_period(keys)
    if not k:
        return words
    begin = len(words) - k * r
    start_s = words[0].start_s if audio_start_s is None else audio_start_s
    keep = begin + k  # the first copy
    for copy in range(1, r):
        unit = words[begin + copy * k : begin + (copy + 1) * k]
        span = unit[-1].end_s - unit[0].start_s
        if span < k * MIN_REPEAT_WORD_S or unit[0].start_s >= audio_end_s - EDGE_S:
            break
        duration = max(1e-3, unit[-1].end_s - start_s)
        if (keep + k) / duration > MAX_WORDS_PER_S and keep + k > 4:
            break
        keep += k
    return words[:keep]


def drop_unheard_tail(words: list[WordTiming], audio_end_s: float) -> list[WordTiming]:
    """Drop trailing words that alignment placed at the end of the audio with (nearly) no duration.

    Such words were predicted, not heard: the speaker had not said them yet when the window ended (or they belong
    to the next window). Emitting them here and again when they are heard duplicates the tail of a result.
    """
    out = list(words)
    while out and out[-1].start_s >= audio_end_s - EDGE_S and out[-1].end_s - out[-1].start_s < EDGE_S:
        out.pop()
    return out


def join_continuations(
    raw: Sequence[tuple[str, float, float, float]],
) -> list[tuple[str, float, float, float]]:
    """Merge aligned words that continue the previous one (no leading space: "ill" + "-disposed").

    Whisper's word alignment splits at token boundaries with a leading space; a compound's second half comes out
    as its own "word" and, joined with spaces, reads "ill -disposed" (and counts as two wrong words). Only for
    languages written with spaces — the caller decides. ``raw`` items are (text as decoded, start, end, p).
    """
    out: list[tuple[str, float, float, float]] = []
    for text, start, end, p in raw:
        if out and text and not text[0].isspace() and not out[-1][0].endswith((".", "!", "?")):
            prev = out[-1]
            out[-1] = (prev[0] + text, prev[1], max(prev[2], end), min(prev[3], p))
        else:
            out.append((text, start, end, p))
    return out
