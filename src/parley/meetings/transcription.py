"""StartMeetingTranscription configuration rules and transcription-region selection.

The service model validates enums, patterns and lengths synchronously (400). Combinations that
only Amazon Transcribe rejects are accepted with 200 and then reported asynchronously as a
``failed`` TranscriptionStatus carrying Transcribe's BadRequestException text (reference §2.1, H).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from parley.errors import bad_request
from parley.meetings.configuration import EngineSettings, names

TRANSCRIBE_REGIONS = frozenset(
    {
        "us-east-2", "us-east-1", "us-west-2", "ap-northeast-2", "ap-southeast-2", "ap-northeast-1",
        "ca-central-1", "eu-central-1", "eu-west-1", "eu-west-2", "sa-east-1", "us-gov-west-1",
    }
)  # fmt: skip
TRANSCRIBE_MEDICAL_REGIONS = frozenset(
    {"us-east-1", "us-east-2", "us-west-2", "ap-southeast-2", "ca-central-1", "eu-west-1"}
)

# "auto" mapping from the Chime developer guide (transcription-options.md) for regions without Transcribe.
_AUTO_REGION = {
    "us-west-1": "us-west-2",
    "ap-south-1": "eu-west-2",
    "ap-southeast-1": "ap-northeast-1",
    "eu-west-3": "eu-central-1",
    "eu-north-1": "eu-central-1",
    "eu-south-1": "eu-central-1",
    "af-south-1": "eu-west-2",
    "us-gov-east-1": "us-gov-west-1",
}
# Medical "auto": parley's own nearest-region choice (the guide's medical table is not in the reference).
_AUTO_MEDICAL_REGION = {
    "us-west-1": "us-west-2",
    "us-gov-east-1": "us-east-1",
    "us-gov-west-1": "us-west-2",
    "sa-east-1": "us-east-1",
    "af-south-1": "eu-west-1",
}

PII_ENTITY_TYPES = frozenset(
    {
        "ADDRESS", "BANK_ACCOUNT_NUMBER", "BANK_ROUTING", "CREDIT_DEBIT_CVV", "CREDIT_DEBIT_EXPIRY",
        "CREDIT_DEBIT_NUMBER", "EMAIL", "NAME", "PHONE", "PIN", "SSN", "ALL",
    }
)  # fmt: skip
PII_LANGUAGES = frozenset({"en-US", "en-GB", "en-AU"})
TRANSCRIBE_LANGUAGES = frozenset(
    {
        "en-US", "en-GB", "es-US", "fr-CA", "fr-FR", "en-AU", "it-IT", "de-DE", "pt-BR", "ja-JP",
        "ko-KR", "zh-CN", "th-TH", "hi-IN",
    }
)  # fmt: skip


def check_engines(config: dict[str, Any]) -> None:
    """Exactly one engine, synchronously (decision D4 in docs/decisions.md)."""
    engines = [
        k
        for k in ("EngineTranscribeSettings", "EngineTranscribeMedicalSettings")
        if config.get(k) is not None
    ]
    if len(engines) != 1:
        raise bad_request(
            "TranscriptionConfiguration must contain exactly one of EngineTranscribeSettings or "
            "EngineTranscribeMedicalSettings"
        )


def transcription_region(e: EngineSettings, media_region: str) -> tuple[str | None, str | None]:
    """(region, failure message): where the transcription would run, as Chime chooses it."""
    medical = e.medical
    available = TRANSCRIBE_MEDICAL_REGIONS if medical else TRANSCRIBE_REGIONS
    requested = e.region
    if requested and requested != "auto":
        return requested, None
    if requested == "auto":
        table = _AUTO_MEDICAL_REGION if medical else _AUTO_REGION
        region = media_region if media_region in available else table.get(media_region)
        if region is None:
            region = _nearest_by_prefix(media_region, available)
        return region, None
    if media_region in available:
        return media_region, None
    engine = "Amazon Transcribe Medical" if medical else "Amazon Transcribe"
    return None, f"{engine} is not available in the meeting's media region {media_region}; set Region"


def _nearest_by_prefix(media_region: str, available: frozenset[str]) -> str:
    prefix = media_region.split("-")[0]
    same_area = sorted(r for r in available if r.startswith(prefix + "-"))
    return same_area[0] if same_area else "us-east-1"


def transcribe_failure(
    e: EngineSettings,
    *,
    vocabulary_exists: Callable[[str], bool] = lambda _name: False,
    vocabulary_filter_exists: Callable[[str], bool] = lambda _name: False,
) -> str | None:
    """The BadRequestException message Amazon Transcribe would return for this configuration, or None.

    ``vocabulary_exists``/``vocabulary_filter_exists`` look names up in parley's Transcribe vocabulary
    store; until that API exists no name resolves, exactly as an account with no vocabularies.
    """
    if e.medical:
        # Every other medical field is an enum the model already validated.
        name = e.vocabulary_name
        if name and not vocabulary_exists(name):
            return (
                f"The requested medical vocabulary {name} couldn't be found. Check the vocabulary name and "
                "try your request again."
            )
        return None
    identify, language, options = e.identify_language, e.language_code, e.language_options
    if e.content_identification and e.content_redaction:
        return (
            "You can't set both ContentIdentificationType and ContentRedactionType. Choose one and try again."
        )
    if e.pii_entity_types and not (e.content_identification or e.content_redaction):
        return "PiiEntityTypes requires ContentIdentificationType or ContentRedactionType. Add one and try again."
    bad_types = [t for t in names(e.pii_entity_types) if t not in PII_ENTITY_TYPES]
    if bad_types:
        return f"Invalid PiiEntityTypes value(s): {', '.join(bad_types)}."
    if identify and language:
        return "You can't set both LanguageCode and IdentifyLanguage. Choose one and try again."
    if not identify and not language:
        return "You must set either LanguageCode or IdentifyLanguage."
    if options and not identify:
        return "LanguageOptions requires IdentifyLanguage. Set IdentifyLanguage to true and try again."
    if e.preferred_language and not identify:
        return "PreferredLanguage requires IdentifyLanguage and LanguageOptions."
    if identify:
        if len(options) < 2:
            return "To use language identification, you must provide at least two language options in LanguageOptions."
        unknown = [o for o in options if o not in TRANSCRIBE_LANGUAGES]
        if unknown:
            return f"The language option(s) {', '.join(unknown)} aren't supported for streaming language identification."
        bases = [o.split("-")[0] for o in options]
        if len(set(bases)) != len(bases):
            return "LanguageOptions can include only one dialect per language."
        if e.preferred_language and e.preferred_language not in options:
            return "PreferredLanguage must be one of the languages in LanguageOptions."
        if e.language_model_name:
            return "Language identification can't be combined with a custom language model."
        if e.content_redaction:
            return "Language identification can't be combined with content redaction."
        if e.vocabulary_name or e.vocabulary_filter_name:
            return (
                "With IdentifyLanguage use VocabularyNames and VocabularyFilterNames instead of "
                "VocabularyName and VocabularyFilterName."
            )
    elif e.vocabulary_names or e.vocabulary_filter_names:
        return "VocabularyNames and VocabularyFilterNames can only be used with IdentifyLanguage."
    if e.stability and not e.stabilization:
        return "PartialResultsStability requires EnablePartialResultsStabilization to be true."
    if e.vocabulary_filter_method and not e.vocabulary_filters:
        return "VocabularyFilterMethod requires a vocabulary filter name."
    pii = e.content_identification or e.content_redaction
    if pii and language and language not in PII_LANGUAGES:
        return f"PII identification and redaction aren't supported for language {language}."
    if e.language_model_name:
        return (
            f"The requested language model {e.language_model_name} couldn't be found. "
            "Check the language model name and try your request again."
        )
    for name in e.vocabularies:
        if not vocabulary_exists(name):
            return (
                f"The requested vocabulary {name} couldn't be found. Check the vocabulary name and try your "
                "request again."
            )
    for name in e.vocabulary_filters:
        if not vocabulary_filter_exists(name):
            return (
                f"The requested vocabulary filter {name} couldn't be found. Check the vocabulary filter name "
                "and try your request again."
            )
    return None
