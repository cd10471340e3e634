"""Server-side validation of every constraint in the service model.

boto3 checks only required members, lengths and types, and not enums or patterns, and other
clients check less, so the server must check everything. Messages follow AWS's
"N validation error(s) detected: Value '...' at 'path' failed to satisfy constraint: ..." style;
values of members marked ``sensitive`` are never echoed back.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _member_path(parent: str, name: str) -> str:
    # AWS reports member paths in lowerCamelCase (e.g. 'attendees.1.member.externalUserId').
    name = name[:1].lower() + name[1:]
    return f"{parent}.{name}" if parent else name


@dataclass
class Violations:
    messages: list[str] = field(default_factory=list)

    def add(self, path: str, value: Any, shape: Shape, constraint: str) -> None:
        if value is None:
            shown = "null"
        elif shape.serialization.get("sensitive") or shape.metadata.get("sensitive"):
            shown = None
        elif isinstance(value, str):
            shown = f"'{value}'"
        elif isinstance(value, list | dict):
            shown = None
        else:
            shown = f"'{value}'"
        where = f"Value {shown} at '{path}'" if shown is not None else f"Value at '{path}'"
        self.messages.append(f"{where} failed to satisfy constraint: {constraint}")

    def summary(self) -> str:
        n = len(self.messages)
        noun = "error" if n == 1 else "errors"
        return f"{n} validation {noun} detected: " + "; ".join(self.messages)


_TYPE_NAMES = {
    "string": "string",
    "integer": "integer",
    "long": "long",
    "boolean": "boolean",
    "double": "double",
    "float": "float",
    "list": "list",
    "map": "map",
    "structure": "structure",
    "timestamp": "timestamp",
    "blob": "blob",
}


def validate(shape: StructureShape | None, params: dict[str, Any]) -> Violations:
    """Return every violation of ``params`` against ``shape`` (empty when valid)."""
    violations = Violations()
    if shape is not None:
        _check(shape, params, "", violations)
    return violations


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check(shape: Shape, value: Any, path: str, out: Violations) -> None:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        if not isinstance(value, dict):
            out.add(path or "input", None, shape, "Member must be a structure")
            return
        required = shape.metadata.get("required", [])
        for name in required:
            if value.get(name) is None:
                out.add(_member_path(path, name), None, shape.members[name], "Member must not be null")
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                _check(member, value[name], _member_path(path, name), out)
        return
    if kind == "list":
        assert isinstance(shape, ListShape)
        if not isinstance(value, list):
            out.add(path, None, shape, "Member must be a list")
            return
        _check_length(shape, value, len(value), path, out)
        for i, item in enumerate(value, start=1):
            item_path = f"{path}.{i}.member"
            if item is None:
                out.add(item_path, None, shape.member, "Member must not be null")
            else:
                _check(shape.member, item, item_path, out)
        return
    if kind == "map":
        assert isinstance(shape, MapShape)
        if not isinstance(value, dict):
            out.add(path, None, shape, "Member must be a map")
            return
        _check_length(shape, value, len(value), path, out)
        for k, v in value.items():
            _check(shape.key, k, f"{path}.key", out)
            if v is not None:
                _check(shape.value, v, f"{path}.{k}.value", out)
        return
    if kind == "string":
        if not isinstance(value, str):
            out.add(path, None, shape, "Member must be of type string")
            return
        _check_length(shape, value, len(value), path, out)
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            out.add(path, value, shape, f"Member must satisfy enum value set: [{', '.join(enum)}]")
        pattern = shape.metadata.get("pattern")
        # Java's Matcher.matches() semantics: the whole value must match.
        if pattern and _regex(pattern).fullmatch(value) is None:
            out.add(path, value, shape, f"Member must satisfy regular expression pattern: {pattern}")
        return
    if kind in ("integer", "long"):
        if not _is_int(value):
            out.add(path, None, shape, f"Member must be of type {_TYPE_NAMES[kind]}")
            return
        lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
        if lo is not None and value < lo:
            out.add(path, value, shape, f"Member must have value greater than or equal to {lo}")
        if hi is not None and value > hi:
            out.add(path, value, shape, f"Member must have value less than or equal to {hi}")
        return
    if kind in ("double", "float"):
        if not (_is_int(value) or isinstance(value, float)):
            out.add(path, None, shape, f"Member must be of type {kind}")
        return
    if kind == "boolean":
        if not isinstance(value, bool):
            out.add(path, None, shape, "Member must be of type boolean")
        return
    if kind == "timestamp":
        if not (isinstance(value, dt.datetime | int | float) and not isinstance(value, bool)):
            out.add(path, None, shape, "Member must be of type timestamp")
        return
    if kind == "blob" and not isinstance(value, bytes | str):
        out.add(path, None, shape, "Member must be of type blob")


def _check_length(shape: Shape, value: Any, length: int, path: str, out: Violations) -> None:
    lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
    if lo is not None and length < lo:
        out.add(path, value, shape, f"Member must have length greater than or equal to {lo}")
    if hi is not None and length > hi:
        out.add(path, value, shape, f"Member must have length less than or equal to {hi}")
