"""Identification and redaction on Chime results: entities, items, transcript text and times."""

from __future__ import annotations

import dataclasses

from harness.pii_results import result_of, word_end, word_start
from parley.pii.apply import apply_pii, text_of, withheld
from parley.pii.detector import Detector, Finding
from parley.pii.settings import PII_TYPES, PiiSettings

TEXT = "My name is John Smith, my phone number is 206 555 0100."
ALL = frozenset(PII_TYPES)


class FakeFinder:
    """Finds fixed substrings of the detection text (no model), to pin the mapping exactly."""

    def __init__(self, *spans: tuple[str, str]) -> None:
        self.spans = spans

    def find(self, text: str, types: frozenset[str]) -> list[Finding]:
        out = []
        for needle, kind in self.spans:
            if kind in types and needle in text:
                start = text.index(needle)
                out.append(Finding(start, start + len(needle), kind, 0.875))
        return sorted(out, key=lambda f: f.start)


def test_identification_adds_entities_and_leaves_the_text(detector: Detector) -> None:
    original = result_of(TEXT)
    result = apply_pii(original, PiiSettings("identify", "PII", ALL, "en-US"), detector)
    alt = result.alternatives[0]
    assert alt.transcript == TEXT
    assert alt.items == original.alternatives[0].items
    name, phone = alt.entities
    assert (name.category, name.type, name.content) == ("PII", "NAME", "John Smith")
    assert (name.start_time_ms, name.end_time_ms) == (word_start(3), word_end(4))
    assert (phone.type, phone.content) == ("PHONE", "206 555 0100")
    assert (phone.start_time_ms, phone.end_time_ms) == (word_start(9), word_end(11))
    assert 0 < name.confidence <= 1


def test_redaction_replaces_items_text_and_entity_content(detector: Detector) -> None:
    result = apply_pii(result_of(TEXT), PiiSettings("redact", "PII", ALL, "en-US"), detector)
    alt = result.alternatives[0]
    assert alt.transcript == "My name is [NAME], my phone number is [PHONE]."
    assert text_of(alt.items) == alt.transcript
    name = next(i for i in alt.items if i.content == "[NAME]")
    assert (name.type, name.start_time_ms, name.end_time_ms, name.confidence) == (
        "pronunciation",
        word_start(3),
        word_end(4),
        0.0,
    )
    phone = next(i for i in alt.items if i.content == "[PHONE]")
    assert (phone.start_time_ms, phone.end_time_ms) == (word_start(9), word_end(11))
    assert [(e.type, e.content) for e in alt.entities] == [("NAME", "[NAME]"), ("PHONE", "[PHONE]")]
    assert (alt.entities[1].start_time_ms, alt.entities[1].end_time_ms) == (word_start(9), word_end(11))
    assert not any(ch.isdigit() for ch in alt.transcript)


def test_entity_types_select_what_is_touched(detector: Detector) -> None:
    result = apply_pii(result_of(TEXT), PiiSettings("redact", "PII", frozenset({"PHONE"}), "en-US"), detector)
    alt = result.alternatives[0]
    assert alt.transcript == "My name is John Smith, my phone number is [PHONE]."
    assert [e.type for e in alt.entities] == ["PHONE"]


def test_redaction_keeps_punctuation_around_a_span() -> None:
    text = "Hello (Jane Doe), call 555."
    finder = FakeFinder(("Jane Doe", "NAME"))
    alt = apply_pii(result_of(text), PiiSettings("redact", "PII", ALL, "en-US"), finder).alternatives[0]
    assert alt.transcript == "Hello ([NAME]), call 555."
    assert [i.content for i in alt.items] == ["Hello", "(", "[NAME]", ")", ",", "call", "555", "."]


def test_a_transcript_that_does_not_line_up_is_rebuilt_from_items() -> None:
    result = result_of("call Bob now")
    odd = dataclasses.replace(result.alternatives[0], transcript="call  Bobby now")
    result = dataclasses.replace(result, alternatives=(odd,))
    redacted = apply_pii(result, PiiSettings("redact", "PII", ALL, "en-US"), FakeFinder(("Bob", "NAME")))
    assert redacted.alternatives[0].transcript == "call [NAME] now"


def test_partials_are_withheld_under_redaction_and_untouched_otherwise(detector: Detector) -> None:
    partial = result_of(TEXT, partial=True)
    assert withheld(partial, PiiSettings("redact", "PII", ALL, "en-US"))
    assert not withheld(partial, PiiSettings("identify", "PII", ALL, "en-US"))
    assert not withheld(result_of(TEXT), PiiSettings("redact", "PII", ALL, "en-US"))
    assert apply_pii(partial, PiiSettings("identify", "PII", ALL, "en-US"), detector) == partial


def test_results_in_other_languages_pass_unchanged(detector: Detector) -> None:
    german = result_of("Ich heiße John Smith.", language="de-DE")
    assert apply_pii(german, PiiSettings("identify", "PII", ALL, None), detector) == german
