"""Shared pieces for the PII tests: one detector per session (loading spaCy costs about a second), and
results built from plain text with one word every 500 ms."""

from __future__ import annotations

import unicodedata

import pytest

from parley.pii.detector import Detector
from parley.transcripts.events import TranscriptAlternative, TranscriptItem, TranscriptResult

ORIGIN_MS = 1_700_000_000_000


@pytest.fixture(scope="session")
def detector() -> Detector:
    from parley.pii.model import load_pipeline

    return Detector(load_pipeline())


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def result_of(text: str, *, partial: bool = False, language: str | None = None) -> TranscriptResult:
    """A Chime result for ``text`` as the recognizer splits it: word k spans [k*500, k*500+400) ms after
    ORIGIN_MS; punctuation around a word becomes punctuation items at its start or end, as in the recognizer."""
    items: list[TranscriptItem] = []
    for k, token in enumerate(text.split()):
        i, j = 0, len(token)
        while i < j and _is_punct(token[i]):
            i += 1
        while j > i and _is_punct(token[j - 1]):
            j -= 1
        start = ORIGIN_MS + k * 500
        for ch in token[:i]:
            items.append(TranscriptItem("punctuation", start, start, "a1", "speaker", ch))
        items.append(
            TranscriptItem("pronunciation", start, start + 400, "a1", "speaker", token[i:j], confidence=0.9)
        )
        for ch in token[j:]:
            items.append(TranscriptItem("punctuation", start + 400, start + 400, "a1", "speaker", ch))
    return TranscriptResult(
        result_id="r1",
        channel_id="ch_0",
        is_partial=partial,
        start_time_ms=ORIGIN_MS,
        end_time_ms=items[-1].end_time_ms,
        alternatives=(TranscriptAlternative(items=tuple(items), transcript=text),),
        language_code=language,
    )


def word_start(k: int) -> int:
    return ORIGIN_MS + k * 500


def word_end(k: int) -> int:
    return ORIGIN_MS + k * 500 + 400
