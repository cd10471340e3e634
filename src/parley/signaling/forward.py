"""Forwarding a Chime SDK signaling socket to the node that hosts its meeting's room (hosting.py says why).

Only signaling travels this way (a few small frames a second per client; the SDP answer names the host's own ICE
candidates, so media goes straight to the host). Frames are relayed unchanged in both directions, and so are the
host's close codes: what the SDK does on a close (reconnect on 1006 and 45xx, stop on a terminal status) is the
host's decision. If the host itself goes away, the client is closed with ``HOST_LOST`` (45xx), and the SDK
reconnects: to whichever node then hosts the meeting.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging

import websockets
from starlette.websockets import WebSocket
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

from parley.live.session import close_reason

log = logging.getLogger(__name__)

HOST_LOST = 4502  # the host went away mid-session: 45xx makes the SDK reconnect (chime-signaling.md §6)
OPEN_TIMEOUT_S = 1.5  # a healthy node answers a handshake in milliseconds; a frozen one never does
# A host that stops answering (frozen, or its machine gone) is noticed within PING_INTERVAL_S + PING_TIMEOUT_S,
# well before the SDK's own checks (25 s without packets, four missed pongs): its clients then reconnect sooner.
PING_INTERVAL_S = 2.0
PING_TIMEOUT_S = 4.0
CLOSE_TIMEOUT_S = 1.0  # a host that missed its pongs will not answer a close either (websockets waits 10 s)


class Unreachable(enum.Enum):
    FORBIDDEN = "forbidden"  # the host refused the handshake (the token is no longer valid there, say)
    NOT_LISTENING = "not listening"  # nothing listens at the host's URL: its process is gone


def control_url(node_url: str, meeting_id: str) -> str:
    scheme, sep, rest = node_url.partition("://")
    ws_scheme = {"http": "ws", "https": "wss"}.get(scheme.lower(), scheme)
    return f"{ws_scheme}{sep}{rest.rstrip('/')}/control/{meeting_id}"


async def open_upstream(
    node_url: str, meeting_id: str, subprotocols: list[str], headers: dict[str, str]
) -> ClientConnection | Unreachable | None:
    """Open the socket to the host; None if it did not answer in time (it may be dead: the caller retries)."""
    try:
        return await websockets.connect(
            control_url(node_url, meeting_id),
            subprotocols=subprotocols,  # type: ignore[arg-type]
            additional_headers=headers,
            open_timeout=OPEN_TIMEOUT_S,
            max_size=None,  # the host enforces its own limits
            compression=None,
            ping_interval=PING_INTERVAL_S,
            ping_timeout=PING_TIMEOUT_S,
            close_timeout=CLOSE_TIMEOUT_S,
        )
    except InvalidStatus as exc:
        log.info("host %s refused a forwarded socket: HTTP %s", node_url, exc.response.status_code)
        return Unreachable.FORBIDDEN if exc.response.status_code == 403 else None
    except ConnectionRefusedError:
        log.info("host %s refused the connection: not running", node_url)
        return Unreachable.NOT_LISTENING
    except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
        log.info("host %s not reachable: %s", node_url, exc)
        return None


async def relay(client: WebSocket, upstream: ClientConnection) -> None:
    """Relay frames until one side closes; then close the other side the way the first one closed."""

    async def downstream() -> None:
        async for message in upstream:
            if isinstance(message, bytes):
                await client.send_bytes(message)
            else:
                await client.send_text(message)

    async def upstream_side() -> int:
        while True:
            message = await client.receive()
            if message["type"] == "websocket.disconnect":
                return int(message.get("code") or 1000)
            data = message.get("bytes")
            await upstream.send(data if data is not None else message.get("text") or "")

    down = asyncio.ensure_future(downstream())
    up = asyncio.ensure_future(upstream_side())
    try:
        await asyncio.wait({down, up}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (down, up):
            task.cancel()
            # Either side may have failed on the other's close (a send after it): the outcome is read below.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    if up.done() and not up.cancelled() and up.exception() is None:
        # The client left: tell the host as the client told us (1005/1006 are not codes one may send). The host
        # reads a departure without LEAVE as a drop, whatever the code.
        code = up.result()
        with contextlib.suppress(Exception):
            await upstream.close(code if code in (1000, 1001) or 3000 <= code < 5000 else 1000)
        return
    code = upstream.close_code  # 1006: the host vanished without a close frame (killed, network gone)
    with contextlib.suppress(Exception):
        if code is not None and code not in (1005, 1006):
            await client.close(code, close_reason(upstream.close_reason or ""))
        else:
            await client.close(HOST_LOST, "the meeting's server went away; reconnect")
    with contextlib.suppress(Exception):
        await upstream.close()
