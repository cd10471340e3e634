"""Language identification through the real server and audio socket: with IdentifyLanguage, a German clip
in a meeting that prefers English comes back as German, with scores for every option."""

from __future__ import annotations

from typing import Any

import pytest

from harness.attendee import transcribe_clip
from harness.server import ServerProcess

pytestmark = pytest.mark.model


async def results_for(server: ServerProcess, clip: str, settings: dict[str, Any]) -> list[dict[str, Any]]:
    return await transcribe_clip(server, clip, {"EngineTranscribeSettings": settings}, region="eu-central-1")


async def test_identifies_the_non_preferred_language(model_server: ServerProcess) -> None:
    results = await results_for(
        model_server,
        "de_meeting",
        {"IdentifyLanguage": True, "LanguageOptions": "en-US,de-DE", "PreferredLanguage": "en-US"},
    )
    finals = [r for r in results if not r["isPartial"]]
    assert finals
    for result in finals:
        assert result["languageCode"] == "de-DE"
        scores = {s["languageCode"]: s["score"] for s in result["languageIdentification"]}
        assert set(scores) == {"en-US", "de-DE"}
        assert scores["de-DE"] > scores["en-US"]
        assert all(0 <= s <= 1 for s in scores.values())
    text = " ".join(r["alternatives"][0]["transcript"] for r in finals).lower()
    assert "budget" in text or "morgen" in text  # transcribed as German, not translated
