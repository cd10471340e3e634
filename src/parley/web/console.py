"""The browser console's JSON API (``/console/api/...``) and the routes that serve the web pages.

Why a console API at all: the browser never holds an AWS secret. A person signs in once with an
identity from the credentials file; the server keeps a random session token in memory (HttpOnly,
SameSite=Strict cookie) and calls the ``MeetingService`` directly as that identity's account, with the
same model validation and the same modeled errors the signed AWS API gives.

CSRF: every state-changing request must carry ``X-Parley-Console: 1`` (a custom header a cross-site form
cannot send without a CORS preflight, which we never grant), the cookie is SameSite=Strict, and a
present ``Origin`` must match the ``Host``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from botocore.model import ServiceModel
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from parley.api.endpoint import read_body
from parley.credentials import CredentialStore, Identity
from parley.errors import ServiceError, bad_request
from parley.live.content import MODALITY, is_content
from parley.meetings.service import Caller, MeetingService
from parley.protocol import jsondoc
from parley.protocol.serializer import error_status
from parley.protocol.spec import CHIME_SDK_MEETINGS, TRANSCRIBE, load_service_model, shape_pattern
from parley.protocol.validate import validate
from parley.store import Meeting
from parley.vocabularies.service import VocabularyService

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from parley.config import Settings

Follow = Callable[[WebSocket, str], Awaitable[None]]
STATIC_DIR = Path(__file__).parent / "static"
MAX_BODY_BYTES = (
    64 * 1024
)  # the console's largest request (a transcription configuration) is a few hundred bytes
COOKIE_NAME = "parley_console"
CSRF_HEADER = "x-parley-console"
DEFAULT_REGION = "us-east-1"
_REGION_RE = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]")


@dataclass
class ConsoleMeeting:
    """What the session remembers of a meeting it created: Chime has no ListMeetings."""

    meeting_id: str
    external_meeting_id: str | None
    created_at: float
    # attendee id -> (external user id, join token, audio capability); tokens are only returned on
    # creation, so the session keeps them to rebuild join links.
    join_tokens: dict[str, tuple[str, str, str]] = field(default_factory=dict)


@dataclass
class ConsoleSession:
    identity_name: str
    access_key_id: str
    account_id: str
    region: str
    expires_at: float
    meetings: dict[str, ConsoleMeeting] = field(default_factory=dict)

    @property
    def caller(self) -> Caller:
        return Caller(account_id=self.account_id, region=self.region)


class ConsoleSessions:
    """Sessions held in memory, keyed by the SHA-256 of the cookie token (the token itself is not kept).

    Memory only, on purpose: a restart signs everyone out, and nothing secret ever reaches disk. The
    number of sessions is capped; the oldest goes first.
    """

    def __init__(self, ttl_s: float = 12 * 3600, max_sessions: int = 1000, clock: Any = time.time) -> None:
        self.ttl_s = ttl_s
        self.max_sessions = max_sessions
        self.clock = clock
        self._sessions: OrderedDict[str, ConsoleSession] = OrderedDict()

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def create(self, identity: Identity, region: str) -> tuple[str, ConsoleSession]:
        self._expire()
        while len(self._sessions) >= self.max_sessions:
            self._sessions.popitem(last=False)
        token = secrets.token_urlsafe(32)
        session = ConsoleSession(
            identity_name=identity.name,
            access_key_id=identity.access_key_id,
            account_id=identity.account_id,
            region=region,
            expires_at=self.clock() + self.ttl_s,
        )
        self._sessions[self._key(token)] = session
        return token, session

    def get(self, token: str | None) -> ConsoleSession | None:
        if not token:
            return None
        key = self._key(token)
        session = self._sessions.get(key)
        if session is None:
            return None
        if session.expires_at <= self.clock():
            del self._sessions[key]
            return None
        return session

    def drop(self, token: str | None) -> None:
        if token:
            self._sessions.pop(self._key(token), None)

    def _expire(self) -> None:
        now = self.clock()
        for key in [k for k, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[key]


class ConsoleError(Exception):
    """A console-level refusal (not signed in, missing CSRF header) with its HTTP status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


Handler = Callable[[Request, ConsoleSession], Awaitable[Response]]


def _anything_under(base: str, endpoint: Callable[[Request], Awaitable[Response]]) -> Route:
    """A route for every path under ``base``, by any method. Starlette's ``path`` convertor is ``.*``, which stops at
    a line break, so ``/console/api/x%0Ay`` fell through to its plain-text 404 (found by the fuzz suite's long
    profile); this route's pattern matches line breaks too."""
    route = Route(base + "/{rest:path}", endpoint, methods=_ALL_METHODS)
    route.path_regex = re.compile(f"^{re.escape(base)}/(?P<rest>.*)$", re.DOTALL)
    return route


class ConsoleApi:
    """The ``/console/api`` handlers: each maps onto one or two ``MeetingService`` calls."""

    def __init__(
        self,
        meetings: MeetingService,
        credentials: CredentialStore,
        public_url: str | None,
        sessions: ConsoleSessions | None = None,
        service_model: ServiceModel | None = None,
        follow: Follow | None = None,
        vocabularies: VocabularyService | None = None,
        presence_ttl_s: float = 90.0,
    ) -> None:
        """``follow`` serves a meeting's event subscription for an account (ws/subscribe.py), for captions;
        ``vocabularies`` the account's custom vocabularies and filters (the Transcribe API's service);
        ``presence_ttl_s`` how long a connection counts without its node's heartbeat."""
        self.follow = follow
        self.vocabularies = vocabularies
        self.presence_ttl_s = presence_ttl_s
        self.transcribe_model = load_service_model(*TRANSCRIBE)
        self.meetings = meetings
        self.credentials = credentials
        self.public_url = public_url
        self.sessions = sessions or ConsoleSessions()
        self.model = service_model or load_service_model(*CHIME_SDK_MEETINGS)
        self._guid = shape_pattern(self.model, "GuidString")

    # -- plumbing -------------------------------------------------------------------------------

    def _error(self, status: int, code: str, message: str) -> JSONResponse:
        return JSONResponse({"code": code, "message": message}, status_code=status, headers=_NO_STORE)

    def _validated(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Check ``params`` against the operation's modeled input, exactly as the signed API does."""
        violations = validate(self.model.operation_model(operation).input_shape, params)
        if violations.messages:
            raise bad_request(violations.summary())
        return params

    def _base_url(self, request: Request) -> str:
        if self.public_url:
            return self.public_url
        return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"

    @staticmethod
    def _check_csrf(request: Request) -> None:
        if request.method in ("GET", "HEAD"):
            return
        if request.headers.get(CSRF_HEADER) != "1":
            raise ConsoleError(403, "CsrfCheckFailed", "Missing X-Parley-Console header")
        origin = request.headers.get("origin")
        if origin and origin != "null":
            if urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower():
                raise ConsoleError(403, "CsrfCheckFailed", "Cross-origin request refused")
        elif origin == "null":
            raise ConsoleError(403, "CsrfCheckFailed", "Cross-origin request refused")

    def endpoint(
        self, handler: Handler, *, signed_in: bool = True
    ) -> Callable[[Request], Awaitable[Response]]:
        """Wrap a handler: CSRF check, session lookup, and errors as JSON ``{code, message}``."""

        async def call(request: Request) -> Response:
            try:
                self._check_csrf(request)
                session = self.sessions.get(request.cookies.get(COOKIE_NAME))
                if signed_in and session is None:
                    raise ConsoleError(401, "NotSignedIn", "Sign in to use the console")
                response = await handler(request, session)  # type: ignore[arg-type]
            except ConsoleError as exc:
                return self._error(exc.status, exc.code, exc.message)
            except ServiceError as exc:
                return self._error(error_status(self.model, exc.code), exc.code, exc.message)
            except Exception:  # a bug: still the console's JSON shape, never Starlette's plain-text 500
                log.exception("console call %s %s failed", request.method, request.url.path)
                return self._error(500, "InternalError", "The console call failed unexpectedly.")
            response.headers.update(_NO_STORE)
            return response

        return call

    @staticmethod
    async def _json(request: Request) -> dict[str, Any]:
        raw = await read_body(request.receive, list(request.headers.items()), MAX_BODY_BYTES)
        try:
            body = jsondoc.loads(raw)
        except jsondoc.JsonInputError as exc:
            raise bad_request(f"The request body must be JSON: {exc}") from None
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object")
        return body

    def _meeting_id(self, request: Request) -> str:
        meeting_id = request.path_params["meeting_id"]
        if not self._guid.fullmatch(meeting_id):
            raise bad_request(f"Invalid meeting id {meeting_id}")
        return meeting_id.lower()

    # -- session --------------------------------------------------------------------------------

    async def login(self, request: Request, _session: ConsoleSession | None) -> Response:
        body = await self._json(request)
        access_key_id = str(body.get("accessKeyId") or "").strip()
        secret = str(body.get("secretAccessKey") or "")
        region = str(body.get("region") or DEFAULT_REGION).strip()
        if not _REGION_RE.fullmatch(region):
            raise bad_request(f"{region!r} is not a region name such as us-east-1")
        identity = self.credentials.lookup(access_key_id)
        # Compare against a dummy when the key is unknown, so both failures take the same path.
        expected = identity.secret_access_key if identity else secrets.token_hex(20)
        if identity is None or not hmac.compare_digest(secret.encode(), expected.encode()):
            raise ConsoleError(401, "InvalidCredentials", "Unknown access key id or wrong secret access key")
        self.sessions.drop(request.cookies.get(COOKIE_NAME))
        token, session = self.sessions.create(identity, region)
        response = JSONResponse(self._session_shape(session))
        response.set_cookie(
            COOKIE_NAME,
            token,
            max_age=int(self.sessions.ttl_s),
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    async def logout(self, request: Request, _session: ConsoleSession | None) -> Response:
        self.sessions.drop(request.cookies.get(COOKIE_NAME))
        response = JSONResponse({})
        response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
        return response

    async def whoami(self, _request: Request, session: ConsoleSession) -> Response:
        return JSONResponse(self._session_shape(session))

    def _session_shape(self, session: ConsoleSession) -> dict[str, Any]:
        return {
            "identity": session.identity_name,
            "accessKeyId": session.access_key_id,
            "accountId": session.account_id,
            "region": session.region,
            "expiresAt": int(session.expires_at * 1000),
            # What ending a meeting does to its transcript, so the page can say it before it happens.
            "transcriptRetentionSeconds": self.meetings.transcript_retention_s,
        }

    # -- meetings -------------------------------------------------------------------------------

    async def _meeting_summary(
        self, request: Request, session: ConsoleSession, m: ConsoleMeeting
    ) -> dict[str, Any]:
        """A meeting this session knows of (it may have ended since)."""
        meeting = await self.meetings.find_meeting(session.caller, m.meeting_id)
        if meeting is not None:
            return await self._live_summary(request, meeting)
        return _ended_summary(m)

    async def _live_summary(self, request: Request, meeting: Meeting) -> dict[str, Any]:
        """``meeting`` is the session's own (from account_meetings or find_meeting)."""
        state, connected = await self.meetings.live_status(meeting, time.time() - self.presence_ttl_s)
        summary: dict[str, Any] = {
            "MeetingId": meeting.meeting_id,
            "ExternalMeetingId": meeting.external_meeting_id,
            "CreatedAt": int(meeting.created_at * 1000),
            "Ended": False,
            "Meeting": self.meetings.meeting_shape(meeting, self._base_url(request)),
            "ConnectedAttendees": sum(not is_content(a) for a in connected),
        }
        if state is not None:
            summary["Transcription"] = {
                "Status": state.status,
                "Configuration": state.configuration,
                "Message": (state.extra or {}).get("message"),
            }
        return summary

    async def list_meetings(self, request: Request, session: ConsoleSession) -> Response:
        """Every meeting of the account, however it was created (newest first), then the ones this session
        saw end (their transcripts stay under /transcripts)."""
        stored = await self.meetings.account_meetings(session.caller)
        out = [await self._live_summary(request, m) for m in reversed(stored)]
        live = {m.meeting_id for m in stored}
        ended = [m for m in session.meetings.values() if m.meeting_id not in live]
        out += [_ended_summary(m) for m in sorted(ended, key=lambda m: m.created_at, reverse=True)]
        return JSONResponse({"Meetings": out})

    async def create_meeting(self, request: Request, session: ConsoleSession) -> Response:
        body = await self._json(request)
        params: dict[str, Any] = {
            "ClientRequestToken": secrets.token_hex(16),
            "MediaRegion": str(body.get("MediaRegion") or session.region),
        }
        # CreateMeeting requires an ExternalMeetingId; the console lets a person skip naming a meeting.
        params["ExternalMeetingId"] = str(body.get("ExternalMeetingId") or "").strip() or "Untitled meeting"
        self._validated("CreateMeeting", params)
        result = await self.meetings.create_meeting(session.caller, params, self._base_url(request))
        meeting = result["Meeting"]
        entry = ConsoleMeeting(meeting["MeetingId"], meeting.get("ExternalMeetingId"), time.time())
        session.meetings[entry.meeting_id] = entry
        return JSONResponse(await self._meeting_summary(request, session, entry), status_code=201)

    async def get_meeting(self, request: Request, session: ConsoleSession) -> Response:
        meeting_id = self._meeting_id(request)
        entry = session.meetings.get(meeting_id)
        if entry is None:
            # A meeting of this account made elsewhere: adopt it if it exists.
            await self.meetings.get_meeting(
                session.caller, {"MeetingId": meeting_id}, self._base_url(request)
            )
            entry = ConsoleMeeting(meeting_id, None, time.time())
            session.meetings[meeting_id] = entry
        return JSONResponse(await self._meeting_summary(request, session, entry))

    async def delete_meeting(self, request: Request, session: ConsoleSession) -> Response:
        meeting_id = self._meeting_id(request)
        await self.meetings.delete_meeting(session.caller, {"MeetingId": meeting_id})
        return Response(status_code=204)

    # -- attendees ------------------------------------------------------------------------------

    def _entry(self, session: ConsoleSession, meeting_id: str) -> ConsoleMeeting:
        entry = session.meetings.get(meeting_id)
        if entry is None:
            entry = ConsoleMeeting(meeting_id, None, time.time())
            session.meetings[meeting_id] = entry
        return entry

    async def list_attendees(self, request: Request, session: ConsoleSession) -> Response:
        meeting_id = self._meeting_id(request)
        entry = self._entry(session, meeting_id)
        attendees: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"MeetingId": meeting_id, **({"NextToken": token} if token else {})}
            page = await self.meetings.list_attendees(session.caller, params)
            attendees += page["Attendees"]
            token = page.get("NextToken")
            if not token:
                break
        fresh_after = time.time() - self.presence_ttl_s
        connected = await self.meetings.connected_attendees(session.caller, meeting_id, fresh_after)
        muted = await self.meetings.muted_attendees(session.caller, meeting_id, fresh_after)
        for attendee in attendees:
            attendee["Connected"] = attendee["AttendeeId"] in connected
            attendee["Muted"] = attendee["AttendeeId"] in muted
            attendee["SharingContent"] = (
                attendee["AttendeeId"] + MODALITY in connected
            )  # its #content session
            known = entry.join_tokens.get(attendee["AttendeeId"])
            if known is not None:
                attendee["JoinToken"] = known[1]
        return JSONResponse({"Attendees": attendees})

    async def _create_attendee(
        self, session: ConsoleSession, meeting_id: str, name: str, audio: str
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"MeetingId": meeting_id, "ExternalUserId": name}
        if audio != "SendReceive":
            params["Capabilities"] = {"Audio": audio, "Video": "None", "Content": "None"}
        self._validated("CreateAttendee", params)
        attendee: dict[str, Any] = (await self.meetings.create_attendee(session.caller, params))["Attendee"]
        entry = self._entry(session, meeting_id)
        entry.join_tokens[attendee["AttendeeId"]] = (name, attendee["JoinToken"], audio)
        return attendee

    async def create_attendee(self, request: Request, session: ConsoleSession) -> Response:
        meeting_id = self._meeting_id(request)
        body = await self._json(request)
        name = str(body.get("ExternalUserId") or "").strip()
        audio = str(body.get("Audio") or "SendReceive")
        if audio not in ("SendReceive", "Receive"):
            raise bad_request("Audio must be SendReceive or Receive")
        attendee = await self._create_attendee(session, meeting_id, name, audio)
        return JSONResponse({"Attendee": attendee}, status_code=201)

    async def delete_attendee(self, request: Request, session: ConsoleSession) -> Response:
        meeting_id = self._meeting_id(request)
        attendee_id = request.path_params["attendee_id"]
        params = self._validated("DeleteAttendee", {"MeetingId": meeting_id, "AttendeeId": attendee_id})
        await self.meetings.delete_attendee(session.caller, params)
        self._entry(session, meeting_id).join_tokens.pop(attendee_id.lower(), None)
        return Response(status_code=204)

    async def events(self, websocket: WebSocket) -> None:
        """The console's live captions: a read-only subscription to the meeting's events, authenticated by the
        session cookie (so the console is never an attendee: it does not appear in ListAttendees)."""
        session = self.sessions.get(websocket.cookies.get(COOKIE_NAME))
        origin = websocket.headers.get("origin")
        foreign = (
            origin is not None
            and urlsplit(origin).netloc.lower() != websocket.headers.get("host", "").lower()
        )
        meeting_id = websocket.path_params["meeting_id"]
        if session is None or foreign or not self._guid.fullmatch(meeting_id) or self.follow is None:
            await websocket.close(code=4403)  # before accept: an HTTP 403
            return
        await self.follow(websocket, session.account_id)

    # -- transcription --------------------------------------------------------------------------

    async def start_transcription(self, request: Request, session: ConsoleSession) -> Response:
        meeting_id = self._meeting_id(request)
        body = await self._json(request)
        params = self._validated(
            "StartMeetingTranscription",
            {"MeetingId": meeting_id, "TranscriptionConfiguration": body.get("TranscriptionConfiguration")},
        )
        await self.meetings.start_meeting_transcription(session.caller, params)
        state = await self.meetings.transcription_state(session.caller, meeting_id)
        return JSONResponse(
            {
                "Status": state.status if state else "unknown",
                "Message": (state.extra or {}).get("message") if state else None,
            }
        )

    async def stop_transcription(self, request: Request, session: ConsoleSession) -> Response:
        meeting_id = self._meeting_id(request)
        await self.meetings.stop_meeting_transcription(session.caller, {"MeetingId": meeting_id})
        return JSONResponse({"Status": "stopped"})

    async def transcript(self, request: Request, session: ConsoleSession) -> Response:
        """The stored final results as a download, like the signed ``/meetings/{id}/transcript``."""
        meeting_id = self._meeting_id(request)
        document = await self.meetings.export_transcript(
            session.account_id, meeting_id, request.query_params.get("format", "jsonl")
        )
        return Response(
            document.text,
            media_type=document.media_type,
            headers={"Content-Disposition": f'attachment; filename="{meeting_id}.{document.extension}"'},
        )

    async def list_transcripts(self, request: Request, session: ConsoleSession) -> Response:
        """The account's stored transcripts, also of ended meetings (as the signed ``GET /transcripts``)."""
        query = request.query_params
        page = await self.meetings.list_transcripts(
            session.account_id, query.get("max-results"), query.get("next-token")
        )
        return JSONResponse(page)

    async def delete_transcript(self, request: Request, session: ConsoleSession) -> Response:
        await self.meetings.delete_transcript(session.account_id, self._meeting_id(request))
        return Response(status_code=204)

    # -- routes ---------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        e = self.endpoint
        base = "/console/api"
        meeting = base + "/meetings/{meeting_id}"
        return [
            Route(base + "/login", e(self.login, signed_in=False), methods=["POST"]),
            Route(base + "/logout", e(self.logout, signed_in=False), methods=["POST"]),
            Route(base + "/session", e(self.whoami), methods=["GET"]),
            Route(base + "/meetings", e(self.list_meetings), methods=["GET"]),
            Route(base + "/meetings", e(self.create_meeting), methods=["POST"]),
            Route(meeting, e(self.get_meeting), methods=["GET"]),
            Route(meeting, e(self.delete_meeting), methods=["DELETE"]),
            Route(meeting + "/attendees", e(self.list_attendees), methods=["GET"]),
            Route(meeting + "/attendees", e(self.create_attendee), methods=["POST"]),
            Route(meeting + "/attendees/{attendee_id}", e(self.delete_attendee), methods=["DELETE"]),
            WebSocketRoute(meeting + "/events", self.events),
            Route(meeting + "/transcription/start", e(self.start_transcription), methods=["POST"]),
            Route(meeting + "/transcription/stop", e(self.stop_transcription), methods=["POST"]),
            Route(meeting + "/transcript", e(self.transcript), methods=["GET"]),
            Route(meeting + "/transcript", e(self.delete_transcript), methods=["DELETE"]),
            Route(base + "/transcripts", e(self.list_transcripts), methods=["GET"]),
            Route(base + "/vocabularies", e(self.list_vocabularies), methods=["GET"]),
            Route(base + "/vocabularies", e(self.create_vocabulary), methods=["POST"]),
            Route(base + "/vocabularies/{kind}/{name}", e(self.delete_vocabulary), methods=["DELETE"]),
            # Anything else under the API (another path, or a method a path does not take) is a JSON 404,
            # not Starlette's plain-text 404/405: every console answer has the same shape.
            _anything_under(base, e(self.no_such_call, signed_in=False)),
        ]

    # -- vocabularies and filters (the Transcribe API's calls, validated by its model) ------------

    def _vocabulary_service(self) -> VocabularyService:
        if self.vocabularies is None:
            raise ConsoleError(404, "NotFound", "Vocabularies are not served here")
        return self.vocabularies

    def _transcribe_params(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        violations = validate(self.transcribe_model.operation_model(operation).input_shape, params)
        if violations.messages:
            raise bad_request(violations.summary())
        return params

    async def list_vocabularies(self, _request: Request, session: ConsoleSession) -> Response:
        """Every custom vocabulary, medical vocabulary and vocabulary filter of the account (first 100 each)."""
        service = self._vocabulary_service()
        page = {"MaxResults": 100}
        out = []
        for kind, listing in (
            ("vocabulary", await service.list_vocabularies(session.caller, page)),
            ("medical", await service.list_medical_vocabularies(session.caller, page)),
        ):
            out += [
                {
                    "Kind": kind,
                    "Name": v["VocabularyName"],
                    "LanguageCode": v["LanguageCode"],
                    "State": v["VocabularyState"],
                }
                for v in listing["Vocabularies"]
            ]
        filters = await service.list_vocabulary_filters(session.caller, page)
        out += [
            {
                "Kind": "filter",
                "Name": f["VocabularyFilterName"],
                "LanguageCode": f["LanguageCode"],
                "State": "READY",
            }
            for f in filters["VocabularyFilters"]
        ]
        return JSONResponse({"Vocabularies": out})

    async def create_vocabulary(self, request: Request, session: ConsoleSession) -> Response:
        """A vocabulary from phrases or a filter from words (medical vocabularies come from files: API only)."""
        service = self._vocabulary_service()
        body = await self._json(request)
        kind, name, language, words = (body.get(k) for k in ("Kind", "Name", "LanguageCode", "Words"))
        if kind == "vocabulary":
            params = self._transcribe_params(
                "CreateVocabulary", {"VocabularyName": name, "LanguageCode": language, "Phrases": words}
            )
            await service.create_vocabulary(session.caller, params)
        elif kind == "filter":
            params = self._transcribe_params(
                "CreateVocabularyFilter",
                {"VocabularyFilterName": name, "LanguageCode": language, "Words": words},
            )
            await service.create_vocabulary_filter(session.caller, params)
        else:
            raise bad_request(
                "Kind must be vocabulary or filter (medical vocabularies are created from a file)"
            )
        return JSONResponse({"Kind": kind, "Name": name}, status_code=201)

    async def delete_vocabulary(self, request: Request, session: ConsoleSession) -> Response:
        service = self._vocabulary_service()
        kind, name = request.path_params["kind"], request.path_params["name"]
        if kind == "vocabulary":
            await service.delete_vocabulary(
                session.caller, self._transcribe_params("DeleteVocabulary", {"VocabularyName": name})
            )
        elif kind == "medical":
            params = self._transcribe_params("DeleteMedicalVocabulary", {"VocabularyName": name})
            await service.delete_medical_vocabulary(session.caller, params)
        elif kind == "filter":
            params = self._transcribe_params("DeleteVocabularyFilter", {"VocabularyFilterName": name})
            await service.delete_vocabulary_filter(session.caller, params)
        else:
            raise ConsoleError(404, "NotFound", f"No vocabulary kind {kind}")
        return JSONResponse({})

    async def no_such_call(self, request: Request, _session: ConsoleSession | None) -> Response:
        raise ConsoleError(404, "NotFound", f"No console call {request.method} {request.url.path}")


def _ended_summary(m: ConsoleMeeting) -> dict[str, Any]:
    return {
        "MeetingId": m.meeting_id,
        "ExternalMeetingId": m.external_meeting_id,
        "CreatedAt": int(m.created_at * 1000),
        "Ended": True,
    }


_NO_STORE = {"Cache-Control": "no-store"}
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# The pages load only their own scripts and styles, and talk only to this origin ('self' covers ws/wss too).
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _page(name: str) -> Callable[[Request], Awaitable[Response]]:
    path = STATIC_DIR / name

    async def serve(_request: Request) -> Response:
        return FileResponse(path, media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS)

    return serve


def web_routes(
    meetings: MeetingService,
    credentials: CredentialStore,
    settings: Settings,
    follow: Follow | None = None,
    vocabularies: VocabularyService | None = None,
) -> list[BaseRoute]:
    """Routes for the console (``/``), the join page (``/join``), ``/static`` and ``/console/api``."""
    api = ConsoleApi(
        meetings,
        credentials,
        settings.public_url,
        follow=follow,
        vocabularies=vocabularies,
        presence_ttl_s=settings.live.presence_ttl_s,
    )
    return [
        Route("/", _page("console.html"), methods=["GET"]),
        Route("/join", _page("join.html"), methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
        *api.routes(),
    ]
