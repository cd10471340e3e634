"""TranscriptionConfiguration parsed once into typed settings (meetings/configuration.py)."""

from __future__ import annotations

from parley.meetings.configuration import EngineSettings, names, parse


def test_comma_lists_are_split_once_with_spaces_and_empties_dropped() -> None:
    assert names(" en-US, de-DE ,,fr-FR ") == ("en-US", "de-DE", "fr-FR")
    assert names(None) == names("") == names(" , ") == ()


def test_standard_settings_keep_singular_and_plural_apart() -> None:
    e = parse(
        {
            "EngineTranscribeSettings": {
                "IdentifyLanguage": True,
                "LanguageOptions": "en-US, de-DE",
                "PreferredLanguage": "de-DE",
                "VocabularyNames": "terms-en,terms-de",
                "VocabularyFilterNames": "rude",
                "VocabularyFilterMethod": "mask",
                "EnablePartialResultsStabilization": True,
                "PartialResultsStability": "low",
                "ContentIdentificationType": "PII",
                "PiiEntityTypes": "NAME, SSN",
                "Region": "auto",
            }
        }
    )
    assert not e.medical
    assert e.languages == e.language_options == ("en-US", "de-DE")
    assert (e.vocabulary_name, e.vocabulary_names, e.vocabularies) == (
        None,
        ("terms-en", "terms-de"),
        ("terms-en", "terms-de"),
    )
    assert e.vocabulary_filters == ("rude",)
    assert (e.stabilization, e.stability, e.content_identification, e.pii_entity_types) == (
        True,
        "low",
        "PII",
        "NAME, SSN",
    )
    one = parse({"EngineTranscribeSettings": {"LanguageCode": "en-US", "VocabularyName": "terms"}})
    assert (one.languages, one.vocabularies, one.vocabulary_names) == (("en-US",), ("terms",), ())


def test_medical_settings() -> None:
    e = parse(
        {
            "EngineTranscribeMedicalSettings": {
                "LanguageCode": "en-US",
                "Specialty": "CARDIOLOGY",
                "Type": "DICTATION",
                "VocabularyName": "cardio",
                "ContentIdentificationType": "PHI",
            }
        }
    )
    assert e == EngineSettings(
        medical=True,
        language_code="en-US",
        vocabulary_name="cardio",
        content_identification="PHI",
        specialty="CARDIOLOGY",
        medical_type="DICTATION",
    )
    assert e.vocabularies == ("cardio",)
    assert parse({}) == EngineSettings()
