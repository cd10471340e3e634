"""The Presidio recognizers parley runs, and how their entity names map onto Transcribe's types.

Presidio's own recognizers cover what they fit (e-mail, phone, card number with Luhn, SSN, ABA routing with
its checksum; spaCy names and places). Transcribe types Presidio lacks (CVV, expiry, PIN, bank account,
street addresses) and the extra PHI kinds (dates, ages, record numbers) are ``PatternRecognizer``s here.
Most of those patterns are just digit runs, so they score 0.05 and reach the detector's 0.4 threshold
only when a context word ("cvv", "pin", "expire", ...) is among the preceding words: the context decides
which of several digit types a number is.
"""

from __future__ import annotations

from typing import Any

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import (
    AbaRoutingRecognizer,
    CreditCardRecognizer,
    EmailRecognizer,
    PhoneRecognizer,
    SpacyRecognizer,
    UsSsnRecognizer,
)

_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_ORDINALS = (
    r"(?:\d{1,2}(?:st|nd|rd|th)?|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|"
    r"eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|"
    r"twentieth|twenty[- ](?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|thirtieth|"
    r"thirty[- ]first)"
)
_STREET_KINDS = (
    r"(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way|court|ct|place|pl|terrace|"
    r"parkway|pkwy|highway|hwy|circle|square|crescent|close)"
)


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recognizer, validating the domain against tldextract's bundled suffix list.

    The stock recognizer calls ``tldextract.extract``, whose default extractor downloads the public suffix
    list on first use; parley must never reach the network at run time.
    """

    def __init__(self) -> None:
        import tldextract

        super().__init__()
        self._extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    def validate_result(self, pattern_text: str) -> bool:
        return self._extract(pattern_text).fqdn != ""


class ContextualAbaRecognizer(AbaRoutingRecognizer):
    """ABA routing numbers whose checksum holds still need a context word ("routing", "ABA").

    Presidio scores any checksum-valid nine-digit run 1.0, and one in ten random nine-digit runs passes the
    checksum; spoken SSNs and account numbers would be reported as routing numbers.
    """

    def validate_result(self, pattern_text: str) -> bool | None:  # type: ignore[override]
        return None if super().validate_result(pattern_text) else False


def _pattern(entity: str, patterns: list[tuple[str, str, float]], context: list[str]) -> PatternRecognizer:
    return PatternRecognizer(
        supported_entity=entity,
        name=f"parley-{entity.lower()}",
        patterns=[Pattern(name, regex, score) for name, regex, score in patterns],
        context=context,
    )


def recognizers() -> list[EntityRecognizer]:
    """A fresh set of every recognizer (PII and PHI); the detector asks each analysis for the types it wants."""
    return [
        SpacyRecognizer(supported_entities=["PERSON", "LOCATION"]),
        OfflineEmailRecognizer(),
        # "number" is left out of the phone context: "account number" must not make a phone number.
        PhoneRecognizer(
            context=["phone", "telephone", "cell", "cellphone", "mobile", "call", "reach", "text", "fax"],
            supported_regions=("US", "GB", "AU"),
        ),
        # A long digit run right after "phone"/"call" is a phone number even when the recognizer mangled it
        # into one phonenumbers rejects (a digit too many or too few).
        _pattern(
            "PHONE_NUMBER",
            [("phone digits", r"\b\d{7,15}\b", 0.05)],
            ["phone", "telephone", "cell", "cellphone", "mobile", "call", "reach", "fax"],
        ),
        CreditCardRecognizer(),
        UsSsnRecognizer(context=["social", "security", "ssn"]),
        # Context words are matched against lemmas, and "routing" at a sentence start lemmatizes to "route".
        ContextualAbaRecognizer(context=["routing", "route", "aba", "transit"]),
        _pattern(
            "STREET_ADDRESS",
            [
                (
                    "street address",
                    rf"\b\d{{1,6}}\s+(?:[a-z]+\s+){{1,3}}{_STREET_KINDS}\b"
                    r"(?:,?\s+(?:apartment|apt|suite|unit)\s+\w+)?",
                    0.7,
                ),
                ("suite", r"\b(?:apartment|apt|suite|unit)\s+#?\d+\w?\b", 0.05),
            ],
            ["live", "address", "located", "at", "building", "move", "ship", "deliver"],
        ),
        _pattern(
            "BANK_ACCOUNT_NUMBER",
            [("account digits", r"\b\d{6,17}\b", 0.05)],
            ["account", "acct", "checking", "savings"],
        ),
        _pattern(
            "CREDIT_DEBIT_CVV",
            [("cvv digits", r"\b\d{3,4}\b", 0.05)],
            ["cvv", "cvc", "cvv2", "cid", "csc", "security"],
        ),
        _pattern(
            "CREDIT_DEBIT_EXPIRY",
            [
                ("mm/yy", r"\b(?:0?[1-9]|1[0-2])\s?[/-]\s?(?:20)?\d{2}\b", 0.05),
                ("mmyy spoken", r"\b(?:0[1-9]|1[0-2])(?:20)?[2-4]\d\b", 0.05),
                ("month year", rf"\b{_MONTHS}\s+(?:of\s+)?(?:20\d{{2}}|\d{{2}})\b", 0.05),
            ],
            ["expire", "expiry", "expiration", "exp", "valid", "thru", "through", "until"],
        ),
        _pattern("PIN", [("pin digits", r"\b\d{4,8}\b", 0.05)], ["pin", "passcode"]),
        _pattern(
            "DATE",
            [
                ("month day", rf"\b{_MONTHS}\s+(?:the\s+)?{_ORDINALS}(?:,?\s+\d{{4}})?\b", 0.6),
                ("day month", rf"\b(?:the\s+)?{_ORDINALS}\s+(?:of\s+)?{_MONTHS}(?:,?\s+\d{{4}})?\b", 0.6),
                ("numeric", r"\b\d{1,2}/\d{1,2}/\d{2,4}\b", 0.6),
            ],
            ["born", "birth", "admitted", "discharged", "date", "dob"],
        ),
        _pattern(
            "AGE",
            [
                ("years old", r"\b\d{1,3}[- ]years?[- ]old\b", 0.6),
                ("age digits", r"\b\d{1,3}\b", 0.05),
            ],
            ["age", "aged"],
        ),
        _pattern(
            "ID",
            [("record digits", r"\b[a-z]{0,3}\d{5,12}\b", 0.05)],
            ["record", "mrn", "member", "policy", "insurance", "patient", "id", "identification", "license"],
        ),
    ]


def settings_kwargs() -> dict[str, Any]:
    """Context matching used by the analyzer: whole lemmas (so "pin" does not match "spin"), 6 words back."""
    return {"context_matching_mode": "whole_word", "context_prefix_count": 6, "context_suffix_count": 1}
