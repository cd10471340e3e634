"""Hypothesis strategies for hostile input, driven by the botocore service models.

``params_for(shape)`` draws request parameters for an operation's input shape: members present or missing,
values inside and outside the modeled constraints (lengths, ranges, patterns, enums), unknown members, and
hostile text (control characters, NUL, right-to-left marks, astral characters, very long strings). Types match the
model, so botocore's own serializer can put them on the wire exactly as an AWS SDK would; ``json_values`` then
supplies the wrong-typed, deeply nested, huge-number and lone-surrogate documents that no SDK would send.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from botocore.model import Shape
from hypothesis import strategies as st

HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=400),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\x00b",
            "\u202eevil",
            "\ufeff",
            "😀" * 70,
            "../../etc/passwd",
            "%00%ff",
            "aws:reserved",
            "x" * 5000,
            "\r\nX-Injected: 1",
            "🏳️‍🌈" * 20,
            "\u0301" * 50,
        ]
    ),
)

HUGE_INTS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**31, 2**63, -(2**63) - 1, 10**19]),
)


def _string(shape: Shape) -> st.SearchStrategy[str]:
    options: list[st.SearchStrategy[str]] = [HOSTILE_TEXT]
    enum = shape.metadata.get("enum")
    if enum:
        options.append(st.sampled_from(enum))
    pattern = shape.metadata.get("pattern")
    if pattern:
        # a Java-flavoured pattern Python's re cannot compile is left to the hostile text
        with contextlib.suppress(Exception):
            options.append(st.from_regex(pattern, fullmatch=True).filter(lambda s: len(s) < 2000))
    return st.one_of(*options)


def params_for(shape: Shape | None, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values of ``shape``'s type, constraints ignored on purpose (the server must enforce them)."""
    if shape is None:
        return st.just({})
    kind = shape.type_name
    if kind == "structure":
        members = {
            name: params_for(member, depth + 1)
            for name, member in shape.members.items()
            if depth < 6 and not member.serialization.get("eventstream")
        }
        return st.fixed_dictionaries({}, optional=members)
    if kind == "list":
        return st.lists(params_for(shape.member, depth + 1), max_size=3 if depth > 2 else 25)  # type: ignore[attr-defined]
    if kind == "map":
        return st.dictionaries(
            _string(shape.key),  # type: ignore[attr-defined]
            params_for(shape.value, depth + 1),  # type: ignore[attr-defined]
            max_size=4,
        )
    if kind == "string":
        return _string(shape)
    if kind in ("integer", "long"):
        return HUGE_INTS
    if kind in ("float", "double"):
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.datetimes(
            min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(2200, 1, 1), timezones=st.just(dt.UTC)
        )
    if kind == "blob":
        return st.binary(max_size=64)
    return st.none()


def json_values(max_leaves: int = 20) -> st.SearchStrategy[Any]:
    """Any JSON value, mostly of the wrong type for where it is put."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        HUGE_INTS,
        st.floats(allow_nan=False, allow_infinity=False),
        HOSTILE_TEXT,
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(HOSTILE_TEXT, children, max_size=4)
        ),
        max_leaves=max_leaves,
    )


#: raw JSON texts that Python's json module accepts but a server must refuse cleanly
HOSTILE_JSON_TEXTS = st.one_of(
    st.integers(min_value=30, max_value=200_000).map(lambda n: "[" * n + "]" * n),
    st.integers(min_value=30, max_value=50_000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.integers(min_value=21, max_value=10_000).map(lambda n: "9" * n),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", '"\\ud800"', '"\\udfff\\ud800"']),
    st.sampled_from(['{"a": 1', "{", "[", '"', "nul", "\x00", "{}}", "", " "]),
)
