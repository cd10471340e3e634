"""Serialize operation results and errors exactly as the model and botocore's parser expect."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape, StructureShape

# Short body codes as the service family uses them (reference §1.2); the header carries the shape name.
_SHORT_CODES = {
    "BadRequestException": "BadRequest",
    "ForbiddenException": "Forbidden",
    "NotFoundException": "NotFound",
    "ResourceNotFoundException": "NotFound",
    "UnauthorizedException": "Unauthorized",
    "UnprocessableEntityException": "Unprocessable",
    "LimitExceededException": "ResourceLimitExceeded",
    "ConflictException": "Conflict",
    "ThrottlingException": "Throttling",
    "ServiceFailureException": "ServiceFailure",
    "ServiceUnavailableException": "ServiceUnavailable",
    "TooManyTagsException": "TooManyTags",
}

# Authentication failures are not in the service model; AWS answers them with 403.
_UNMODELED_STATUS = {
    "MissingAuthenticationTokenException": 403,
    "UnrecognizedClientException": 403,
    "InvalidSignatureException": 403,
    "IncompleteSignatureException": 403,
    "AccessDeniedException": 403,
    "InvalidClientTokenId": 403,
    "UnknownOperationException": 404,
    "SerializationException": 400,
}

_ERROR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazonaws.chime/"


def _to_wire(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if value is None:
        return None
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            if member.serialization.get("location"):
                continue
            v = _to_wire(member, value.get(name))
            if v is not None:
                out[member.serialization.get("name", name)] = v
        return out
    if kind == "list":
        return [_to_wire(shape.member, v) for v in value]  # type: ignore[attr-defined]
    if kind == "map":
        return {k: _to_wire(shape.value, v) for k, v in value.items()}  # type: ignore[attr-defined]
    if kind == "timestamp" and isinstance(value, dt.datetime):
        return value.timestamp()
    return value


def serialize_response(
    operation: OperationModel, result: dict[str, Any] | None
) -> tuple[int, dict[str, str], bytes]:
    status = int(operation.http.get("responseCode", 200))
    headers: dict[str, str] = {}
    shape = operation.output_shape
    if shape is None or status == 204:
        return status, headers, b""
    result = result or {}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        if location == "header" and result.get(name) is not None:
            headers[member.serialization.get("name", name)] = str(result[name])
        elif location == "statusCode" and result.get(name) is not None:
            status = int(result[name])
    body = _to_wire(shape, result)
    headers["Content-Type"] = "application/json"
    # "replace": a message may echo a client's text, and such text may not be encodable (lone surrogates)
    return (
        status,
        headers,
        json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "replace"),
    )


def error_status(service: ServiceModel, code: str) -> int:
    if code in _UNMODELED_STATUS:
        return _UNMODELED_STATUS[code]
    try:
        shape = service.shape_for(code)
    except Exception:
        return 500
    return int(shape.metadata.get("error", {}).get("httpStatusCode", 400))


def serialize_error(
    service: ServiceModel, code: str, message: str, request_id: str, fields: dict[str, Any] | None = None
) -> tuple[int, dict[str, str], bytes]:
    status = error_status(service, code)
    headers = {
        "x-amzn-ErrorType": code + _ERROR_TYPE_SUFFIX,
        "x-amzn-RequestId": request_id,
        "Content-Type": "application/json",
    }
    body: dict[str, Any] = {"Code": _SHORT_CODES.get(code, code), "Message": message, "RequestId": request_id}
    for key, value in (fields or {}).items():
        if key == "RetryAfterSeconds":
            headers["Retry-After"] = str(value)
        else:
            body[key] = value
    # "replace": a message may echo a client's text, and such text may not be encodable (lone surrogates)
    return (
        status,
        headers,
        json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "replace"),
    )
