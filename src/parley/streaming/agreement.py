"""LocalAgreement commit policy: pure, synchronous, engine-agnostic (unit-tested with word lists).

A word is *committed* (becomes ``stable``) once the last ``n`` hypotheses agree on it and on every word before
it (LocalAgreement-n, Macháček et al. 2023). Words already committed are never retracted: later hypotheses
are only consulted *after* the committed prefix. A ``hold_back_s`` right context additionally keeps words that
end too close to the end of the decoded audio uncommitted, because Whisper revises the last word it hears
most often.

Verify before commit: consecutive greedy decodes of nearly the same audio share their errors, so agreement alone
is weak evidence. Two further checks keep a word tentative (the careful final decides it instead):

- ``right_context_s``: *every* agreeing hypothesis must have heard this much audio after the word. Whisper's
  guesses at the last word of a window ("summarize" for a half-heard "summarise the") agree with the next
  window's guess more often than chance; with right context the decoder has already seen the next word.
- ``min_probability``: the newest hypothesis' word probability (from the decoder, via alignment) must reach
  this; greedy decoding emits its least likely tokens exactly where it is wrong.

Hypotheses here are the words *after* the commit point (the caller decodes only uncommitted audio); the
policy strips a repeated tail of the committed words from the front of a hypothesis (``strip_overlap``),
which is how a window that starts at a slightly-too-early word boundary shows up.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from parley.streaming.results import Stability


@dataclass(frozen=True, slots=True)
class Word:
    text: str  # as decoded, may carry attached punctuation ("afternoon,")
    start_s: float
    end_s: float
    probability: float | None = None

    @property
    def key(self) -> str:
        return normalize_word(self.text)


#: word timings from cross-attention alignment jitter by about one 20 ms frame either way; be generous.
TIME_TOLERANCE_S = 0.1
#: a word starting this close before a result's cut belongs to the next result (the previous one drops it)
FLOOR_TOLERANCE_S = 0.04

_PUNCT = re.compile(r"[^\w']+", re.UNICODE)


def normalize_word(text: str) -> str:
    """Case- and punctuation-insensitive form used to compare words between hypotheses."""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text).casefold()).strip("'")


@dataclass(frozen=True, slots=True)
class AgreementParams:
    n: int = 2  # hypotheses that must agree
    hold_back_s: float = 0.0  # uncommitted right context at the end of the decoded audio
    min_audio_s: float = 1.5  # no commit from hypotheses of less utterance audio (enforced by the caller)
    right_context_s: float = 0.0  # audio every agreeing hypothesis must have heard after the word
    min_probability: float = 0.0  # newest hypothesis' word probability needed to commit (None counts as 1)


#: PartialResultsStability → policy. Transcribe: "low" is most accurate, "high" fastest. Each level is a point
#: on the curve measured by bench/asr.py (--lockstep, 12 clips, docs/benchmarks.md "Commit rules"): committed
#: words come from greedy partials, so every rule that commits later or only confident words buys accuracy.
#: high: LA-3 with 0.3 s hold-back from 1.5 s of audio; medium: the same from 2 s and word probability ≥ 0.5;
#: low: LA-4, 0.6 s hold-back, from 2.5 s, probability ≥ 0.8 (about as accurate as waiting for the final). Each
#: level is at least as strict as the one before in every rule. (high's 1.5 s, from 2 s: on the real-speech set in
#: lockstep, commit p90 1.68 → 1.46 s at the same 7.7 % WER; 1.0 s gained little more and cost a word.)
STABILITY_PARAMS: dict[Stability | None, AgreementParams] = {
    "high": AgreementParams(n=3, hold_back_s=0.3, min_audio_s=1.5),
    "medium": AgreementParams(n=3, hold_back_s=0.3, min_audio_s=2.0, min_probability=0.5),
    "low": AgreementParams(n=4, hold_back_s=0.6, min_audio_s=2.5, min_probability=0.8),
    # Stabilization off: commits are internal (they only move the decode window); the final re-decodes all.
    None: AgreementParams(n=2, hold_back_s=0.0, min_audio_s=1.5),
}


def common_prefix_len(hyps: Sequence[Sequence[Word]]) -> int:
    if not hyps:
        return 0
    k = 0
    for column in zip(*hyps, strict=False):
        if not column[0].key or any(w.key != column[0].key for w in column[1:]):
            break
        k += 1
    return k


def strip_overlap(committed: Sequence[Word], hyp: Sequence[Word], max_ngram: int = 5) -> list[Word]:
    """Drop a prefix of ``hyp`` that repeats the last 1..max_ngram committed words (longest match wins)."""
    hyp = list(hyp)
    limit = min(max_ngram, len(committed), len(hyp))
    for size in range(limit, 0, -1):
        tail = [w.key for w in committed[-size:]]
        head = [w.key for w in hyp[:size]]
        if tail == head:
            return hyp[size:]
    return hyp


def remainder(word: Word, covered: Sequence[Word]) -> Word | None:
    """What ``word`` adds to the committed words it spans (``covered``, in order), or None.

    Whisper writes some runs as one word in a long window and as several in short ones ("29340." for the committed
    "2 9 3 4"; "ill-disposed" after a committed "ill"). Such a word starts before the commit point, and dropping it
    by time loses its new part. It is split only when its text begins with the text of a run of the covered words
    ending at the last one (alignment may let it start inside an earlier word), and not inside a run of letters
    (a committed "there" heard again as "therefore" was revised, not continued); the new part is timed from there.
    """
    key = word.key
    for first in range(len(covered)):
        prefix = "".join(c.key for c in covered[first:])
        if not prefix or len(key) <= len(prefix) or not key.startswith(prefix):
            continue
        cut = next((j for j in range(1, len(word.text) + 1) if normalize_word(word.text[:j]) == prefix), None)
        if cut is None:  # the prefix ends inside a character that normalizes to several ("ß" → "ss")
            continue
        if word.text[cut - 1].isalpha() and word.text[cut : cut + 1].isalpha():
            continue  # inside a run of letters: a revised word ("there" → "therefore"), not two words run together
        text = word.text[cut:].lstrip(" -–—")
        if normalize_word(text):
            return Word(text, max(word.start_s, covered[-1].end_s), word.end_s, word.probability)
    return None


class LocalAgreement:
    """Commit state of one utterance (committed words, recent hypotheses with the audio end each one saw)."""

    def __init__(self, params: AgreementParams | None = None, *, floor_s: float = 0.0) -> None:
        """``floor_s``: where this utterance's audio begins when it continues a result that was cut in two; the
        decode window re-hears some audio before it as context, whose words belong to that result (see
        ``owned``). ``previous`` is that result's final words once known."""
        self.params = params or AgreementParams()
        self.floor_s = floor_s
        self.previous: list[Word] = []
        if self.params.n < 1:
            raise ValueError("n must be >= 1")
        self.committed: list[Word] = []
        self._history: list[list[Word]] = []  # recent hypotheses, beyond the committed prefix
        self._ends: list[float] = []  # audio end (stream time) each hypothesis of _history was decoded up to

    @property
    def tentative(self) -> list[Word]:
        """The newest hypothesis beyond the committed prefix."""
        return list(self._history[-1]) if self._history else []

    def update(self, hypothesis: Sequence[Word], audio_end_s: float, *, commit: bool = True) -> list[Word]:
        """Record a hypothesis of the uncommitted audio and return the words newly committed by it.

        ``commit=False`` records the hypothesis without committing (the caller knows it was decoded from too
        little audio to be trusted, e.g. the first second of an utterance).
        """
        hyp = self._beyond_commit(hypothesis)
        self._history.append(hyp)
        self._ends.append(audio_end_s)
        del self._history[: -self.params.n]
        del self._ends[: -self.params.n]
        if len(self._history) < self.params.n or not commit:
            return []
        k = self._committable(common_prefix_len(self._history))
        newest = self._history[-1]
        if not k:
            return []
        new = newest[:k]
        self.committed.extend(new)
        self._history = [h[k:] for h in self._history]
        return new

    def _committable(self, k: int) -> int:
        """Shorten an agreed prefix of ``k`` words to the words that also pass the verification rules."""
        p = self.params
        newest = self._history[-1]
        for i in range(k):
            word = newest[i]
            # Hold-back: the newest hypothesis' timing decides (it saw the most audio).
            if word.end_s > self._ends[-1] - p.hold_back_s:
                return i
            if p.right_context_s and any(
                h[i].end_s > end - p.right_context_s for h, end in zip(self._history, self._ends, strict=True)
            ):
                return i
            if word.probability is not None and word.probability < p.min_probability:
                return i
        return k

    def owned(self, hypothesis: Sequence[Word]) -> list[Word]:
        """The words of ``hypothesis`` that are this utterance's, not the result it continues (``floor_s``).

        By *end* time: word starts are the least precise alignment times (they smear into a preceding pause or
        consonant by 100 ms and more), so a word ending after the cut is ours. A word that straddles the cut
        may also have been decoded by the previous result: it is dropped when it repeats that result's last
        words (``previous``), which is the only place text decides.
        """
        if not self.floor_s:
            return list(hypothesis)
        floor = self.floor_s
        hyp = [w for w in hypothesis if w.end_s > floor + FLOOR_TOLERANCE_S and w.start_s > floor - 0.3]
        straddling = sum(1 for w in hyp if w.start_s < floor)
        if straddling and self.previous:
            rest = strip_overlap(self.previous, hyp[:straddling])
            hyp = rest + hyp[straddling:]
        return hyp

    def _beyond_commit(self, hypothesis: Sequence[Word]) -> list[Word]:
        # Time first (a hypothesis of the whole utterance repeats the committed words), then text (a window cut
        # at a word boundary may still hear the tail of the last committed word).
        hyp = self.owned(hypothesis)
        if not self.committed:
            return hyp
        last_end = self.committed[-1].end_s
        cut = last_end - TIME_TOLERANCE_S
        kept: list[Word] = []
        for word in hyp:
            if word.start_s >= cut:
                kept.append(word)
            elif word.end_s > last_end + TIME_TOLERANCE_S:
                rest = remainder(word, [c for c in self.committed if c.end_s > word.start_s])
                if rest is not None:
                    kept.append(rest)
        return strip_overlap(self.committed, kept)

    def commit_all(self, words: Sequence[Word]) -> list[Word]:
        """Accept ``words`` (a final decode of the remaining audio) as committed."""
        new = self._beyond_commit(words)
        self.committed.extend(new)
        self._history.clear()
        self._ends.clear()
        return new
