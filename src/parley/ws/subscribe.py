"""Backend subscription: a server process follows a meeting's transcript and status events.

Chime has no such API (users ask for it: amazon-chime-sdk-js#2724). The socket is authenticated with
SigV4 like the rest of the API, either headers on the upgrade request or a presigned URL, and sees
only meetings of the signing account.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.websockets import WebSocket

from parley.api.endpoint import raw_target
from parley.auth import AuthError, SigV4Verifier
from parley.live.convert import status_event
from parley.live.ending import Ending
from parley.live.messages import Closed, Ended, Events, UnknownMessage
from parley.live.messages import decode as decode_message
from parley.live.runtime import LiveRuntime
from parley.live.session import CloseCode, close_reason
from parley.transcripts.events import TranscriptEvent
from parley.transcripts.wire import to_json, to_sdk_transcript_frame

log = logging.getLogger(__name__)


class EventSubscriptionSocket:
    def __init__(self, runtime: LiveRuntime, verifier: SigV4Verifier) -> None:
        self.runtime = runtime
        self.verifier = verifier

    async def __call__(self, websocket: WebSocket) -> None:
        scope = websocket.scope
        raw_path, raw_query = raw_target(scope)
        try:
            verified = self.verifier.verify("GET", raw_path, raw_query, websocket.headers.items(), b"")
        except AuthError as exc:
            log.info("event subscription refused: %s", exc.code)
            await websocket.close(code=CloseCode.FORBIDDEN)
            return
        await self.follow(websocket, verified.identity.account_id)

    async def follow(self, websocket: WebSocket, account_id: str) -> None:
        """Serve the subscription once the caller is known to act for ``account_id`` (SigV4 above, or the
        console's session cookie: web/console.py)."""
        meeting_id = websocket.path_params["meeting_id"].lower()
        meeting = await self.runtime.store.get_meeting(account_id, meeting_id)
        protobuf = websocket.query_params.get("format") == "protobuf"
        await websocket.accept()
        if meeting is None:
            await websocket.close(code=4404, reason=close_reason(f"Meeting <{meeting_id}> not found"))
            return

        async def send(events: list[TranscriptEvent]) -> None:
            if protobuf:
                await websocket.send_bytes(to_sdk_transcript_frame(events))
            else:
                await websocket.send_text(to_json(events))

        async with self.runtime.bus.subscribe(self.runtime.channel(meeting_id)) as subscription:
            state = await self.runtime.store.get_transcription(meeting_id)
            if state is not None and state.status == "started":
                await send([status_event(state)])
            grace_s = self.runtime.settings.ack_timeout_s
            pump = asyncio.ensure_future(self._pump(websocket, grace_s, subscription, send))
            watch = asyncio.ensure_future(self._until_disconnect(websocket))
            _done, pending = await asyncio.wait({pump, watch}, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.gather(*pending)

    @staticmethod
    async def _until_disconnect(websocket: WebSocket) -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    @staticmethod
    async def _pump(
        websocket: WebSocket,
        grace_s: float,
        subscription: AsyncIterator[dict[str, Any]],
        send: Callable[[list[TranscriptEvent]], Awaitable[None]],
    ) -> None:
        ending: Ending | None = None
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(None) as grace:
                    async for raw in subscription:
                        try:
                            message = decode_message(raw)
                        except UnknownMessage:
                            continue  # not for subscribers (or from another version): nothing to forward
                        if isinstance(message, Events):
                            await send(list(message.events))
                        elif isinstance(message, Ended):
                            # The finals of speech in flight are still to come (live/ending.py).
                            ending = Ending.from_message(message)
                            grace.reschedule(asyncio.get_running_loop().time() + 2 * grace_s)
                            if ending.done:
                                break
                        elif isinstance(message, Closed) and ending is not None and ending.closed(message):
                            break
            if ending is not None:
                if ending.stopped:
                    await send(ending.stopped)
                await websocket.close(code=CloseCode.MEETING_ENDED, reason="the meeting ended")
        except Exception as exc:
            log.info("event subscription ended: %s", exc)
            with contextlib.suppress(Exception):
                await websocket.close(code=CloseCode.INTERNAL, reason="event delivery failed")
