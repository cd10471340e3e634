"""A TranscriptionConfiguration as typed settings, parsed once from the request.

The service model has already checked shapes, enums and lengths; what is left is Transcribe's own rules
(meetings/transcription.py) and what each part needs (the recognizer, the vocabularies, PII). They read these
fields instead of the request dict, and comma-separated lists are split here, once. The request dict itself is
still stored as it came: status events echo it back to clients as ``transcriptionConfiguration``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def names(value: str | None) -> tuple[str, ...]:
    """A comma-separated list of the API ("en-US, de-DE"): its non-empty items, stripped, in order."""
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """The one engine's settings (``EngineTranscribeSettings`` or ``EngineTranscribeMedicalSettings``), as given:
    singular and plural fields stay apart because Transcribe's rules tell them apart."""

    medical: bool = False
    language_code: str | None = None
    identify_language: bool = False
    language_options: tuple[str, ...] = ()
    preferred_language: str | None = None
    vocabulary_name: str | None = None
    vocabulary_names: tuple[str, ...] = ()
    vocabulary_filter_name: str | None = None
    vocabulary_filter_names: tuple[str, ...] = ()
    vocabulary_filter_method: str | None = None
    stabilization: bool = False
    stability: str | None = None
    content_identification: str | None = None
    content_redaction: str | None = None
    pii_entity_types: str | None = None  # as given ("NAME, SSN" or "ALL"): pii/settings.py reads it
    language_model_name: str | None = None
    region: str | None = None
    specialty: str | None = None  # medical
    medical_type: str | None = None  # medical: CONVERSATION or DICTATION

    @property
    def vocabularies(self) -> tuple[str, ...]:
        """Every custom (or medical) vocabulary named, singular field first."""
        return (*names(self.vocabulary_name), *self.vocabulary_names)

    @property
    def vocabulary_filters(self) -> tuple[str, ...]:
        return (*names(self.vocabulary_filter_name), *self.vocabulary_filter_names)

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages the stream may be in: the options with identification, else the one language."""
        if self.identify_language:
            return self.language_options
        return (self.language_code,) if self.language_code else ()


def parse(configuration: dict[str, Any]) -> EngineSettings:
    """The typed settings of a (model-validated) TranscriptionConfiguration."""
    medical = configuration.get("EngineTranscribeMedicalSettings")
    if medical is not None:
        return EngineSettings(
            medical=True,
            language_code=medical.get("LanguageCode"),
            vocabulary_name=medical.get("VocabularyName"),
            content_identification=medical.get("ContentIdentificationType"),
            region=medical.get("Region"),
            specialty=medical.get("Specialty"),
            medical_type=medical.get("Type"),
        )
    s: dict[str, Any] = configuration.get("EngineTranscribeSettings") or {}
    return EngineSettings(
        language_code=s.get("LanguageCode"),
        identify_language=bool(s.get("IdentifyLanguage")),
        language_options=names(s.get("LanguageOptions")),
        preferred_language=s.get("PreferredLanguage"),
        vocabulary_name=s.get("VocabularyName"),
        vocabulary_names=names(s.get("VocabularyNames")),
        vocabulary_filter_name=s.get("VocabularyFilterName"),
        vocabulary_filter_names=names(s.get("VocabularyFilterNames")),
        vocabulary_filter_method=s.get("VocabularyFilterMethod"),
        stabilization=bool(s.get("EnablePartialResultsStabilization")),
        stability=s.get("PartialResultsStability"),
        content_identification=s.get("ContentIdentificationType"),
        content_redaction=s.get("ContentRedactionType"),
        pii_entity_types=s.get("PiiEntityTypes"),
        language_model_name=s.get("LanguageModelName"),
        region=s.get("Region"),
    )
