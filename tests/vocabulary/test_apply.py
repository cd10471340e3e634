"""Vocabulary filters and DisplayAs applied to Chime transcript results (no server, no model)."""

from __future__ import annotations

from typing import Any

from parley.live.convert import stream_config
from parley.meetings.configuration import parse
from parley.store import VocabularyRecord
from parley.transcripts.events import TranscriptAlternative, TranscriptItem, TranscriptResult
from parley.vocabularies.apply import apply_vocabularies, snapshot


def result(text: str, language: str | None = None) -> TranscriptResult:
    items: list[TranscriptItem] = []
    for n, token in enumerate(text.split()):
        word = token.rstrip(".,!?")
        items.append(TranscriptItem("pronunciation", n * 100, n * 100 + 90, "a1", "alice", word))
        for ch in token[len(word) :]:
            items.append(TranscriptItem("punctuation", n * 100 + 90, n * 100 + 90, "a1", "alice", ch))
    return TranscriptResult(
        result_id="r1",
        channel_id="ch_0",
        is_partial=False,
        start_time_ms=0,
        end_time_ms=1000,
        alternatives=(TranscriptAlternative(items=tuple(items), transcript=text),),
        language_code=language,
    )


def record(kind: str, name: str, entries: list[Any], language: str = "en-US") -> VocabularyRecord:
    return VocabularyRecord(
        kind=kind, account_id="1", name=name, language_code=language, entries=entries, last_modified=0
    )


def filtered(text: str, method: str, words: list[str], language: str | None = None) -> TranscriptAlternative:
    snap = snapshot([], [record("filter", "f", words)], method, "en-US")
    return apply_vocabularies(result(text, language), snap).alternatives[0]


def test_mask_replaces_whole_words_case_insensitively() -> None:
    alt = filtered("The Budget review, budget. Budgets stay.", "mask", ["budget"])
    assert alt.transcript == "The *** review, ***. Budgets stay."
    assert [i.content for i in alt.items if i.type == "pronunciation"] == [
        "The",
        "***",
        "review",
        "***",
        "Budgets",
        "stay",
    ]


def test_remove_drops_the_word_and_keeps_punctuation() -> None:
    alt = filtered("The budget review, so bring the budget.", "remove", ["BUDGET"])
    assert alt.transcript == "The review, so bring the."
    assert "budget" not in [i.content.lower() for i in alt.items]
    assert [i.content for i in alt.items][-1] == "."


def test_tag_marks_items_and_keeps_text() -> None:
    alt = filtered("The budget review.", "tag", ["budget"])
    assert alt.transcript == "The budget review."
    tagged = [i.content for i in alt.items if i.vocabulary_filter_match]
    assert tagged == ["budget"]
    assert all(i.vocabulary_filter_match is None for i in alt.items if i.content != "budget")


def test_filter_applies_only_in_its_language() -> None:
    snap = snapshot([], [record("filter", "de", ["budget"], "de-DE")], "mask", None)
    assert (
        apply_vocabularies(result("The budget.", "en-US"), snap).alternatives[0].transcript == "The budget."
    )
    assert apply_vocabularies(result("Das budget.", "de-DE"), snap).alternatives[0].transcript == "Das ***."


def test_display_as_replaces_phrases_before_filtering() -> None:
    vocab = record("vocabulary", "v", [{"phrase": "sales figures", "display_as": "SalesFigures"}])
    snap = snapshot([vocab], [record("filter", "f", ["thursday"])], "mask", "en-US")
    alt = apply_vocabularies(result("Bring the sales figures on Thursday."), snap).alternatives[0]
    assert alt.transcript == "Bring the SalesFigures on ***."
    contents = [i.content for i in alt.items]
    assert "SalesFigures" in contents
    assert "figures" not in contents
    merged = next(i for i in alt.items if i.content == "SalesFigures")
    assert (merged.start_time_ms, merged.end_time_ms) == (200, 390)


def test_no_snapshot_leaves_results_alone() -> None:
    original = result("The budget.")
    assert apply_vocabularies(original, None) is original


def test_vocabularies_become_hotwords() -> None:
    vocab = record(
        "vocabulary",
        "v",
        [{"phrase": "Los Angeles", "display_as": None}, {"phrase": "Chime", "display_as": None}],
    )
    snap = snapshot([vocab], [], None, "en-US")
    config = {"EngineTranscribeSettings": {"LanguageCode": "en-US", "VocabularyName": "v"}}
    assert stream_config(parse(config), snap).hotwords == "Los Angeles, Chime"
    assert (
        stream_config(parse({"EngineTranscribeSettings": {"LanguageCode": "en-GB"}}), snap).hotwords is None
    )
    # VocabularyFilterMethod is honoured now, no longer refused.
    filter_config = {
        "EngineTranscribeSettings": {
            "LanguageCode": "en-US",
            "VocabularyFilterName": "f",
            "VocabularyFilterMethod": "tag",
        }
    }
    assert stream_config(parse(filter_config)).language_code == "en-US"
