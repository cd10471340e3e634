"""Applying custom vocabularies (DisplayAs) and vocabulary filters to results before they are stored or sent.

StartMeetingTranscription snapshots the vocabularies and filters it names into the transcription state
(``TranscriptionState.extra["vocabularies"]``, see ``snapshot``), as Transcribe loads them when a stream
starts: later updates apply to the next Start. The snapshot travels with the state over the bus, so every
node applies the same content without reading the store on the hot path.

Matching is on whole words, case-insensitively, ignoring punctuation attached to a word (reference §4:
"exact word matches"). A filter or vocabulary applies only to results in its language; with language
identification that is the result's identified language.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from parley.store import VocabularyRecord
from parley.transcripts.events import TranscriptAlternative, TranscriptItem, TranscriptResult
from parley.transcripts.text import split_punctuation

MASK = "***"


def snapshot(
    vocabularies: Sequence[VocabularyRecord],
    filters: Sequence[VocabularyRecord],
    method: str | None,
    language_code: str | None,
) -> dict[str, Any]:
    """The JSON-compatible content the live side needs, stored with the transcription state.

    ``language_code`` is the stream's fixed language (None with language identification): it stands in
    for a result that carries no language of its own.
    """
    return {
        "language_code": language_code,
        "vocabularies": [
            {"name": v.name, "language_code": v.language_code, "entries": v.entries} for v in vocabularies
        ],
        "filters": [{"name": f.name, "language_code": f.language_code, "words": f.entries} for f in filters],
        "method": method or "mask",
    }


def hotwords(snap: dict[str, Any] | None, languages: Sequence[str]) -> str | None:
    """The vocabularies' phrases (in the stream's languages) as the recognizer's hotword prompt."""
    if not snap:
        return None
    phrases: list[str] = []
    for vocabulary in snap.get("vocabularies", []):
        if vocabulary["language_code"] in languages:
            for entry in vocabulary["entries"]:
                shown = entry.get("display_as") or entry["phrase"]
                if shown not in phrases:
                    phrases.append(shown)
    return ", ".join(phrases) or None


def _key(word: str) -> str:
    return word.casefold()


def apply_vocabularies(result: TranscriptResult, snap: dict[str, Any] | None) -> TranscriptResult:
    """``result`` with DisplayAs applied, then the vocabulary filter (Transcribe filters its own output)."""
    if not snap:
        return result
    language = result.language_code or snap.get("language_code")
    displays: list[tuple[list[str], str]] = []
    for vocabulary in snap.get("vocabularies", []):
        if language is None or vocabulary["language_code"] == language:
            for entry in vocabulary["entries"]:
                if entry.get("display_as"):
                    words = [_key(w) for w in entry["phrase"].split()]
                    displays.append((words, entry["display_as"]))
    words: set[str] = set()
    for vfilter in snap.get("filters", []):
        if language is None or vfilter["language_code"] == language:
            words.update(_key(w) for w in vfilter["words"])
    if not displays and not words:
        return result
    method = snap.get("method") or "mask"
    alternatives = tuple(
        _filter_alternative(_display_alternative(alt, displays), words, method) for alt in result.alternatives
    )
    return dataclasses.replace(result, alternatives=alternatives)


# -- DisplayAs --------------------------------------------------------------------------------------


def _display_alternative(
    alt: TranscriptAlternative, displays: list[tuple[list[str], str]]
) -> TranscriptAlternative:
    if not displays:
        return alt
    items = list(alt.items)
    out: list[TranscriptItem] = []
    i = 0
    while i < len(items):
        replaced = False
        if items[i].type == "pronunciation":
            for phrase, shown in displays:
                n = len(phrase)
                window = items[i : i + n]
                if len(window) == n and all(
                    it.type == "pronunciation" and _key(it.content) == w
                    for it, w in zip(window, phrase, strict=True)
                ):
                    out.append(
                        dataclasses.replace(window[0], content=shown, end_time_ms=window[-1].end_time_ms)
                    )
                    i += n
                    replaced = True
                    break
        if not replaced:
            out.append(items[i])
            i += 1
    tokens = alt.transcript.split(" ")
    text: list[str] = []
    i = 0
    while i < len(tokens):
        replaced = False
        for phrase, shown in displays:
            n = len(phrase)
            window = tokens[i : i + n]
            parts = [split_punctuation(t) for t in window]
            # Punctuation may lead the first word and trail the last one, but not sit inside the phrase.
            if (
                len(window) == n
                and all(_key(p[1]) == w for p, w in zip(parts, phrase, strict=True))
                and all(not p[2] for p in parts[:-1])
                and all(not p[0] for p in parts[1:])
            ):
                text.append(parts[0][0] + shown + parts[-1][2])
                i += n
                replaced = True
                break
        if not replaced:
            text.append(tokens[i])
            i += 1
    return dataclasses.replace(alt, items=tuple(out), transcript=" ".join(text))


# -- vocabulary filters -----------------------------------------------------------------------------


def _filter_alternative(alt: TranscriptAlternative, words: set[str], method: str) -> TranscriptAlternative:
    if not words:
        return alt
    items: list[TranscriptItem] = []
    for item in alt.items:
        if item.type != "pronunciation" or _key(item.content) not in words:
            items.append(item)
        elif method == "mask":
            items.append(dataclasses.replace(item, content=MASK))
        elif method == "tag":
            items.append(dataclasses.replace(item, vocabulary_filter_match=True))
        # "remove": the word disappears
    if method == "tag":
        return dataclasses.replace(alt, items=tuple(items))
    text: list[str] = []
    for token in alt.transcript.split():
        lead, word, trail = split_punctuation(token)
        if not word or _key(word) not in words:
            text.append(token)
        elif method == "mask":
            text.append(lead + MASK + trail)
        else:
            rest = lead + trail
            if rest and text:
                text[-1] += rest  # "budget," removed leaves its comma on the previous word
            elif rest:
                text.append(rest)
    return dataclasses.replace(alt, items=tuple(items), transcript=" ".join(text))
