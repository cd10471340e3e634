"""Chime results built from plain text, split as the recognizer splits words (shared by tests/pii and
bench/pii.py): word k spans [k*500, k*500+400) ms after ORIGIN_MS; punctuation around a word becomes
punctuation items at its start or end."""

from __future__ import annotations

from parley.transcripts.events import TranscriptAlternative, TranscriptItem, TranscriptResult
from parley.transcripts.text import split_punctuation

ORIGIN_MS = 1_700_000_000_000


def word_start(k: int) -> int:
    return ORIGIN_MS + k * 500


def word_end(k: int) -> int:
    return word_start(k) + 400


def result_of(
    text: str, *, partial: bool = False, language: str | None = None, result_id: str = "r1"
) -> TranscriptResult:
    items: list[TranscriptItem] = []
    for k, token in enumerate(text.split()):
        lead, word, trail = split_punctuation(token)
        start, end = word_start(k), word_end(k)
        items += [TranscriptItem("punctuation", start, start, "a1", "speaker", ch) for ch in lead]
        items.append(TranscriptItem("pronunciation", start, end, "a1", "speaker", word, confidence=0.9))
        items += [TranscriptItem("punctuation", end, end, "a1", "speaker", ch) for ch in trail]
    return TranscriptResult(
        result_id=result_id,
        channel_id="ch_0",
        is_partial=partial,
        start_time_ms=ORIGIN_MS,
        end_time_ms=items[-1].end_time_ms,
        alternatives=(TranscriptAlternative(items=tuple(items), transcript=text),),
        language_code=language,
    )
