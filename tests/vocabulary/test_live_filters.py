"""With the real model: each vocabulary filter method changes what participants receive, DisplayAs changes a
recognized spelling (clip ``en_us_budget``: "The quarterly budget review is scheduled for Thursday afternoon,
so please bring the updated sales figures."), and a custom vocabulary makes the recognizer spell made-up names
it otherwise mishears (clip ``en_us_vocabulary``: "The new dashboard is built on Grafanix and Promethor.")."""

from __future__ import annotations

from typing import Any

import pytest

from harness.attendee import transcribe_clip
from harness.server import ServerProcess

pytestmark = pytest.mark.model


async def final_items(
    server: ServerProcess,
    settings: dict[str, Any],
    clip: str = "en_us_budget",
    engine: str = "EngineTranscribeSettings",
) -> list[dict[str, Any]]:
    """The items of every final result a listener received while ``clip`` was spoken."""
    # 3× real time: what filters and vocabularies do to results does not depend on pacing
    results = await transcribe_clip(server, clip, {engine: {"LanguageCode": "en-US", **settings}}, speed=3.0)
    return [i for r in results if not r["isPartial"] for i in r["alternatives"][0]["items"]]


def words(items: list[dict[str, Any]]) -> list[str]:
    return [i["content"].lower() for i in items if i["type"] == "pronunciation"]


async def test_filter_methods_change_what_participants_receive(model_server: ServerProcess) -> None:
    transcribe = model_server.client(service="transcribe")
    transcribe.create_vocabulary_filter(
        VocabularyFilterName="no-budget", LanguageCode="en-US", Words=["Budget"]
    )
    plain = await final_items(model_server, {})
    assert "budget" in words(plain)
    masked = await final_items(
        model_server, {"VocabularyFilterName": "no-budget", "VocabularyFilterMethod": "mask"}
    )
    assert "***" in words(masked)
    assert "budget" not in words(masked)
    removed = await final_items(
        model_server, {"VocabularyFilterName": "no-budget", "VocabularyFilterMethod": "remove"}
    )
    assert "budget" not in words(removed)
    assert "***" not in words(removed)
    assert "review" in words(removed)
    tagged = await final_items(
        model_server, {"VocabularyFilterName": "no-budget", "VocabularyFilterMethod": "tag"}
    )
    assert [i["content"].lower() for i in tagged if i.get("vocabularyFilterMatch")] == ["budget"]


async def test_display_as_changes_the_spelling(model_server: ServerProcess) -> None:
    folder = model_server.data_dir / "vocabulary-files" / "team"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "budget.txt").write_text(
        "Phrase\tIPA\tSoundsLike\tDisplayAs\nsales-figures\t\t\tSalesFigures\n"
    )
    transcribe = model_server.client(service="transcribe")
    transcribe.create_vocabulary(
        VocabularyName="team", LanguageCode="en-US", VocabularyFileUri="s3://team/budget.txt"
    )
    items = await final_items(model_server, {"VocabularyName": "team"})
    assert "salesfigures" in words(items)


async def test_custom_vocabulary_makes_out_of_vocabulary_names_come_out_right(
    model_server: ServerProcess,
) -> None:
    """Without the vocabulary Whisper base writes these names as common words ("graphics", "prolifer"); with
    them in the vocabulary (parley passes the phrases as Whisper's prompt, D27) it spells them as listed."""
    plain = words(await final_items(model_server, {}, clip="en_us_vocabulary"))
    assert "dashboard" in plain
    assert "grafanix" not in plain
    assert "promethor" not in plain
    transcribe = model_server.client(service="transcribe")
    transcribe.create_vocabulary(
        VocabularyName="products", LanguageCode="en-US", Phrases=["Grafanix", "Promethor"]
    )
    biased = words(await final_items(model_server, {"VocabularyName": "products"}, clip="en_us_vocabulary"))
    assert "dashboard" in biased
    assert "grafanix" in biased
    assert "promethor" in biased


async def test_medical_vocabulary_biases_transcribe_medical(model_server: ServerProcess) -> None:
    """Transcribe Medical runs on the same recognizer; its own (medical) vocabulary biases it the same way."""
    folder = model_server.data_dir / "vocabulary-files" / "pharmacy"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "names.txt").write_text("Grafanix\nPromethor\n")
    model_server.client(service="transcribe").create_medical_vocabulary(
        VocabularyName="pharmacy", LanguageCode="en-US", VocabularyFileUri="s3://pharmacy/names.txt"
    )
    medical = {"Specialty": "PRIMARYCARE", "Type": "DICTATION"}
    biased = words(
        await final_items(
            model_server,
            {**medical, "VocabularyName": "pharmacy"},
            clip="en_us_vocabulary",
            engine="EngineTranscribeMedicalSettings",
        )
    )
    assert "grafanix" in biased
    assert "promethor" in biased
