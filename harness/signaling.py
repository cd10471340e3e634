"""A Chime SDK signaling client for tests: the SDK's wire protocol (0x05 || SdkSignalFrame) over websockets."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import websockets

from parley.proto import chime_signaling_pb2 as pb

SUBPROTOCOL = "_aws_wt_session"
RECV_WAIT_S = 30.0  # a generous bound so a broken server fails the test instead of hanging it


def signaling_url(meeting: dict[str, Any]) -> str:
    # What the SDK does: SignalingUrl plus its query string, appended by plain concatenation.
    url = meeting["MediaPlacement"]["SignalingUrl"]
    return url + "?X-Chime-Control-Protocol-Version=3&X-Amzn-Chime-Send-Close-On-Error=1"


def frame(kind: int, payload: str | None = None, **fields: Any) -> Any:
    message = pb.SdkSignalFrame(timestamp_ms=int(time.time() * 1000), type=kind)  # type: ignore[arg-type]
    if payload is not None:
        sub = getattr(message, payload)
        sub.SetInParent()
        for name, value in fields.items():
            setattr(sub, name, value)
    return message


@dataclass
class SignalingClient:
    url: str
    join_token: str
    ws: Any = None
    received: list[Any] = field(default_factory=list)

    async def connect(self) -> SignalingClient:
        # No receive limit: a test reads only the frames it waits for, and with websockets' default (16 frames
        # queued, then reading stops) the server's periodic frames would fill the queue and stall the close
        # handshake behind them until its 10 s timeout.
        self.ws = await websockets.connect(
            self.url,
            subprotocols=[SUBPROTOCOL, self.join_token],  # type: ignore[list-item]
            max_queue=None,
            open_timeout=15,  # the SDK's connectionTimeoutMs; a node may hold the handshake during a takeover
        )
        return self

    async def send(self, message: Any) -> None:
        await self.ws.send(b"\x05" + message.SerializeToString())

    async def recv(self) -> Any:
        async with asyncio.timeout(RECV_WAIT_S):
            data = await self.ws.recv()
        assert isinstance(data, bytes), "signaling frames are binary"
        assert data[0] == 0x05
        message = pb.SdkSignalFrame.FromString(data[1:])
        self.received.append(message)
        return message

    async def recv_type(self, kind: int) -> Any:
        """The next frame of ``kind``, skipping others (as the SDK's tasks do)."""
        while True:
            message = await self.recv()
            if message.type == kind:
                return message

    async def ping(self, ping_id: int) -> Any:
        await self.send(frame(pb.SdkSignalFrame.PING_PONG, "ping_pong", type=pb.PING, ping_id=ping_id))
        return await self.recv_type(pb.SdkSignalFrame.PING_PONG)

    async def join(self, audio_session_id: int = 3569085152) -> tuple[Any, Any]:
        join = frame(
            pb.SdkSignalFrame.JOIN, "join", protocol_version=2, flags=2, audio_session_id=audio_session_id
        )
        join.join.client_details.client_source = "amazon-chime-sdk-js"
        await self.send(join)
        first = await self.recv()
        second = await self.recv()
        return first, second

    async def close(self) -> None:
        await self.ws.close()

    def drop(self) -> None:
        """Abort the TCP connection without a close frame, as a lost network does (the server sees 1006)."""
        self.ws.transport.abort()
