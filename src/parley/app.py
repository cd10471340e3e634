"""The Starlette application: everything is built here, in the lifespan, and closed on shutdown."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from parley.api.dispatch import meeting_handlers
from parley.api.endpoint import RestJsonEndpoint
from parley.auth import SigV4Verifier
from parley.config import Settings
from parley.credentials import CredentialStore
from parley.meetings.service import MeetingService
from parley.protocol.router import Router
from parley.protocol.spec import CHIME_SDK_MEETINGS, load_service_model
from parley.store import Store


@dataclass
class Components:
    """What the lifespan builds; tests and later transports reach the running pieces through it."""

    settings: Settings
    credentials: CredentialStore
    store: Store
    meetings: MeetingService


def create_app(settings: Settings, credentials: CredentialStore) -> Starlette:
    service_model = load_service_model(*CHIME_SDK_MEETINGS)
    router = Router(service_model)
    verifier = SigV4Verifier(credentials, services=("chime",))
    store = Store.for_data_dir(
        settings.data_dir, settings.database_url, sqlite_synchronous=settings.sqlite_synchronous
    )
    meetings = MeetingService(store, settings.limits)
    endpoint = RestJsonEndpoint(
        service=service_model,
        router=router,
        handlers=meeting_handlers(meetings),
        verifier=verifier,
        public_url=settings.public_url,
        max_body_bytes=settings.max_body_bytes,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await store.open()
        app.state.components = Components(settings, credentials, store, meetings)
        try:
            yield
        finally:
            await store.close()

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def api(request: Request) -> object:
        return await endpoint(request)

    routes = [
        Route("/ping", health, methods=["GET"]),
        Route("/{path:path}", api, methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
