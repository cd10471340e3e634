"""``GET /meetings/{MeetingId}/transcript?format=jsonl|vtt|srt``: a meeting's stored final results.

Signed like every other call (SigV4 headers, or a presigned URL a browser can follow); errors are the
same modeled AWS errors as the rest of the API.
"""

from __future__ import annotations

import re
import uuid

from botocore.model import ServiceModel
from starlette.requests import Request
from starlette.responses import Response

from parley.api.endpoint import raw_target
from parley.auth import AuthError, SigV4Verifier
from parley.errors import ServiceError, bad_request
from parley.meetings.service import MeetingService
from parley.protocol.serializer import serialize_error

_GUID = re.compile(r"[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}")


class TranscriptExport:
    def __init__(self, service: ServiceModel, verifier: SigV4Verifier, meetings: MeetingService) -> None:
        self.service = service
        self.verifier = verifier
        self.meetings = meetings

    async def __call__(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        try:
            return await self._handle(request, request_id)
        except (ServiceError, AuthError) as exc:
            status, headers, body = serialize_error(self.service, exc.code, exc.message, request_id)
            headers["x-amzn-RequestId"] = request_id
            return Response(body, status_code=status, headers=headers)

    async def _handle(self, request: Request, request_id: str) -> Response:
        scope = request.scope
        raw_path, raw_query = raw_target(scope)
        body = await request.body()
        verified = self.verifier.verify(request.method, raw_path, raw_query, request.headers.items(), body)
        meeting_id = request.path_params["meeting_id"]
        if not _GUID.fullmatch(meeting_id):
            raise bad_request(f"Invalid meeting id {meeting_id}")
        meeting_id = meeting_id.lower()
        document = await self.meetings.export_transcript(
            verified.identity.account_id, meeting_id, request.query_params.get("format", "jsonl")
        )
        return Response(
            document.text,
            media_type=document.media_type,
            headers={
                "x-amzn-RequestId": request_id,
                "Content-Disposition": f'attachment; filename="{meeting_id}.{document.extension}"',
            },
        )
