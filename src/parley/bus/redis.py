"""The Redis bus: delivers every process's events to subscribers in every other process sharing one Redis.

Design:

* **Publishing** goes through an ordinary ``redis.asyncio.Redis`` client (its own pool). One publisher
  awaiting each ``publish()`` before the next gets per-channel order, since Redis handles PUBLISH in order.
* **Subscribing** multiplexes *all* of this process's subscriptions over ONE dedicated pub/sub connection.
  The bus reference-counts channels and patterns: the first local subscriber sends SUBSCRIBE/PSUBSCRIBE, the
  last one to leave sends UNSUBSCRIBE/PUNSUBSCRIBE. A single reader task reads that connection and fans each
  message out to the local subscriptions (non-blocking, bounded queues — see :mod:`parley.bus.base`).
* We drive a raw ``redis.asyncio.Connection`` rather than ``redis.asyncio.client.PubSub`` because PubSub
  reconnects and resubscribes *inside* its read call: we would never learn that messages may have been lost
  (so could not report ``interrupted``), nor when each SUBSCRIBE was acknowledged (needed for the
  subscribe-before-publish guarantee).

Subscribe-before-publish: entering a subscription returns only after Redis acknowledged the (P)SUBSCRIBE *that
made it live* — per channel we count SUBSCRIBEs sent and not yet acknowledged on the current connection, and
the channel counts as live only when that count reaches zero, so an acknowledgement of an earlier SUBSCRIBE
(followed by an UNSUBSCRIBE) is never mistaken for the current one. Redis executes commands in order, so any
PUBLISH — from any process — that Redis executes after the acknowledgement reaches us.

Reconnects: when the pub/sub connection drops (or stops answering keepalive PINGs) the reader tells
connection listeners :attr:`ConnectionEvent.INTERRUPTED` once, reconnects with exponential backoff and jitter,
resubscribes every channel and pattern, and — once Redis has acknowledged all of them (a marker PING sent
after the resubscribes comes back) — tells them :attr:`ConnectionEvent.RESUMED`. Messages published while
interrupted are lost for this process (Redis pub/sub is at-most-once); the pipeline reports that window as an
``interrupted``/``resumed`` transcription status. Subscriptions stay open across the outage; a subscription
entered during an outage waits until it is live. ``publish()`` during an outage raises
:class:`BusUnavailable`.

Channel names are namespaced (``namespace`` + channel, default ``parley:``) so several deployments, or
parallel test runs, can share one Redis without hearing each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from parley.bus.base import (
    DEFAULT_QUEUE_SIZE,
    BusClosed,
    BusUnavailable,
    ChannelMessage,
    ConnectionEvent,
    ConnectionListener,
    Message,
    Subscription,
    decode,
    encode,
    validate_name,
)

log = logging.getLogger(__name__)

_RESUME_MARKER = b"parley-bus-resumed"
_KEEPALIVE_MARKER = b"parley-bus-keepalive"
_CONNECTION_ERRORS = (RedisError, OSError, asyncio.TimeoutError)

# A key in the subscription tables: ("c", channel) or ("p", pattern), both as sent to Redis (namespaced).
_Key = tuple[str, bytes]


@dataclass
class _Entry:
    """One Redis-level subscription and the local subscriptions sharing it."""

    name: str  # the local name: a channel, or ``prefix*`` for a pattern
    subs: set[Subscription[Any]] = field(default_factory=set)
    live: bool = False
    waiters: list[asyncio.Future[None]] = field(default_factory=list)

    def set_live(self) -> None:
        self.live = True
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_result(None)
        self.waiters.clear()


def _glob_escape(text: str) -> str:
    """Escape Redis glob metacharacters so a prefix matches literally."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


class RedisEventBus:
    """An :class:`~parley.bus.base.EventBus` over Redis pub/sub; see the module docstring for guarantees."""

    def __init__(
        self,
        url: str,
        *,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        namespace: str = "parley:",
        client_name: str = "parley-events",
        keepalive_s: float = 5.0,
        backoff_s: tuple[float, float] = (0.1, 5.0),
        connect_timeout_s: float = 5.0,
    ) -> None:
        if queue_size <= 0:
            raise ValueError("queue_size must be positive")
        if not 0 < backoff_s[0] <= backoff_s[1]:
            raise ValueError("backoff_s must be (min, max) with 0 < min <= max")
        self._url = url
        self._queue_size = queue_size
        self._ns = namespace
        self._ns_bytes = namespace.encode()
        self._keepalive_s = keepalive_s
        self._backoff = backoff_s
        # Publishing retries twice, quickly, on connection errors only: a pooled connection may be stale after
        # a Redis restart. (A reply lost after Redis ran the PUBLISH can so, rarely, deliver a message twice;
        # a timeout is not retried.) A publish during a real outage still fails within about a second.
        self._client = Redis.from_url(
            url,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2, supported_errors=(RedisConnectionError,)),
            socket_connect_timeout=connect_timeout_s,
            socket_timeout=connect_timeout_s,
            client_name=f"{client_name}-publish",
        )
        # The pub/sub connection never retries inside a call: the reader owns reconnection (and reports it).
        self._sub_pool = ConnectionPool.from_url(
            url,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=connect_timeout_s,
            client_name=client_name,
            # The reader parses RESP2 pub/sub replies itself. Under RESP3 (redis-py's default since 8) the
            # parser diverts subscribe acknowledgements and messages to push handlers instead of returning them.
            protocol=2,
        )
        if str(self._sub_pool.connection_kwargs.get("protocol")) != "2":
            raise ValueError("the event bus needs RESP2 for pub/sub: remove `protocol=` from the Redis URL")
        self._entries: dict[_Key, _Entry] = {}
        self._unacked: dict[_Key, int] = {}
        self._conn: AbstractConnection | None = None
        # Every write to the pub/sub connection goes through this queue and one writer task, so a subscriber
        # cancelled mid-join can never interrupt a half-written command (redis-py would drop the shared
        # connection) and commands reach Redis exactly in the order the bus decided them.
        self._outbox: asyncio.Queue[tuple[AbstractConnection, tuple[str | bytes, ...]] | None] = (
            asyncio.Queue()
        )
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._listeners: list[ConnectionListener] = []
        self._connected = False
        self._resuming = False
        self._started = False
        self._closed = False

    # -- lifecycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect both the publishing client and the pub/sub connection; fail now if Redis is unreachable."""
        if self._started:
            return
        if self._closed:
            raise BusClosed("the event bus is closed")
        try:
            await self._client.ping()
            conn = await self._open()
        except _CONNECTION_ERRORS as exc:
            raise BusUnavailable(f"cannot reach Redis at {self._redacted_url()}: {exc}") from exc
        self._started = True
        self._connected = True
        self._writer = asyncio.create_task(self._write_loop(), name="parley-bus-redis-writer")
        # Installed before start() returns, so subscriptions made right after go straight to the server.
        self._install(conn)
        self._reader = asyncio.create_task(self._run(conn), name="parley-bus-redis-reader")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        # Cancellation alone is not relied on: Python 3.11's wait_for (used inside redis-py's send/connect)
        # can swallow a cancel. Both loops also stop on ``_closed``, the dropped connection wakes the reader,
        # and a sentinel wakes the writer.
        if self._reader is not None:
            self._reader.cancel()
        await self._drop_connection()
        self._outbox.put_nowait(None)
        for task in (self._reader, self._writer):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        entries = list(self._entries.values())
        self._entries.clear()
        for entry in entries:
            for sub in list(entry.subs):
                sub._end()
            for waiter in entry.waiters:
                if not waiter.done():
                    waiter.set_exception(BusClosed("the event bus closed before the subscription was live"))
        await self._client.aclose()
        await self._sub_pool.aclose()

    @property
    def connected(self) -> bool:
        """True while the pub/sub connection is up and every subscription is live."""
        return self._connected and not self._resuming

    def add_connection_listener(self, listener: ConnectionListener) -> Callable[[], None]:
        self._listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

    # -- publish / subscribe -------------------------------------------------------------------------------

    async def publish(self, channel: str, message: Message) -> None:
        validate_name(channel, "channel")
        data = encode(message)
        if self._closed:
            raise BusClosed("the event bus is closed")
        try:
            await self._client.publish(self._ns + channel, data)
        except _CONNECTION_ERRORS as exc:
            raise BusUnavailable(f"publish to {channel!r} failed: {exc}") from exc

    def subscribe(self, channel: str) -> Subscription[Message]:
        validate_name(channel, "channel")
        return Subscription(channel, self._queue_size, self._attach, self._detach)

    def subscribe_pattern(self, prefix: str) -> Subscription[ChannelMessage]:
        validate_name(prefix, "prefix")
        return Subscription(prefix + "*", self._queue_size, self._attach, self._detach)

    @property
    def subscriber_counts(self) -> dict[str, int]:
        """Local subscriptions per channel (``prefix*`` for patterns) — for tests and diagnostics."""
        return {entry.name: len(entry.subs) for entry in self._entries.values()}

    def _key(self, sub: Subscription[Any]) -> _Key:
        if sub.key.endswith("*"):
            return ("p", (_glob_escape(self._ns + sub.key[:-1]) + "*").encode())
        return ("c", (self._ns + sub.key).encode())

    async def _attach(self, sub: Subscription[Any]) -> None:
        if self._closed:
            raise BusClosed("the event bus is closed")
        if not self._started:
            raise RuntimeError("start() the event bus before subscribing")
        key = self._key(sub)
        entry = self._entries.get(key)
        created = entry is None
        if entry is None:
            entry = self._entries[key] = _Entry(sub.key)
        entry.subs.add(sub)
        # From here on the subscription holds a reference: release it on *any* way out (a cancelled join
        # must not leave a half-made entry behind for the next subscriber to wait on).
        try:
            if created:
                self._send("SUBSCRIBE" if key[0] == "c" else "PSUBSCRIBE", key)
            if entry.live:
                return
            waiter = asyncio.get_running_loop().create_future()
            entry.waiters.append(waiter)
            await waiter
        except BaseException:
            await self._detach(sub)
            raise

    async def _detach(self, sub: Subscription[Any]) -> None:
        key = self._key(sub)
        entry = self._entries.get(key)
        if entry is None or sub not in entry.subs:
            return
        entry.subs.discard(sub)
        if entry.subs:
            return
        del self._entries[key]
        for waiter in entry.waiters:
            waiter.cancel()
        if not self._closed:
            self._send("UNSUBSCRIBE" if key[0] == "c" else "PUNSUBSCRIBE", key)

    def _send(self, command: str, key: _Key) -> None:
        """Queue a (P)(UN)SUBSCRIBE if connected; while disconnected the reader resubscribes on reconnect."""
        conn = self._conn
        if conn is None:
            return
        if command in ("SUBSCRIBE", "PSUBSCRIBE"):
            self._unacked[key] = self._unacked.get(key, 0) + 1
        self._outbox.put_nowait((conn, (command, key[1])))

    async def _write_loop(self) -> None:
        while not self._closed:
            item = await self._outbox.get()
            if item is None:
                return
            conn, args = item
            # Commands queued for a connection that has since been dropped are moot: the next connection
            # resubscribes from the tables. Checking is_connected also stops redis-py from silently
            # reconnecting a dropped connection inside send_command.
            if conn is not self._conn or not conn.is_connected:
                continue
            try:
                await conn.send_command(*args)
            except _CONNECTION_ERRORS as exc:  # the reader notices too, and reconnects
                log.debug("event bus: %s failed on a dropping connection: %s", args[0], exc)

    # -- the reader ----------------------------------------------------------------------------------------

    async def _open(self) -> AbstractConnection:
        conn = self._sub_pool.make_connection()
        await conn.connect()
        return conn

    def _install(self, conn: AbstractConnection) -> None:
        """Make ``conn`` the pub/sub connection and queue the (re)subscription of everything listened to."""
        self._conn = conn
        self._unacked.clear()
        channels = [key for key in self._entries if key[0] == "c"]
        patterns = [key for key in self._entries if key[0] == "p"]
        for key in channels + patterns:
            self._entries[key].live = False
            self._unacked[key] = 1
        if channels:
            self._outbox.put_nowait((conn, ("SUBSCRIBE", *(name for _, name in channels))))
        if patterns:
            self._outbox.put_nowait((conn, ("PSUBSCRIBE", *(name for _, name in patterns))))
        # Replies come in command order, so this PING's reply means every resubscribe above is live.
        self._outbox.put_nowait((conn, ("PING", _RESUME_MARKER)))

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.disconnect(nowait=True)

    async def _run(self, conn: AbstractConnection) -> None:
        """Read, fan out, and reconnect until ``close()``."""
        delay = self._backoff[0]
        installed = True  # start() installed the first connection
        while not self._closed:
            try:
                if not installed:
                    self._resuming = True
                    self._install(conn)
                    installed = True
                delay = self._backoff[0]
                await self._read(conn)
            except _CONNECTION_ERRORS as exc:
                if not self._closed:
                    log.warning("event bus: lost the Redis pub/sub connection: %s", exc)
            except Exception:
                # Whatever broke the reader (a protocol surprise), a fresh connection is the way back.
                if not self._closed:
                    log.exception("event bus: the Redis pub/sub reader failed")
            await self._drop_connection()
            if self._closed:
                return
            if self._connected:
                self._connected = False
                self._notify(ConnectionEvent.INTERRUPTED)
            installed = False
            while not self._closed:
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, self._backoff[1])
                try:
                    conn = await self._open()
                    break
                except _CONNECTION_ERRORS as exc:
                    log.info("event bus: Redis still unreachable: %s", exc)
            if self._closed:
                with contextlib.suppress(Exception):
                    await conn.disconnect(nowait=True)
                return
            self._connected = True

    async def _read(self, conn: AbstractConnection) -> None:
        pinged = False
        while True:
            reply = await conn.read_response(timeout=self._keepalive_s, disconnect_on_error=False)
            if reply is None:
                # Silence: a PING tells a dead peer (no RST, e.g. a partition) from a quiet one.
                if pinged:
                    raise ConnectionError("Redis did not answer a keepalive PING")
                self._outbox.put_nowait((conn, ("PING", _KEEPALIVE_MARKER)))
                pinged = True
                continue
            pinged = False
            self._dispatch(reply)

    def _dispatch(self, reply: object) -> None:
        if isinstance(reply, bytes):  # PING reply outside subscribed mode (no subscriptions at all)
            reply = [b"pong", reply]
        if not isinstance(reply, list) or not reply:
            return
        kind = reply[0]
        if kind == b"message":
            entry = self._entries.get(("c", reply[1]))
            if entry is not None and entry.live:
                message = self._decode(reply[1], reply[2])
                if message is not None:
                    for sub in list(entry.subs):
                        sub._deliver(message)
        elif kind == b"pmessage":
            entry = self._entries.get(("p", reply[1]))
            if entry is not None and entry.live:
                message = self._decode(reply[2], reply[3])
                if message is not None:
                    item = ChannelMessage(reply[2][len(self._ns_bytes) :].decode(), message)
                    for psub in list(entry.subs):
                        psub._deliver(item)
        elif kind in (b"subscribe", b"psubscribe"):
            key: _Key = ("c" if kind == b"subscribe" else "p", reply[1])
            left = self._unacked.get(key, 0) - 1
            if left > 0:
                self._unacked[key] = left
                return
            self._unacked.pop(key, None)
            entry = self._entries.get(key)
            if entry is not None:
                entry.set_live()
        elif kind == b"pong" and len(reply) > 1 and reply[1] == _RESUME_MARKER and self._resuming:
            self._resuming = False
            self._notify(ConnectionEvent.RESUMED)

    def _decode(self, channel: bytes, data: bytes) -> Message | None:
        try:
            return decode(data)
        except ValueError:
            log.warning("event bus: dropped a non-JSON message on %r", channel)
            return None

    def _notify(self, event: ConnectionEvent) -> None:
        log.warning("event bus: Redis connection %s", event.value)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("event bus: connection listener failed")

    def _redacted_url(self) -> str:
        scheme, _, rest = self._url.partition("://")
        _credentials, at, host = rest.rpartition("@")
        return f"{scheme}://***@{host}" if at else self._url
