"""Stored transcripts over signed HTTP: parley's addition beside the Chime API (docs/protocol.md section 4).

- ``GET /transcripts?max-results=N&next-token=T``: the account's transcripts, newest meeting first, also of
  meetings that have ended;
- ``GET /meetings/{MeetingId}/transcript?format=jsonl|vtt|srt``: one transcript's final results;
- ``DELETE /meetings/{MeetingId}/transcript``: delete one (204).

Signed like every other call (SigV4 headers, or a presigned URL a browser can follow); errors are the
same modeled AWS errors as the rest of the API, with the same request id header.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable

from botocore.model import ServiceModel
from starlette.requests import Request
from starlette.responses import Response

from parley.api.endpoint import raw_target, read_body
from parley.auth import AuthError, SigV4Verifier
from parley.errors import ServiceError, bad_request
from parley.meetings.service import MeetingService
from parley.protocol.serializer import serialize_error
from parley.protocol.spec import shape_pattern

log = logging.getLogger(__name__)

_MAX_BODY = 0  # none of these calls takes a body


class TranscriptsApi:
    def __init__(self, service: ServiceModel, verifier: SigV4Verifier, meetings: MeetingService) -> None:
        self.service = service
        self._guid = shape_pattern(service, "GuidString")
        self.verifier = verifier
        self.meetings = meetings

    async def list(self, request: Request) -> Response:
        return await self._answer(request, self._list)

    async def export(self, request: Request) -> Response:
        return await self._answer(request, self._export)

    async def delete(self, request: Request) -> Response:
        return await self._answer(request, self._delete)

    async def _answer(
        self, request: Request, handler: Callable[[Request, str, str], Awaitable[Response]]
    ) -> Response:
        request_id = str(uuid.uuid4())
        try:
            raw_path, raw_query = raw_target(request.scope)
            body = await read_body(request.receive, list(request.headers.items()), _MAX_BODY)
            verified = self.verifier.verify(
                request.method, raw_path, raw_query, request.headers.items(), body
            )
            response = await handler(request, verified.identity.account_id, request_id)
        except (ServiceError, AuthError) as exc:
            response = self._error(exc.code, exc.message, request_id)
        except Exception:
            log.exception("unhandled error in request %s", request_id)
            response = self._error(
                "ServiceFailureException", "The service encountered an unexpected error.", request_id
            )
        response.headers["x-amzn-RequestId"] = request_id
        return response

    def _error(self, code: str, message: str, request_id: str) -> Response:
        status, headers, body = serialize_error(self.service, code, message, request_id)
        return Response(body, status_code=status, headers=headers)

    async def _list(self, request: Request, account_id: str, _request_id: str) -> Response:
        query = request.query_params
        page = await self.meetings.list_transcripts(
            account_id, query.get("max-results"), query.get("next-token")
        )
        return Response(json.dumps(page, ensure_ascii=False), media_type="application/json")

    async def _export(self, request: Request, account_id: str, _request_id: str) -> Response:
        meeting_id = self._meeting_id(request)
        document = await self.meetings.export_transcript(
            account_id, meeting_id, request.query_params.get("format", "jsonl")
        )
        return Response(
            document.text,
            media_type=document.media_type,
            headers={"Content-Disposition": f'attachment; filename="{meeting_id}.{document.extension}"'},
        )

    async def _delete(self, request: Request, account_id: str, _request_id: str) -> Response:
        await self.meetings.delete_transcript(account_id, self._meeting_id(request))
        return Response(status_code=204)

    def _meeting_id(self, request: Request) -> str:
        meeting_id: str = request.path_params["meeting_id"]
        if not self._guid.fullmatch(meeting_id):
            raise bad_request("MeetingId must be a GUID")
        return meeting_id.lower()
