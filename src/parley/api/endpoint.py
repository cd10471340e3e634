"""One ASGI endpoint for an AWS rest-json service: authenticate, route, parse, validate, dispatch, serialize.

Every failure leaves as a modeled AWS error (``x-amzn-ErrorType``, ``x-amzn-RequestId``, JSON body);
unexpected exceptions are logged and answered with ``ServiceFailureException``, never a traceback.
It is a plain ASGI callable rather than a Starlette route: on the API's hot path the framework's
middleware and routing cost more than parley's own work (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from botocore.model import ServiceModel

from parley.api.dispatch import Handler
from parley.auth import AuthError, SigV4Verifier
from parley.errors import ServiceError, bad_request
from parley.logs import bind
from parley.meetings.service import Caller
from parley.metrics import Metrics
from parley.protocol.parser import parse_request
from parley.protocol.router import Router, parse_query
from parley.protocol.serializer import serialize_error, serialize_response
from parley.protocol.validate import validate
from parley.throttle import Throttle

log = logging.getLogger("parley.api")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def raw_target(scope: Scope) -> tuple[str, str]:
    """The path and query exactly as they arrived on the wire (SigV4 signs those bytes, not decoded ones)."""
    raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    return raw_path, scope.get("query_string", b"").decode("latin-1")


class BodyTimeout(ServiceError):
    """The body did not arrive in time: answered as a 400, and the connection is closed with it (the rest of
    a trickled body must not be read as the next request)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__("BadRequestException", f"The request body did not arrive within {timeout_s:g} s")


async def read_body(
    receive: Receive, headers: list[tuple[str, str]], max_bytes: int, timeout_s: float = 30.0
) -> bytes:
    """The request body, refusing (as a modeled 400) anything over ``max_bytes`` before reading all of it,
    and a body that has not arrived within ``timeout_s`` (a client trickling it would hold the connection)."""
    declared = next((v for k, v in headers if k == "content-length"), None)
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise bad_request(f"Request body exceeds {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > max_bytes:
                    raise bad_request(f"Request body exceeds {max_bytes} bytes")
                chunks.append(chunk)
                if not message.get("more_body"):
                    break
    except TimeoutError:
        raise BodyTimeout(timeout_s) from None
    return b"".join(chunks)


@dataclass(slots=True)
class Seen:
    """What a request turned out to be, once known (for metrics; "unknown" if it failed before routing)."""

    operation: str = "unknown"


def answered(metrics: Metrics | None, service: str, operation: str, status: int, started: float) -> None:
    """Count an answered API request and its time (and log it at debug)."""
    seconds = time.perf_counter() - started
    if metrics is not None:
        metrics.observe_api(service, operation, status, seconds)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s answered %d in %.1f ms", operation, status, seconds * 1e3)


async def throttled(
    throttle: Throttle | None,
    metrics: Metrics | None,
    service: str,
    account_id: str,
    operation: str,
    code: str = "ThrottlingException",
) -> None:
    """Raise the service's modeled throttling error (Chime: ThrottlingException, 429) when the caller's bucket
    for ``operation`` is empty."""
    if throttle is None or await throttle.allow(account_id, operation):
        return
    if metrics is not None:
        metrics.api_throttled.labels(service, operation).inc()
    raise ServiceError(code, "Rate exceeded")


@dataclass
class RestJsonEndpoint:
    service: ServiceModel
    router: Router
    handlers: Mapping[str, Handler]
    verifier: SigV4Verifier
    public_url: str | None = None
    max_body_bytes: int = 1 << 20
    body_timeout_s: float = 30.0
    throttle: Throttle | None = None
    metrics: Metrics | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        bind(request_id=request_id, account_id=None, meeting_id=None, attendee_id=None)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        seen = Seen()
        try:
            status, out_headers, body = await self._handle(scope, receive, headers, seen)
        except ServiceError as exc:
            status, out_headers, body = serialize_error(
                self.service, exc.code, exc.message, request_id, exc.fields
            )
            if isinstance(exc, BodyTimeout):
                out_headers["Connection"] = "close"
        except AuthError as exc:
            status, out_headers, body = serialize_error(self.service, exc.code, exc.message, request_id)
        except Exception:
            log.exception("unhandled error in request %s", request_id)
            status, out_headers, body = serialize_error(
                self.service,
                "ServiceFailureException",
                "The service encountered an unexpected error.",
                request_id,
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
        await send({"type": "http.response.body", "body": body if scope["method"] != "HEAD" else b""})
        answered(self.metrics, "chime", seen.operation, status, started)

    def _base_url(self, scope: Scope, headers: list[tuple[str, str]]) -> str:
        if self.public_url:
            return self.public_url
        host = next((v for k, v in headers if k == "host"), None)
        if host is None:
            server_host, server_port = scope.get("server") or ("127.0.0.1", 80)
            host = f"{server_host}:{server_port}"
        return f"{scope.get('scheme', 'http')}://{host}"

    async def _handle(
        self, scope: Scope, receive: Receive, headers: list[tuple[str, str]], seen: Seen
    ) -> tuple[int, dict[str, str], bytes]:
        body = await read_body(receive, headers, self.max_body_bytes, self.body_timeout_s)
        method: str = scope["method"]
        raw_path, raw_query = raw_target(scope)
        verified = self.verifier.verify(method, raw_path, raw_query, headers, body)
        caller = Caller(account_id=verified.identity.account_id, region=verified.region)
        bind(account_id=caller.account_id, meeting_id=None)
        query = parse_query(raw_query)
        match = self.router.match(method, raw_path, query)
        if match is None:
            raise ServiceError("NotFoundException", f"No operation matches {method} {raw_path}")
        operation = match.operation
        seen.operation = operation.name
        await throttled(self.throttle, self.metrics, "chime", caller.account_id, operation.name)
        meeting_id = match.path_params.get("MeetingId")
        if meeting_id:
            bind(meeting_id=meeting_id)
        params: dict[str, Any] = parse_request(operation, match.path_params, query, dict(headers), body)
        violations = validate(operation.input_shape, params)
        if violations.messages:
            raise bad_request(violations.summary())
        result = await self.handlers[operation.name](caller, params, self._base_url(scope, headers))
        return serialize_response(operation, result)
