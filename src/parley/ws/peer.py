"""Adapt a Starlette WebSocket to the live session's ``Peer``."""

from __future__ import annotations

import contextlib

from starlette.websockets import WebSocket, WebSocketState

from parley.live.session import close_reason


class StarlettePeer:
    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket

    async def send_text(self, data: str) -> None:
        await self.websocket.send_text(data)

    async def send_bytes(self, data: bytes) -> None:
        await self.websocket.send_bytes(data)

    async def close(self, code: int, reason: str) -> None:
        if self.websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await self.websocket.close(code=code, reason=close_reason(reason))

    def capabilities_changed(self) -> None:
        return None  # audio capabilities are applied by the hub; this socket carries nothing else
