"""Connection guards below the application: a deadline for request headers and a cap per client address.

uvicorn has neither: a client that connects and sends nothing, or half a request line, holds its connection
(and a file descriptor) forever, and one address may open as many as it likes, as fast as it likes (a client
reconnecting in a loop kept the event loop busy with hundreds of handshakes a second: docs/benchmarks.md "Abuse"). Both need the TCP connection,
which ASGI never shows, so they are small subclasses of uvicorn's own protocol classes (passed to
``uvicorn.Config(http=..., ws=...)``) rather than middleware. Everything else is uvicorn's: the keep-alive
timeout between requests (``timeout_keep_alive``), the body timeout (``api/endpoint.py`` ``read_body``), the
socket first-message timeouts (``ws/audio.py``, ``signaling/endpoint.py``). docs/operations.md "Limits".
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

log = logging.getLogger(__name__)

_TIMEOUT_BODY = b'{"Code":"RequestTimeout","Message":"The request headers did not arrive in time."}'
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n\r\n" + _TIMEOUT_BODY
)


@dataclass
class ConnectionGuard:
    """What the protocols share: the limits, how many connections each address holds now, and how fast it has
    been opening them (a token bucket: ``new_per_second`` sustained, ``new_burst`` at once)."""

    header_timeout_s: float = 10.0
    max_per_address: int = 64
    new_per_second: float = 50.0
    new_burst: float = 200.0
    # Load balancers and the other nodes (--trusted-address): every client behind a balancer shares its address,
    # and the nodes relay Chime SDK signaling to each other, so per-address caps would cap the whole service.
    trusted: Sequence[Network] = ()
    open: Counter[str] = field(default_factory=Counter)
    clock: Callable[[], float] = time.monotonic
    _rates: dict[str, tuple[float, float]] = field(default_factory=dict)  # address -> (tokens, updated)
    _trust: dict[str, bool] = field(default_factory=dict)

    def is_trusted(self, address: str) -> bool:
        if not self.trusted:
            return False
        known = self._trust.get(address)
        if known is None:
            try:
                ip = ipaddress.ip_address(address)
                known = any(ip in network for network in self.trusted)
            except ValueError:  # "unknown", a Unix socket path
                known = False
            if len(self._trust) < 10_000:
                self._trust[address] = known
        return known

    def admit(self, address: str) -> bool:
        if self.is_trusted(address):
            return True  # not counted, so not released either
        if self.open[address] >= self.max_per_address or not self._take_rate(address):
            return False
        self.open[address] += 1
        return True

    def _take_rate(self, address: str) -> bool:
        now = self.clock()
        tokens, updated = self._rates.get(address, (self.new_burst, now))
        tokens = min(self.new_burst, tokens + (now - updated) * self.new_per_second)
        if len(self._rates) > 10_000:  # forget addresses whose bucket has refilled
            refill = self.new_burst / self.new_per_second
            self._rates = {a: (t, u) for a, (t, u) in self._rates.items() if now - u < refill}
        if tokens < 1:
            self._rates[address] = (tokens, now)
            return False
        self._rates[address] = (tokens - 1, now)
        return True

    def release(self, address: str) -> None:
        if self.is_trusted(address):
            return
        self.open[address] -= 1
        if self.open[address] <= 0:
            del self.open[address]


def _address(transport: Any) -> str:
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"


def guarded_protocols(guard: ConnectionGuard) -> tuple[type, type]:
    """uvicorn's httptools and websockets-sansio protocols, with ``guard`` applied (for ``uvicorn.Config``)."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    class GuardedWebSocket(WebSocketsSansIOProtocol):  # type: ignore[misc]
        """A connection upgraded from HTTP: it still counts for its address until it is lost."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            self.guard_address = _address(transport)
            super().connection_made(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            guard.release(self.guard_address)
            super().connection_lost(exc)

    class GuardedHttp(HttpToolsProtocol):  # type: ignore[misc]
        guard_address = "unknown"
        admitted = False
        handed_over = False
        deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.guard_address = _address(transport)
            self.admitted = guard.admit(self.guard_address)
            if not self.admitted:
                log.debug("refused a connection from %s: over its connection limits", self.guard_address)
                transport.abort()
                return
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def handle_websocket_upgrade(self) -> None:
            self.handed_over = True  # the WebSocket protocol releases the address when it is lost
            super().handle_websocket_upgrade()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self.admitted and not self.handed_over:
                guard.release(self.guard_address)
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self.deadline is None:
                self.deadline = self.loop.call_later(guard.header_timeout_s, self._too_slow)

        def _disarm(self) -> None:
            if self.deadline is not None:
                self.deadline.cancel()
                self.deadline = None

        def _too_slow(self) -> None:
            self.deadline = None
            if not self.transport.is_closing():
                self.transport.write(_TIMEOUT_RESPONSE)
                self.transport.close()

    return GuardedHttp, GuardedWebSocket
