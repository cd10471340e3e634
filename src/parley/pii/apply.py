"""Identification and redaction on Chime ``TranscriptResult``s: entities from findings, items and text rewritten.

Transcribe applies PII "only upon complete transcription of the audio segments" (reference §4), so only
final results get entities. Identification leaves the text alone and adds entities with the raw content;
redaction replaces each entity's items by one ``[TYPE]`` item, rewrites the transcript the same way, and the
entity's content becomes ``[TYPE]`` too (the streaming output example; reference §4). Partial results under
redaction are withheld (decision D30): they are never checked, so sending them would leak what the final
hides.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from parley.pii.detector import Finding
from parley.pii.normalize import Token, normalize
from parley.pii.settings import PiiSettings
from parley.transcripts.events import (
    TranscriptAlternative,
    TranscriptEntity,
    TranscriptItem,
    TranscriptResult,
)
from parley.transcripts.text import split_punctuation


class Finder(Protocol):
    def find(self, text: str, types: frozenset[str]) -> list[Finding]: ...


def withheld(result: TranscriptResult, settings: PiiSettings) -> bool:
    """Partial results are not sent at all under redaction (D30)."""
    return result.is_partial and settings.mode == "redact"


def apply_pii(result: TranscriptResult, settings: PiiSettings, finder: Finder) -> TranscriptResult:
    """``result`` with entities added (and, for redaction, replaced); partials and non-English pass unchanged."""
    if result.is_partial or not settings.applies_to(result.language_code):
        return result
    alternatives = tuple(_alternative(alt, settings, finder) for alt in result.alternatives)
    return dataclasses.replace(result, alternatives=alternatives)


def text_of(items: Sequence[TranscriptItem]) -> str:
    """Items as transcript text: words separated by spaces, punctuation attached to the word before it."""
    out = ""
    for item in items:
        if item.type == "punctuation" and out:
            out += item.content
        else:
            out += (" " if out else "") + item.content
    return out


def _spans(
    alt: TranscriptAlternative, settings: PiiSettings, finder: Finder
) -> list[tuple[int, int, Finding]]:
    """Inclusive item ranges of each finding, trimmed of punctuation at their edges."""
    items = alt.items
    detection = normalize([Token(i.content, i.type == "punctuation") for i in items])
    spans: list[tuple[int, int, Finding]] = []
    for finding in finder.find(detection.text, settings.types):
        covered = detection.token_span(finding.start, finding.end)
        if covered is None:
            continue
        first, last = covered
        while first <= last and items[first].type == "punctuation":
            first += 1
        while last >= first and items[last].type == "punctuation":
            last -= 1
        if first <= last and (not spans or first > spans[-1][1]):
            spans.append((first, last, finding))
    return spans


def _alternative(alt: TranscriptAlternative, settings: PiiSettings, finder: Finder) -> TranscriptAlternative:
    spans = _spans(alt, settings, finder)
    if not spans:
        return alt
    items = alt.items
    medical = settings.category == "PHI"
    words = _align(alt.transcript, items)
    entities: list[TranscriptEntity] = []
    for first, last, finding in spans:
        redacted = settings.mode == "redact"
        content = f"[{finding.type}]" if redacted else _span_text(words, items, first, last)
        entities.append(
            TranscriptEntity(
                category=settings.category,
                confidence=round(finding.score, 4),
                content=content,
                start_time_ms=items[first].start_time_ms,
                end_time_ms=items[last].end_time_ms,
                type=None if medical else finding.type,  # Transcribe Medical entities carry no type
            )
        )
    entities_out = (*alt.entities, *entities)
    if settings.mode != "redact":
        return dataclasses.replace(alt, entities=entities_out)
    new_items: list[TranscriptItem] = []
    cursor = 0
    for first, last, finding in spans:
        new_items.extend(items[cursor:first])
        new_items.append(
            dataclasses.replace(
                items[first],
                type="pronunciation",
                content=f"[{finding.type}]",
                end_time_ms=items[last].end_time_ms,
                confidence=0.0,  # the Chime demo shows redacted words with confidence 0 (reference §4)
                vocabulary_filter_match=None,
            )
        )
        cursor = last + 1
    new_items.extend(items[cursor:])
    transcript = _redact_transcript(words, spans) if words is not None else None
    if transcript is None:
        transcript = text_of(new_items)
    return dataclasses.replace(alt, items=tuple(new_items), transcript=transcript, entities=entities_out)


@dataclass(frozen=True)
class _Words:
    """The transcript's space-separated tokens and, for each pronunciation item, the token it is."""

    tokens: list[str]
    token_of: dict[int, int]


def _align(transcript: str, items: Sequence[TranscriptItem]) -> _Words | None:
    """Line the transcript's words up with the items; None if they differ (e.g. a multi-word DisplayAs)."""
    tokens = transcript.split(" ")
    token_of: dict[int, int] = {}
    t = 0
    for k, item in enumerate(items):
        if item.type != "pronunciation":
            continue
        while t < len(tokens) and not split_punctuation(tokens[t])[1]:
            t += 1
        if t >= len(tokens) or split_punctuation(tokens[t])[1] != item.content:
            return None
        token_of[k] = t
        t += 1
    return _Words(tokens, token_of)


def _span_text(words: _Words | None, items: Sequence[TranscriptItem], first: int, last: int) -> str:
    """The original text of items ``first..last``: from the transcript when it lines up (so "4532 -7598"
    keeps its own spacing), else rebuilt from the items."""
    if words is not None and first in words.token_of and last in words.token_of:
        a, b = words.token_of[first], words.token_of[last]
        tokens = words.tokens[a : b + 1]
        tokens[0] = "".join(split_punctuation(tokens[0])[1:])
        tokens[-1] = "".join(split_punctuation(tokens[-1])[:2])
        return " ".join(tokens)
    return text_of(items[first : last + 1])


def _redact_transcript(words: _Words, spans: list[tuple[int, int, Finding]]) -> str | None:
    """The transcript with each span's words replaced by its tag, keeping the text's own spacing and
    punctuation; None if a span has no word in the transcript (then the caller rebuilds the text)."""
    tokens = list(words.tokens)
    for first, last, finding in reversed(spans):
        covered = [words.token_of[k] for k in range(first, last + 1) if k in words.token_of]
        if not covered:
            return None
        a, b = covered[0], covered[-1]
        lead = split_punctuation(tokens[a])[0]
        trail = split_punctuation(tokens[b])[2]
        tokens[a : b + 1] = [f"{lead}[{finding.type}]{trail}"]
    return " ".join(tokens)
