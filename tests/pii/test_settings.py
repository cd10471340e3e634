"""Which PII/PHI work a TranscriptionConfiguration asks for, and the snapshot that travels with the state."""

from __future__ import annotations

from typing import Any

from parley.meetings.configuration import parse
from parley.pii.settings import PHI_TYPES, PII_TYPES, PiiSettings, entity_types, pii_settings


def test_entity_types() -> None:
    assert entity_types(None) == frozenset(PII_TYPES)
    assert entity_types("ALL") == frozenset(PII_TYPES)
    assert entity_types("NAME, PHONE") == {"NAME", "PHONE"}
    assert entity_types(" SSN,CREDIT_DEBIT_NUMBER ,") == {"SSN", "CREDIT_DEBIT_NUMBER"}
    assert entity_types("NAME,ALL") == frozenset(PII_TYPES)


def settings_of(configuration: dict[str, Any]) -> PiiSettings | None:
    return pii_settings(parse(configuration))


def test_settings_from_configurations() -> None:
    assert settings_of({"EngineTranscribeSettings": {"LanguageCode": "en-US"}}) is None
    identify = settings_of(
        {"EngineTranscribeSettings": {"LanguageCode": "en-US", "ContentIdentificationType": "PII"}}
    )
    assert identify == PiiSettings("identify", "PII", frozenset(PII_TYPES), "en-US")
    redact = settings_of(
        {
            "EngineTranscribeSettings": {
                "LanguageCode": "en-GB",
                "ContentRedactionType": "PII",
                "PiiEntityTypes": "NAME",
            }
        }
    )
    assert redact == PiiSettings("redact", "PII", frozenset({"NAME"}), "en-GB")
    medical = {"LanguageCode": "en-US", "Specialty": "PRIMARYCARE", "Type": "CONVERSATION"}
    assert settings_of({"EngineTranscribeMedicalSettings": medical}) is None
    phi = settings_of({"EngineTranscribeMedicalSettings": {**medical, "ContentIdentificationType": "PHI"}})
    assert phi == PiiSettings("identify", "PHI", frozenset(PHI_TYPES), "en-US")


def test_snapshot_round_trips_and_languages() -> None:
    settings = PiiSettings("redact", "PII", frozenset({"NAME", "SSN"}), None)
    assert PiiSettings.from_dict(settings.to_dict()) == settings
    assert settings.to_dict()["types"] == ["NAME", "SSN"]  # JSON-compatible, stable order
    # With language identification, PII applies to results identified as a PII language only.
    assert settings.applies_to("en-AU")
    assert not settings.applies_to("de-DE")
    assert not PiiSettings("identify", "PII", frozenset({"NAME"}), "en-US").applies_to("es-US")
