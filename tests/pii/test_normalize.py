"""The spoken-form normalizer: what detectors see, and how each character maps back to its item."""

from __future__ import annotations

import pytest

from parley.pii.normalize import DetectionText, Token, normalize


def tokens(text: str) -> list[Token]:
    out: list[Token] = []
    for word in text.split():
        core = word.rstrip(",.?!")
        out.append(Token(core))
        out.extend(Token(ch, punctuation=True) for ch in word[len(core) :])
    return out


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("four one one one one one one one one one one one one one one one", "4111111111111111"),
        ("two oh six five five five oh one oh oh", "2065550100"),
        ("call two oh six five five five oh one hundred now", "call 2065550100 now"),
        ("nineteen eighty four", "1984"),
        ("twenty five and twenty", "25 and 20"),
        ("double five triple oh", "55000"),
        ("my pin is 4 8 2 9.", "my pin is 4829."),
        ("206 555 0100", "2065550100"),
        ("206, 555, 010, 0, then", "2065550100, then"),
        ("206-555-010-0 and 4532-7598-3312-0041.", "2065550100 and 4532759833120041."),
        ("5234, 5678, 9, 0, 1, 2, 3, 4, 5, 3", "5234567890123453"),
        ("2.0.6.", "206."),
        ("born March 3, 1978", "born March 3, 1978"),
        ("we sold $4,111 in 3 days", "we sold $4,111 in 3 days"),
        ("oh I see, it is fine", "oh I see, it is fine"),
        ("zero", "0"),
        ("john dot smith at example dot com", "john.smith@example.com"),
        ("mail me at john.smith at example.com", "mail me at john.smith@example.com"),
        ("Email me at john dot smith at example dot com.", "Email me at john.smith@example.com."),
        ("we met at the park dot com", "we met at the park dot com"),
    ],
)
def test_written_forms(spoken: str, written: str) -> None:
    assert normalize(tokens(spoken)).text == written


def test_every_character_maps_back_to_its_token() -> None:
    toks = tokens("card four one, 206 and bob dot lee at mail dot org.")
    detection = normalize(toks)
    assert detection.text == "card 41206 and bob.lee@mail.org."
    assert len(detection.owners) == len(detection.text)
    # "4" came from "four" (token 1), "1" from "one" (2); the comma (3) is dropped; "206" is token 4
    assert detection.owners[5:10] == (1, 2, 4, 4, 4)
    assert detection.owners[4] == -1  # the separator after "card"
    start = detection.text.index("bob")
    end = detection.text.index("org") + 3
    assert detection.token_span(start, end) == (6, 12)
    assert [toks[i].text for i in range(6, 13)] == ["bob", "dot", "lee", "at", "mail", "dot", "org"]


def test_a_span_of_separators_maps_to_nothing() -> None:
    detection = DetectionText("a b", (0, -1, 1))
    assert detection.token_span(1, 2) is None
    assert detection.token_span(0, 3) == (0, 1)
