"""Which PII/PHI work a transcription asks for, as a small JSON-compatible snapshot.

StartMeetingTranscription stores the snapshot in ``TranscriptionState.extra["pii"]`` (see ``meetings/service.py``),
so it travels over the bus with the state and every node applies the same settings without re-reading the
request. Parsing lives here, away from the detector, so the control plane never imports Presidio or spaCy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from parley.meetings.configuration import EngineSettings, names

Mode: TypeAlias = Literal["identify", "redact"]
Category: TypeAlias = Literal["PII", "PHI"]

#: Amazon Transcribe streaming's PII entity types (reference §4), without the ``ALL`` shorthand.
PII_TYPES: tuple[str, ...] = (
    "ADDRESS",
    "BANK_ACCOUNT_NUMBER",
    "BANK_ROUTING",
    "CREDIT_DEBIT_CVV",
    "CREDIT_DEBIT_EXPIRY",
    "CREDIT_DEBIT_NUMBER",
    "EMAIL",
    "NAME",
    "PHONE",
    "PIN",
    "SSN",
)

#: What parley reports as PHI for Transcribe Medical (decision D32 in docs/decisions.md). These are internal
#: labels: medical entities go out with category "PHI" and no type, as Transcribe Medical sends them.
PHI_TYPES: tuple[str, ...] = (
    "NAME",
    "ADDRESS",
    "PHONE",
    "EMAIL",
    "SSN",
    "CREDIT_DEBIT_NUMBER",
    "BANK_ACCOUNT_NUMBER",
    "DATE",
    "AGE",
    "ID",
)

#: Languages Transcribe offers PII identification and redaction for (reference §4).
PII_LANGUAGES = frozenset({"en-US", "en-GB", "en-AU"})


@dataclass(frozen=True)
class PiiSettings:
    """What to do to final results: identify (add entities) or redact (replace spans), for which types."""

    mode: Mode
    category: Category
    types: frozenset[str]
    language_code: str | None  # the stream's fixed language; None with language identification

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "category": self.category,
            "types": sorted(self.types),
            "language_code": self.language_code,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PiiSettings:
        return cls(
            mode=data["mode"],
            category=data["category"],
            types=frozenset(data["types"]),
            language_code=data.get("language_code"),
        )

    def applies_to(self, language_code: str | None) -> bool:
        """PII works on English results only; with language identification, on those identified as English."""
        language = language_code or self.language_code
        if self.category == "PHI":
            return True  # Transcribe Medical is en-US only
        return language is None or language in PII_LANGUAGES


def entity_types(value: str | None) -> frozenset[str]:
    """``PiiEntityTypes`` ("NAME, PHONE" — spaces allowed; absent or ``ALL`` means every type)."""
    given = set(names(value))
    if not given or "ALL" in given:
        return frozenset(PII_TYPES)
    return frozenset(given & set(PII_TYPES))


def pii_settings(e: EngineSettings) -> PiiSettings | None:
    """The PII/PHI settings of a (Transcribe-valid) TranscriptionConfiguration, or None if it asks for none.

    Invalid combinations (identification with redaction, PiiEntityTypes alone) never get here: the meetings
    service fails them first with Transcribe's message (``meetings/transcription.py``).
    """
    if e.medical:
        if e.content_identification == "PHI":
            return PiiSettings("identify", "PHI", frozenset(PHI_TYPES), e.language_code or "en-US")
        return None
    if e.content_redaction == "PII":
        return PiiSettings("redact", "PII", entity_types(e.pii_entity_types), e.language_code)
    if e.content_identification == "PII":
        return PiiSettings("identify", "PII", entity_types(e.pii_entity_types), e.language_code)
    return None
