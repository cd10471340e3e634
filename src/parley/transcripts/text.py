"""Text helpers shared by the steps that rewrite transcripts (vocabulary filters, DisplayAs, PII redaction)."""

from __future__ import annotations

import unicodedata


def is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def split_punctuation(token: str) -> tuple[str, str, str]:
    """(leading punctuation, word, trailing punctuation) of one whitespace-separated transcript token."""
    i, j = 0, len(token)
    while i < j and is_punct(token[i]):
        i += 1
    while j > i and is_punct(token[j - 1]):
        j -= 1
    return token[:i], token[i:j], token[j:]
