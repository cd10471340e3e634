"""With the real server, model and audio socket: a caller reads out a name, a phone number and a card number
(clip en_us_pii), and participants receive them identified, redacted, or as medical PHI."""

from __future__ import annotations

from typing import Any

import pytest

from harness.attendee import transcribe_clip
from harness.server import ServerProcess

pytestmark = pytest.mark.model

MEDICAL = {"LanguageCode": "en-US", "Specialty": "PRIMARYCARE", "Type": "CONVERSATION"}


async def received(server: ServerProcess, configuration: dict[str, Any]) -> list[dict[str, Any]]:
    """Every result a listener received while the caller read out the PII clip."""
    # 3× real time: these tests are about what PII settings do to results, not about pacing (finals never
    # depend on the feed rate; partials only become rarer)
    return await transcribe_clip(server, "en_us_pii", configuration, trailing_silence_s=3.0, speed=3.0)


def finals(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in results if not r["isPartial"]]


def entities(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for r in finals(results) for e in r["alternatives"][0].get("entities", [])]


def text(results: list[dict[str, Any]]) -> str:
    return " ".join(r["alternatives"][0]["transcript"] for r in finals(results))


async def test_identification_marks_name_phone_and_card(model_server: ServerProcess) -> None:
    results = await received(
        model_server,
        {"EngineTranscribeSettings": {"LanguageCode": "en-US", "ContentIdentificationType": "PII"}},
    )
    found = entities(results)
    assert {"NAME", "PHONE", "CREDIT_DEBIT_NUMBER"} <= {e["type"] for e in found}, (found, text(results))
    assert {e["category"] for e in found} == {"PII"}
    name = next(e for e in found if e["type"] == "NAME")
    assert name["content"] == "John Smith"
    assert "John Smith" in text(results)  # identification leaves the text alone
    for entity in found:
        owner = next(r for r in finals(results) if entity in r["alternatives"][0].get("entities", []))
        assert owner["startTimeMs"] <= entity["startTimeMs"] < entity["endTimeMs"] <= owner["endTimeMs"]
    # Partial results carry no entities (Transcribe applies PII to complete segments only).
    assert not any(r["alternatives"][0].get("entities") for r in results if r["isPartial"])


async def test_redaction_hides_name_phone_and_card(model_server: ServerProcess) -> None:
    results = await received(
        model_server, {"EngineTranscribeSettings": {"LanguageCode": "en-US", "ContentRedactionType": "PII"}}
    )
    transcript = text(results)
    for tag in ("[NAME]", "[PHONE]", "[CREDIT_DEBIT_NUMBER]"):
        assert tag in transcript, transcript
    assert "Smith" not in transcript
    assert not any(ch.isdigit() for ch in transcript), transcript
    items = [i["content"] for r in finals(results) for i in r["alternatives"][0]["items"]]
    assert "[NAME]" in items
    assert not any(ch.isdigit() for item in items for ch in item)
    assert {e["content"] for e in entities(results)} >= {"[NAME]", "[PHONE]", "[CREDIT_DEBIT_NUMBER]"}
    # D30: partial results are withheld under redaction, so nothing unredacted ever reaches a participant.
    assert not [r for r in results if r["isPartial"]]


async def test_redaction_of_selected_types_only(model_server: ServerProcess) -> None:
    results = await received(
        model_server,
        {
            "EngineTranscribeSettings": {
                "LanguageCode": "en-US",
                "ContentRedactionType": "PII",
                "PiiEntityTypes": "CREDIT_DEBIT_NUMBER, PHONE",
            }
        },
    )
    transcript = text(results)
    assert "[CREDIT_DEBIT_NUMBER]" in transcript, transcript
    assert "[NAME]" not in transcript
    assert "John Smith" in transcript


async def test_medical_phi_identification(model_server: ServerProcess) -> None:
    results = await received(
        model_server, {"EngineTranscribeMedicalSettings": {**MEDICAL, "ContentIdentificationType": "PHI"}}
    )
    found = entities(results)
    assert found, text(results)
    assert {e["category"] for e in found} == {"PHI"}
    assert not any(e.get("type") for e in found)  # Transcribe Medical entities have no type
    assert "John Smith" in {e["content"] for e in found}
    assert "John Smith" in text(results)
