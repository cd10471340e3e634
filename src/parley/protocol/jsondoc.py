"""Decoding JSON that came from outside: the one function every surface uses for it.

``json.loads`` alone accepts documents the rest of the server cannot handle, and each became a 500 when the
suite's fuzzers found it: nesting deep enough to exhaust the recursion limit, integers with thousands of digits
(Python refuses to convert them), ``NaN``/``Infinity`` and ``1e999`` (not JSON numbers any store or client
accepts), and strings holding lone UTF-16 surrogates (``"\\ud800"``: valid JSON escapes, but no UTF-8 encoding
exists, so the database and the response encoder fail on them). Each is refused here as a client error, with a
message saying which rule was broken; callers map :class:`JsonInputError` to their surface's own error.

The limits are far above anything a well-formed request of the modeled APIs needs (their deepest shape nests
six levels; their largest integer is a count) and low enough that checking them costs nothing.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32
MAX_INTEGER_DIGITS = 20  # beyond any 64-bit value
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonInputError(ValueError):
    """The document is not JSON this server accepts; the message says why (safe to send to the client)."""


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise JsonInputError(f"a number has more than {MAX_INTEGER_DIGITS} digits")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonInputError("a number is out of range")
    return value


def _constant(name: str) -> Any:
    raise JsonInputError(f"{name} is not a JSON number")


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``data`` (UTF-8 bytes or text) or raise :class:`JsonInputError`."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonInputError(f"the body is not UTF-8 (byte {exc.start})") from None
    else:
        text = data
    try:
        document = json.loads(text, parse_int=_integer, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise JsonInputError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise JsonInputError(f"JSON nested more than {max_depth} levels deep") from None
    _check(document, max_depth)
    return document


def _check(document: Any, max_depth: int) -> None:
    """Depth and strings, iteratively (a recursive walk is what deep documents exploit)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise JsonInputError("a string holds a lone UTF-16 surrogate (not a Unicode character)")
        elif isinstance(value, dict | list):
            if depth > max_depth:
                raise JsonInputError(f"JSON nested more than {max_depth} levels deep")
            if isinstance(value, dict):
                stack.extend((key, depth) for key in value)
                stack.extend((item, depth + 1) for item in value.values())
            else:
                stack.extend((item, depth + 1) for item in value)
