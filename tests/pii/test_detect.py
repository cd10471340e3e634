"""Each Transcribe PII type, written as Whisper writes it and spoken digit by digit."""

from __future__ import annotations

import pytest

from harness.pii_results import result_of
from parley.pii.apply import apply_pii
from parley.pii.detector import Detector, Finding, resolve
from parley.pii.settings import PHI_TYPES, PII_TYPES, PiiSettings

IDENTIFY = PiiSettings("identify", "PII", frozenset(PII_TYPES), "en-US")


def found(detector: Detector, text: str, settings: PiiSettings = IDENTIFY) -> list[tuple[str | None, str]]:
    alt = apply_pii(result_of(text), settings, detector).alternatives[0]
    return [(e.type, e.content) for e in alt.entities]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My name is John Smith.", [("NAME", "John Smith")]),
        (
            "I live at 100 Main Street, Seattle, Washington.",
            [("ADDRESS", "100 Main Street, Seattle, Washington")],
        ),
        ("Write to john.smith@example.com please.", [("EMAIL", "john.smith@example.com")]),
        (
            "Write to john dot smith at example dot com please.",
            [("EMAIL", "john dot smith at example dot com")],
        ),
        ("Call me on 206-555-0100.", [("PHONE", "206-555-0100")]),
        (
            "My phone number is two oh six five five five oh one oh oh.",
            [("PHONE", "two oh six five five five oh one oh oh")],
        ),
        ("The card number is 4111 1111 1111 1111.", [("CREDIT_DEBIT_NUMBER", "4111 1111 1111 1111")]),
        (
            "The card number is four one one one one one one one one one one one one one one one.",
            [("CREDIT_DEBIT_NUMBER", "four one one one one one one one one one one one one one one one")],
        ),
        ("The CVV is 737.", [("CREDIT_DEBIT_CVV", "737")]),
        ("The security code is seven three seven.", [("CREDIT_DEBIT_CVV", "seven three seven")]),
        ("It expires 05/27.", [("CREDIT_DEBIT_EXPIRY", "05/27")]),
        ("The expiration date is oh five twenty seven.", [("CREDIT_DEBIT_EXPIRY", "oh five twenty seven")]),
        ("My PIN is 4829.", [("PIN", "4829")]),
        ("My pin is four eight two nine.", [("PIN", "four eight two nine")]),
        ("My social security number is 219-09-9998.", [("SSN", "219-09-9998")]),
        (
            "My social security number is two one nine oh nine nine nine nine eight.",
            [("SSN", "two one nine oh nine nine nine nine eight")],
        ),
        ("My checking account number is 12345678901.", [("BANK_ACCOUNT_NUMBER", "12345678901")]),
        ("The routing number is 111000025.", [("BANK_ROUTING", "111000025")]),
    ],
)
def test_each_type(detector: Detector, text: str, expected: list[tuple[str, str]]) -> None:
    assert found(detector, text) == expected


def test_a_card_number_that_fails_luhn_is_not_a_card(detector: Detector) -> None:
    assert ("CREDIT_DEBIT_NUMBER", "4111 1111 1111 1112") not in found(
        detector, "The card is 4111 1111 1111 1112."
    )


def test_digits_without_context_are_not_pins_or_cvvs(detector: Detector) -> None:
    assert found(detector, "We sold 4829 units and 737 licences this quarter.") == []


def test_ordinary_meeting_talk_has_no_pii(detector: Detector) -> None:
    assert found(detector, "The quarterly budget review is scheduled for Thursday afternoon.") == []


def test_phi_covers_names_dates_ages_and_record_numbers(detector: Detector) -> None:
    phi = PiiSettings("identify", "PHI", frozenset(PHI_TYPES), "en-US")
    text = (
        "The patient Maria Lopez, 45 years old, was born on March third 1978, medical record number 8812345."
    )
    alt = apply_pii(result_of(text), phi, detector).alternatives[0]
    assert [e.content for e in alt.entities] == ["Maria Lopez", "45 years old", "March third 1978", "8812345"]
    assert {e.category for e in alt.entities} == {"PHI"}
    assert {e.type for e in alt.entities} == {None}  # Transcribe Medical entities have no type


def test_resolve_joins_one_address_and_keeps_the_stronger_overlap() -> None:
    text = "at 100 Main Street, Seattle now 4111111111111111"
    street = Finding(3, 18, "ADDRESS", 0.7)
    spacy_street = Finding(7, 18, "ADDRESS", 0.85)
    city = Finding(20, 27, "ADDRESS", 0.85)
    card = Finding(32, 48, "CREDIT_DEBIT_NUMBER", 1.0)
    account = Finding(32, 48, "BANK_ACCOUNT_NUMBER", 0.4)
    assert resolve(text, [city, account, street, card, spacy_street]) == [
        Finding(3, 27, "ADDRESS", 0.85),
        card,
    ]
