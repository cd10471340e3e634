"""Read a rest-json request into the operation's input parameters, as the model places them.

Members come from the URI (``location: uri``), the query string (``querystring``), headers
(``header``/``headers``) or the JSON body. Values that cannot be coerced to the modeled type
are passed through unchanged so that validation reports them with every other violation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.model import OperationModel, Shape

from parley.errors import bad_request
from parley.protocol import jsondoc


def _coerce_scalar(shape: Shape, raw: str) -> Any:
    kind = shape.type_name
    if kind in ("integer", "long"):
        try:
            return int(raw, 10)
        except ValueError:
            return raw
    if kind == "boolean":
        lowered = raw.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        return raw
    if kind in ("double", "float"):
        try:
            return float(raw)
        except ValueError:
            return raw
    return raw


def _from_query(shape: Shape, values: list[str]) -> Any:
    if shape.type_name == "list":
        return [_coerce_scalar(shape.member, v) for v in values]  # type: ignore[attr-defined]
    return _coerce_scalar(shape, values[-1])


def parse_body(body: bytes) -> dict[str, Any]:
    if not body or not body.strip():
        return {}
    try:
        doc = jsondoc.loads(body)
    except jsondoc.JsonInputError as exc:
        raise bad_request(f"Could not parse request body into json: {exc}") from None
    if not isinstance(doc, dict):
        raise bad_request("Request body must be a JSON object")
    return doc


def parse_request(
    operation: OperationModel,
    path_params: Mapping[str, str],
    query: Mapping[str, list[str]],
    headers: Mapping[str, str],
    body: bytes,
) -> dict[str, Any]:
    shape = operation.input_shape
    if shape is None:
        return {}
    params: dict[str, Any] = {}
    body_members: dict[str, Shape] = {}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", name)
        if location == "uri":
            if wire_name in path_params:
                params[name] = path_params[wire_name]
        elif location == "querystring":
            if member.type_name == "map":
                params[name] = {k: v[-1] for k, v in query.items()}
            elif wire_name in query:
                params[name] = _from_query(member, query[wire_name])
        elif location == "header":
            value = headers.get(wire_name.lower())
            if value is not None:
                params[name] = _coerce_scalar(member, value)
        elif location == "headers":
            prefix = wire_name.lower()
            found = {k[len(prefix) :]: v for k, v in headers.items() if k.startswith(prefix)}
            if found:
                params[name] = found
        else:
            body_members[name] = member
    if body_members:
        doc = parse_body(body)
        for name in body_members:
            if name in doc:
                params[name] = doc[name]
    return params
