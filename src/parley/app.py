"""The Starlette application: everything is built here, in the lifespan, and closed on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from parley.api.dispatch import meeting_handlers
from parley.api.endpoint import Receive, RestJsonEndpoint, Scope, Send
from parley.api.json_endpoint import AwsJsonEndpoint
from parley.api.transcripts import TranscriptsApi
from parley.auth import SigV4Verifier
from parley.bus import EventBus, create_bus
from parley.bus.metered import MeteredBus
from parley.config import Settings
from parley.credentials import CredentialStore
from parley.live.convert import engine_failure
from parley.live.runtime import LiveRuntime
from parley.live.speech import SpeechService
from parley.meetings.service import MeetingService
from parley.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from parley.metrics import Metrics
from parley.protocol.router import Router
from parley.protocol.spec import CHIME_SDK_MEETINGS, TRANSCRIBE, load_service_model
from parley.signaling.endpoint import SignalingSocket
from parley.signaling.hosting import RoomHosting, default_node_url
from parley.signaling.media import HostAddresses
from parley.signaling.turn import TurnIssuer
from parley.store import Store
from parley.throttle import create_throttle
from parley.vocabularies.service import VocabularyService
from parley.web import web_routes
from parley.ws.audio import AudioSocket
from parley.ws.subscribe import EventSubscriptionSocket


@dataclass
class Components:
    """What the lifespan builds; tests and later transports reach the running pieces through it."""

    settings: Settings
    credentials: CredentialStore
    store: Store
    bus: EventBus
    meetings: MeetingService
    live: LiveRuntime


# Paths Starlette serves; every other HTTP request is an AWS API call and goes straight to the endpoint.
# The web pages (``/``, ``/join``, ``/static/...``, ``/console/...``) live outside every AWS path, which all
# start with ``/meetings`` or ``/tags``. The stored-transcript calls go to Starlette only with their own
# methods: anything else is answered by the API endpoint as a modeled error, not Starlette's plain-text 405.
_STARLETTE_PATHS = re.compile(r"^/(ping$|healthz$|readyz$|metrics$|$|join$|static/|console/)")
_TRANSCRIPT_PATH = re.compile(r"^/meetings/[^/]+/transcript$")


def _is_starlette(scope: Scope) -> bool:
    path: str = scope["path"]
    if path == "/transcripts":
        return bool(scope["method"] == "GET")
    if _TRANSCRIPT_PATH.match(path):
        return scope["method"] in ("GET", "DELETE")
    return bool(_STARLETTE_PATHS.match(path))


def _is_transcribe(scope: Scope) -> bool:
    """Amazon Transcribe's awsJson1.1 calls (``X-Amz-Target: Transcribe.*``) share the port with Chime's API."""
    for key, value in scope["headers"]:
        if key == b"x-amz-target":
            return value.startswith(b"Transcribe.")
    return False


class ParleyApp:
    """The ASGI entry point: the AWS API on a lean path, everything else (lifespan, sockets) via Starlette."""

    def __init__(
        self,
        starlette: Starlette,
        api: RestJsonEndpoint,
        json_api: AwsJsonEndpoint | None = None,
        drain: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.starlette = starlette
        self.api = api
        self.json_api = json_api
        # Run by the server once it stops accepting, before it closes the open connections (cli.py).
        self.drain = drain

    @property
    def state(self) -> Any:
        return self.starlette.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.json_api is not None and _is_transcribe(scope):
            await self.json_api(scope, receive, send)
        elif scope["type"] == "http" and not _is_starlette(scope):
            await self.api(scope, receive, send)
        else:
            await self.starlette(scope, receive, send)


def create_app(settings: Settings, credentials: CredentialStore) -> ParleyApp:
    service_model = load_service_model(*CHIME_SDK_MEETINGS)
    verifier = SigV4Verifier(credentials, services=("chime",))
    metrics = Metrics()
    store = Store.for_data_dir(
        settings.data_dir,
        settings.database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        on_statement=metrics.db_seconds.observe,
    )
    bus = MeteredBus(create_bus(settings.redis_url), metrics)
    throttle = create_throttle(settings.api_rate, settings.api_burst, settings.redis_url)
    meetings = MeetingService(
        store,
        settings.limits,
        transcript_retention_s=settings.transcript_retention_s,
        engine_failure=engine_failure,
        media_url=settings.media_url,
    )
    vocabularies = VocabularyService(store, settings.data_dir / "vocabulary-files")
    json_api = AwsJsonEndpoint(
        service=load_service_model(*TRANSCRIBE),
        handlers=vocabularies.handlers(),
        verifier=SigV4Verifier(credentials, services=("transcribe",)),
        max_body_bytes=settings.max_body_bytes,
        body_timeout_s=settings.body_timeout_s,
        throttle=throttle,
        metrics=metrics,
    )
    speech = SpeechService(
        settings.data_dir,
        settings.speech,
        on_decode=lambda kind, seconds: metrics.decode_seconds.labels(kind).observe(seconds),
    )
    live = LiveRuntime(
        store=store, bus=bus, meetings=meetings, speech=speech, settings=settings.live, metrics=metrics
    )
    metrics.add_gauges(live.gauges)
    meetings.observers.append(live)
    endpoint = RestJsonEndpoint(
        service=service_model,
        router=Router(service_model),
        handlers=meeting_handlers(meetings),
        verifier=verifier,
        public_url=settings.public_url,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_s=settings.body_timeout_s,
        throttle=throttle,
        metrics=metrics,
    )
    transcripts = TranscriptsApi(service_model, verifier, meetings)
    # A socket's first message is held to the same deadline as request headers (docs/operations.md "Limits").
    audio_socket = AudioSocket(
        live,
        max_frame_bytes=settings.max_audio_frame_bytes,
        start_timeout_s=settings.header_timeout_s,
        max_audio_speed=settings.max_audio_speed,
        audio_burst_s=settings.audio_burst_s,
    )
    events_socket = EventSubscriptionSocket(live, verifier)
    node_url = settings.node_url or default_node_url(settings.host, settings.port, bool(settings.redis_url))
    hosting = RoomHosting(store, live.node_id, node_url, live.dead_nodes)
    signaling_socket = SignalingSocket(
        live,
        turn=TurnIssuer(settings.turn),
        first_frame_timeout_s=settings.header_timeout_s,
        max_video_sources=settings.max_video_sources,
        video_subscription_limit=settings.video_subscription_limit,
        hosting=hosting,
    )
    metrics.add_gauges(signaling_socket.gauges)
    host_addresses = HostAddresses(settings.media_address)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await store.open()
        await bus.start()
        await live.start()
        app.state.components = Components(settings, credentials, store, bus, meetings, live)
        try:
            with host_addresses.installed():
                yield
        finally:
            # Leases first: the clients this node's shutdown disconnects find their meetings free on other nodes.
            await signaling_socket.close()
            await live.close()
            await bus.close()
            await speech.close()
            await store.close()
            if throttle is not None:
                await throttle.close()

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def ready(_request: Request) -> JSONResponse:
        checks = await readiness(store, bus, speech)
        ok = all(c["ready"] for c in checks.values())
        return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    async def metrics_page(_request: Request) -> Response:
        return Response(metrics.render(), media_type=METRICS_CONTENT_TYPE)

    async def calls(websocket: WebSocket) -> None:
        await audio_socket(websocket)

    async def events(websocket: WebSocket) -> None:
        await events_socket(websocket)

    async def signaling(websocket: WebSocket) -> None:
        await signaling_socket(websocket)

    routes = [
        *web_routes(
            meetings,
            credentials,
            settings,
            follow=events_socket.follow,
            vocabularies=vocabularies,
        ),
        Route("/ping", health, methods=["GET"]),
        Route("/healthz", health, methods=["GET"]),
        Route("/readyz", ready, methods=["GET"]),
        Route("/metrics", metrics_page, methods=["GET"]),
        WebSocketRoute("/calls/{meeting_id}", calls),
        WebSocketRoute("/control/{meeting_id}", signaling),
        WebSocketRoute("/meetings/{meeting_id}/events", events),
        Route("/transcripts", transcripts.list, methods=["GET"]),
        Route("/meetings/{meeting_id}/transcript", transcripts.export, methods=["GET"]),
        Route("/meetings/{meeting_id}/transcript", transcripts.delete, methods=["DELETE"]),
    ]
    return ParleyApp(Starlette(routes=routes, lifespan=lifespan), endpoint, json_api, signaling_socket.drain)


async def readiness(store: Store, bus: EventBus, speech: SpeechService) -> dict[str, dict[str, Any]]:
    """What /readyz reports: the database answers, the bus is connected, the speech model is loaded (or, with
    --lazy-model, loads on first use). Each check says why it is not ready."""
    checks: dict[str, dict[str, Any]] = {}
    try:
        async with asyncio.timeout(2.0):
            await store.ping()
        checks["database"] = {"ready": True}
    except Exception as exc:  # any driver error means not ready; the reason goes to the operator
        checks["database"] = {"ready": False, "reason": f"{type(exc).__name__}: {exc}"[:300]}
    checks["bus"] = {"ready": True} if bus.connected else {"ready": False, "reason": "not connected"}
    failed = speech.failed
    if failed is not None:
        checks["speech_model"] = {"ready": False, "reason": f"failed to load: {failed}"[:300]}
    elif speech.loaded() is not None:
        checks["speech_model"] = {"ready": True}
    elif not speech.preload:
        checks["speech_model"] = {"ready": True, "detail": "loads on first use (--lazy-model)"}
    else:
        checks["speech_model"] = {"ready": False, "reason": "loading"}
    return checks
