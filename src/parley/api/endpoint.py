"""One ASGI endpoint for an AWS rest-json service: authenticate, route, parse, validate, dispatch, serialize.

Every failure leaves as a modeled AWS error (``x-amzn-ErrorType``, ``x-amzn-RequestId``, JSON body);
unexpected exceptions are logged and answered with ``ServiceFailureException``, never a traceback.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.model import ServiceModel
from starlette.requests import Request
from starlette.responses import Response

from parley.api.dispatch import Handler
from parley.auth import AuthError, SigV4Verifier
from parley.errors import ServiceError, bad_request
from parley.meetings.service import Caller
from parley.protocol.parser import parse_request
from parley.protocol.router import Router, parse_query
from parley.protocol.serializer import serialize_error, serialize_response
from parley.protocol.validate import validate

log = logging.getLogger("parley.api")


@dataclass
class RestJsonEndpoint:
    service: ServiceModel
    router: Router
    handlers: Mapping[str, Handler]
    verifier: SigV4Verifier
    public_url: str | None = None
    max_body_bytes: int = 1 << 20

    def base_url(self, request: Request) -> str:
        if self.public_url:
            return self.public_url
        host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
        return f"{request.url.scheme}://{host}"

    async def __call__(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        try:
            status, headers, body = await self._handle(request)
        except ServiceError as exc:
            status, headers, body = serialize_error(
                self.service, exc.code, exc.message, request_id, exc.fields
            )
        except AuthError as exc:
            status, headers, body = serialize_error(self.service, exc.code, exc.message, request_id)
        except Exception:
            log.exception("unhandled error in request %s", request_id)
            status, headers, body = serialize_error(
                self.service,
                "ServiceFailureException",
                "The service encountered an unexpected error.",
                request_id,
            )
        headers["x-amzn-RequestId"] = request_id
        return Response(body, status_code=status, headers=headers)

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise bad_request(f"Request body exceeds {self.max_body_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise bad_request(f"Request body exceeds {self.max_body_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _handle(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        body = await self._read_body(request)
        scope = request.scope
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        raw_query = scope.get("query_string", b"").decode("latin-1")
        verified = self.verifier.verify(request.method, raw_path, raw_query, request.headers.items(), body)
        caller = Caller(account_id=verified.identity.account_id, region=verified.region)
        query = parse_query(raw_query)
        match = self.router.match(request.method, raw_path, query)
        if match is None:
            raise ServiceError("NotFoundException", f"No operation matches {request.method} {raw_path}")
        operation = match.operation
        headers = {k.lower(): v for k, v in request.headers.items()}
        params: dict[str, Any] = parse_request(operation, match.path_params, query, headers, body)
        violations = validate(operation.input_shape, params)
        if violations.messages:
            raise bad_request(violations.summary())
        result = await self.handlers[operation.name](caller, params, self.base_url(request))
        return serialize_response(operation, result)
