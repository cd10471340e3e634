"""Spoken form → written form for PII detection, with a map from every character back to its word item.

Why: recognizers write what they hear. Whisper often emits "four one one one ..." or "two oh six", and spells
addresses out as "john dot smith at example dot com"; pattern recognizers (cards, phones, e-mail) only see
the written forms. No library turns spoken forms into written ones *and* reports which input token each
output character came from (inverse text normalization tools rewrite the string and lose the alignment), so
this module does the small part PII detection needs by hand:

- number words become digits: "zero"/"oh"/"o" (next to another number), "one".."nine", "ten".."nineteen",
  "twenty".."ninety" (+ a unit: "twenty five" → 25), "hundred" → 00, "thousand" → 000, "double"/"triple";
  numerals keep only their digits ("206-555-010-0", "2.0.6"); consecutive numbers, spoken or written and
  with at most a comma, dash or dot between them, are written as one digit run ("two oh six" → 206,
  "206, 555, 0100" → 2065550100, "4 8 2 9" → 4829), because Whisper groups read-out digits
  unpredictably; a day before a year stays apart ("March 3, 1978");
- "<local> at <domain> dot <tld>" (with "dot" also in the local part) becomes one address;
- punctuation items attach to the previous word, as in the transcript.

The result is a detection text and, for each of its characters, the index of the token that produced it
(-1 for the spaces put between tokens), so a detected character span maps back to whole word items.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_UNITS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_ZEROS = {"oh", "o"}  # zero only next to another number ("oh I see" stays)
_TEENS = {
    "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
    "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
}  # fmt: skip
_TENS = {
    "twenty": "2", "thirty": "3", "forty": "4", "fifty": "5",
    "sixty": "6", "seventy": "7", "eighty": "8", "ninety": "9",
}  # fmt: skip
_SCALES = {"hundred": "00", "thousand": "000"}
_REPEATS = {"double": 2, "triple": 3}


@dataclass(frozen=True)
class Token:
    """One transcript item as the normalizer sees it."""

    text: str
    punctuation: bool = False


@dataclass(frozen=True)
class DetectionText:
    """The text detectors run on, and the token each character came from (-1: a separator)."""

    text: str
    owners: tuple[int, ...]

    def token_span(self, start: int, end: int) -> tuple[int, int] | None:
        """First and last token index covered by characters ``[start, end)`` (None if only separators)."""
        owned = [o for o in self.owners[start:end] if o >= 0]
        if not owned:
            return None
        return min(owned), max(owned)


def _key(text: str) -> str:
    return text.casefold().strip()


_NUMERAL = re.compile(r"\d+(?:[-.,]\d+)*")
_YEAR = re.compile(r"(?:19|20)\d\d")
_JOINERS = {",", "-", "."}  # what a recognizer puts between the groups of a number read out


def _is_numeral(text: str) -> bool:
    return _NUMERAL.fullmatch(text) is not None


def _is_number_word(key: str) -> bool:
    return key in _UNITS or key in _TEENS or key in _TENS or key in _SCALES or key in _REPEATS


def _spoken_numbers(tokens: Sequence[Token]) -> dict[int, list[tuple[str, int]]]:
    """For tokens that are spoken numbers: the characters they become, each with its owning token."""
    keys = [_key(t.text) if not t.punctuation else "" for t in tokens]

    def numberish(i: int) -> bool:
        return 0 <= i < len(keys) and (
            _is_number_word(keys[i]) or keys[i] in _ZEROS or _is_numeral(tokens[i].text)
        )

    out: dict[int, list[tuple[str, int]]] = {}
    i = 0
    while i < len(tokens):
        key = keys[i]
        if key in _UNITS or (key in _ZEROS and (numberish(i - 1) or numberish(i + 1))):
            out[i] = [(_UNITS.get(key, "0"), i)]
        elif _is_numeral(key):  # "206-555-010-0", "2.0.6": only the digits count
            out[i] = [(ch, i) for ch in key if ch.isdigit()]
        elif key in _TEENS:
            out[i] = [(ch, i) for ch in _TEENS[key]]
        elif key in _TENS:
            if i + 1 < len(tokens) and keys[i + 1] in _UNITS and keys[i + 1] != "zero":
                out[i] = [(_TENS[key], i)]
                out[i + 1] = [(_UNITS[keys[i + 1]], i + 1)]
                i += 2
                continue
            out[i] = [(_TENS[key], i), ("0", i)]
        elif key in _SCALES and i > 0 and (i - 1) in out:
            out[i] = [(ch, i) for ch in _SCALES[key]]
        elif key in _REPEATS and i + 1 < len(tokens) and (keys[i + 1] in _UNITS or keys[i + 1] in _ZEROS):
            digit = _UNITS.get(keys[i + 1], "0")
            out[i] = [(digit, i)] * (_REPEATS[key] - 1)
            out[i + 1] = [(digit, i + 1)]
            i += 2
            continue
        i += 1
    return out


def _is_word(token: Token) -> bool:
    return not token.punctuation and bool(token.text.strip())


def _emails(tokens: Sequence[Token]) -> list[tuple[int, int]]:
    """Inclusive token ranges that spell an e-mail address ("john dot smith at example dot com")."""
    keys = [_key(t.text) for t in tokens]
    ranges: list[tuple[int, int]] = []
    for at, key in enumerate(keys):
        if key != "at" or at == 0 or at + 1 >= len(tokens) or tokens[at].punctuation:
            continue
        if ranges and ranges[-1][1] >= at:
            continue
        # Domain: word (dot word)+, or one word that already has a dot ("example.com").
        end = at + 1
        if not _is_word(tokens[end]) or keys[end] in ("at", "dot"):
            continue
        dotted = "." in keys[end]
        while end + 2 < len(tokens) and keys[end + 1] == "dot" and _is_word(tokens[end + 2]):
            end += 2
            dotted = True
        if not dotted or (end + 1 < len(tokens) and keys[end + 1] == "at"):
            continue  # no dot in the domain, or this "at" sits inside the local part of a later address
        start = at - 1
        if not _is_word(tokens[start]) or keys[start] in ("at", "dot"):
            continue
        while start - 2 >= 0 and keys[start - 1] == "dot" and _is_word(tokens[start - 2]):
            start -= 2
        ranges.append((start, end))
    return ranges


def normalize(tokens: Sequence[Token]) -> DetectionText:
    """The detection text of ``tokens`` with its character → token map."""
    numbers = _spoken_numbers(tokens)
    email_of: dict[int, tuple[int, int]] = {}
    for start, end in _emails(tokens):
        for i in range(start, end + 1):
            email_of[i] = (start, end)

    def joined(a: int, b: int) -> bool:
        """Numbers ``a`` < ``b``, adjacent or with one joiner between, read as one number.

        A day before a year stays apart ("March 3, 1978")."""
        if a not in numbers or b not in numbers:
            return False
        if not (b == a + 1 or (b == a + 2 and tokens[a + 1].punctuation and tokens[a + 1].text in _JOINERS)):
            return False
        left, right = tokens[a].text, tokens[b].text
        return not (_is_numeral(right) and _YEAR.fullmatch(right) and len(left) <= 2)

    chars: list[str] = []
    owners: list[int] = []
    previous: int | None = None  # index of the last token written
    for i, token in enumerate(tokens):
        if token.punctuation and 0 < i < len(tokens) - 1 and joined(i - 1, i + 1):
            continue  # "206, 555, 0100": the commas between groups are not written
        if token.punctuation:
            piece = [(token.text, i)]
        elif i in numbers:
            piece = numbers[i]
        elif i in email_of:
            key = _key(token.text)
            piece = [({"at": "@", "dot": "."}.get(key, token.text), i)]
        else:
            piece = [(token.text, i)]
        if not piece:
            continue
        glued = token.punctuation or (
            previous is not None
            and (joined(previous, i) or (i in email_of and email_of.get(previous) == email_of[i]))
        )
        if chars and not glued:
            chars.append(" ")
            owners.append(-1)
        for text, owner in piece:
            for ch in text:
                chars.append(ch)
                owners.append(owner)
        previous = i
    return DetectionText("".join(chars), tuple(owners))
