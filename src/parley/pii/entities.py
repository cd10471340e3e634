"""Presidio's entity names and the types parley reports for them (kept apart so nothing here imports Presidio)."""

from __future__ import annotations

#: Presidio entity name → the internal type (Transcribe's PII type, or a PHI label from ``settings.PHI_TYPES``).
TYPE_OF: dict[str, str] = {
    "PERSON": "NAME",
    "LOCATION": "ADDRESS",
    "STREET_ADDRESS": "ADDRESS",
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CREDIT_DEBIT_NUMBER",
    "US_SSN": "SSN",
    "ABA_ROUTING_NUMBER": "BANK_ROUTING",
    "BANK_ACCOUNT_NUMBER": "BANK_ACCOUNT_NUMBER",
    "CREDIT_DEBIT_CVV": "CREDIT_DEBIT_CVV",
    "CREDIT_DEBIT_EXPIRY": "CREDIT_DEBIT_EXPIRY",
    "PIN": "PIN",
    "DATE": "DATE",
    "AGE": "AGE",
    "ID": "ID",
}


def presidio_entities(types: frozenset[str]) -> list[str]:
    """The Presidio entity names that produce the given internal types."""
    return sorted(name for name, kind in TYPE_OF.items() if kind in types)
