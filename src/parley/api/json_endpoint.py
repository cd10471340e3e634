"""One ASGI endpoint for an awsJson1.1 service (Amazon Transcribe's vocabulary operations).

``POST /`` with ``X-Amz-Target: <prefix>.<Operation>``: authenticate (SigV4 for the service's signing name),
parse the JSON body, validate it against botocore's model (``protocol/validate.py``), dispatch, and serialize
by the output shape. Errors leave in the awsJson shape botocore's JSON parser reads: body
``{"__type": code, "Message": ...}`` plus ``x-amzn-ErrorType``; the status comes from the error shape.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.model import ServiceModel

from parley.api.endpoint import (
    BodyTimeout,
    Receive,
    Scope,
    Seen,
    Send,
    answered,
    raw_target,
    read_body,
    throttled,
)
from parley.auth import AuthError, SigV4Verifier
from parley.errors import ServiceError, bad_request
from parley.logs import bind
from parley.meetings.service import Caller
from parley.metrics import Metrics
from parley.protocol.parser import parse_body
from parley.protocol.serializer import _to_wire, error_status
from parley.protocol.validate import validate
from parley.throttle import Throttle

log = logging.getLogger("parley.api")

JsonHandler = Callable[[Caller, dict[str, Any]], Awaitable[dict[str, Any] | None]]
CONTENT_TYPE = "application/x-amz-json-1.1"


def serialize_json_error(service: ServiceModel, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    status = error_status(service, code)
    if code == "UnknownOperationException" or code == "SerializationException":
        status = 400
    headers = {"x-amzn-ErrorType": code, "Content-Type": CONTENT_TYPE}
    body = json.dumps({"__type": code, "Message": message}, separators=(",", ":"), ensure_ascii=False)
    return status, headers, body.encode("utf-8", "replace")  # a message may echo a client's unencodable text


@dataclass
class AwsJsonEndpoint:
    service: ServiceModel
    handlers: Mapping[str, JsonHandler]
    verifier: SigV4Verifier
    max_body_bytes: int = 1 << 20
    body_timeout_s: float = 30.0
    throttle: Throttle | None = None
    metrics: Metrics | None = None

    @property
    def target_prefix(self) -> str:
        return str(self.service.metadata["targetPrefix"]) + "."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        bind(request_id=request_id, account_id=None, meeting_id=None, attendee_id=None)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        seen = Seen()
        try:
            status, out_headers, body = await self._handle(scope, receive, headers, seen)
        except (ServiceError, AuthError) as exc:
            status, out_headers, body = serialize_json_error(self.service, exc.code, exc.message)
            if isinstance(exc, BodyTimeout):
                out_headers["Connection"] = "close"
        except Exception:
            log.exception("unhandled error in request %s", request_id)
            status, out_headers, body = serialize_json_error(
                self.service, "InternalFailureException", "The service encountered an unexpected error."
            )
        out_headers["x-amzn-RequestId"] = request_id
        out_headers["Content-Length"] = str(len(body))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in out_headers.items()
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        answered(self.metrics, "transcribe", seen.operation, status, started)

    async def _handle(
        self, scope: Scope, receive: Receive, headers: list[tuple[str, str]], seen: Seen
    ) -> tuple[int, dict[str, str], bytes]:
        body = await read_body(receive, headers, self.max_body_bytes, self.body_timeout_s)
        raw_path, raw_query = raw_target(scope)
        verified = self.verifier.verify(scope["method"], raw_path, raw_query, headers, body)
        caller = Caller(account_id=verified.identity.account_id, region=verified.region)
        target = next((v for k, v in headers if k == "x-amz-target"), "")
        name = target[len(self.target_prefix) :] if target.startswith(self.target_prefix) else ""
        if scope["method"] != "POST" or raw_path != "/" or name not in self.handlers:
            raise ServiceError("UnknownOperationException", f"Unknown operation {target or scope['method']}")
        seen.operation = name
        bind(account_id=caller.account_id)
        # Transcribe models throttling as LimitExceededException; AWS SDKs retry it as throttling.
        await throttled(
            self.throttle, self.metrics, "transcribe", caller.account_id, name, "LimitExceededException"
        )
        operation = self.service.operation_model(name)
        params = parse_body(body)
        violations = validate(operation.input_shape, params)
        if violations.messages:
            raise bad_request(violations.summary())
        result = await self.handlers[name](caller, params)
        shape = operation.output_shape
        out = _to_wire(shape, result or {}) if shape is not None else {}
        payload = json.dumps(out, separators=(",", ":"), ensure_ascii=False).encode()
        return 200, {"Content-Type": CONTENT_TYPE}, payload
