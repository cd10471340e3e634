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

from parley.auth import AuthError, SigV4Verifier
from parley.errors import ServiceError, bad_request, not_found
from parley.protocol.serializer import serialize_error
from parley.store import Store
from parley.transcripts.events import TranscriptResult
from parley.transcripts.export import to_jsonl, to_srt, to_webvtt

_GUID = re.compile(r"[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}")
FORMATS = {
    "jsonl": ("application/x-ndjson", "jsonl"),
    "json": ("application/x-ndjson", "jsonl"),
    "vtt": ("text/vtt; charset=utf-8", "vtt"),
    "srt": ("application/x-subrip; charset=utf-8", "srt"),
}


class TranscriptExport:
    def __init__(self, service: ServiceModel, verifier: SigV4Verifier, store: Store) -> None:
        self.service = service
        self.verifier = verifier
        self.store = store

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
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        raw_query = scope.get("query_string", b"").decode("latin-1")
        verified = self.verifier.verify(
            request.method, raw_path, raw_query, request.headers.items(), await request.body()
        )
        meeting_id = request.path_params["meeting_id"]
        if not _GUID.fullmatch(meeting_id):
            raise bad_request(f"Invalid meeting id {meeting_id}")
        meeting_id = meeting_id.lower()
        fmt = request.query_params.get("format", "jsonl")
        if fmt not in FORMATS:
            raise bad_request(f"format must be one of {', '.join(sorted(FORMATS))}")
        account = verified.identity.account_id
        stored = await self.store.transcript(account, meeting_id)
        if stored is None:
            meeting = await self.store.get_meeting(account, meeting_id)
            if meeting is None:
                raise not_found(f"Meeting <{meeting_id}> not found")
            stored = (int(meeting.created_at * 1000), [])
        start_ms, rows = stored
        results = [TranscriptResult.from_dict(r) for r in rows]
        content_type, extension = FORMATS[fmt]
        if extension == "vtt":
            body = to_webvtt(results, start_ms)
        elif extension == "srt":
            body = to_srt(results, start_ms)
        else:
            body = to_jsonl(results)
        return Response(
            body,
            media_type=content_type,
            headers={
                "x-amzn-RequestId": request_id,
                "Content-Disposition": f'attachment; filename="{meeting_id}.{extension}"',
            },
        )
