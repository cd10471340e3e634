"""The event bus contract shared by the in-process and the Redis backends, and the subscription both hand out.

Why a bus at all: a meeting's events (transcripts, transcription status, control messages such as "meeting
deleted → close its sockets") are produced in whichever parley process handles the API call or runs the
recognizer, but attendees may be connected to any process. Every producer publishes to a channel
(``meeting:<id>``, ``control:<id>``, ...) and every process that cares subscribes.

Guarantees (both backends; the Redis backend states its extra caveats in :mod:`parley.bus.redis`):

* **Subscribe-before-publish.** A subscription whose ``async with`` block has been *entered* (``__aenter__``
  returned) before ``publish()`` is called receives that message. Entering waits until the subscription is
  live — for Redis, until the server has acknowledged the SUBSCRIBE/PSUBSCRIBE — so there is no window in
  which a freshly entered subscription misses a message published afterwards, from any process.
* **Order.** Messages one publisher publishes to one channel, awaiting each ``publish()`` before the next,
  arrive at every subscriber in that order. Concurrent, un-awaited publishes have no defined order.
* **Bounded memory, no silent loss.** Every subscription buffers at most ``queue_size`` undelivered messages.
  A subscriber that falls further behind is *overflowed*: its buffer is dropped and its iterator raises
  :class:`Overflow` (the transport closes that socket with a clear code). Publishers and other subscribers
  never wait for a slow subscriber.
* **Close.** ``bus.close()`` ends every subscription: iterators yield what is already buffered, then stop.
* Messages are JSON: a publish is serialized once (``json.dumps``) and decoded once per receiving process; all
  local subscribers of that process share the decoded dict, so consumers must treat it as read-only.
"""

from __future__ import annotations

import asyncio
import enum
import json
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Generic, NamedTuple, Protocol, Self, TypeVar

Message = dict[str, Any]

DEFAULT_QUEUE_SIZE = 1024


class BusError(Exception):
    """Base class of everything the bus raises."""


class Overflow(BusError):
    """Raised from a subscription's iterator after it fell more than ``queue_size`` messages behind."""

    def __init__(self, key: str, limit: int) -> None:
        super().__init__(f"subscriber to {key!r} fell more than {limit} messages behind; subscription closed")
        self.key = key
        self.limit = limit


class BusClosed(BusError):
    """Raised when subscribing to a bus that is closed (or closes while the subscribe is pending)."""


class BusUnavailable(BusError):
    """The backend cannot be reached (e.g. Redis is down): raised by ``start()`` and ``publish()``."""


class ConnectionEvent(enum.Enum):
    """What a connection listener is told; the pipeline turns these into ``interrupted``/``resumed`` statuses.

    ``INTERRUPTED``: the bus lost its link to the other processes; messages published anywhere until
    ``RESUMED`` may be lost for this process's subscribers (Redis pub/sub is at-most-once).
    ``RESUMED``: the link is back and every subscription is live on the server again.
    """

    INTERRUPTED = "interrupted"
    RESUMED = "resumed"


ConnectionListener = Callable[[ConnectionEvent], None]


class ChannelMessage(NamedTuple):
    """What a pattern subscription yields: pattern consumers need to know which channel a message came on."""

    channel: str
    message: Message


T = TypeVar("T")


class Subscription(Generic[T]):
    """A bounded, single-consumer queue of one channel's (or one prefix's) messages.

    Use as ``async with bus.subscribe(ch) as sub: async for msg in sub: ...``. The subscription is registered
    on entry (which waits until it is live) and released on exit; the bus reference-counts the underlying
    backend subscription per channel/pattern.
    """

    def __init__(
        self,
        key: str,
        queue_size: int,
        attach: Callable[[Subscription[T]], Awaitable[None]],
        detach: Callable[[Subscription[T]], Awaitable[None]],
    ) -> None:
        if queue_size <= 0:
            raise ValueError("queue_size must be positive")
        self.key = key
        self._limit = queue_size
        self._attach = attach
        self._detach = detach
        self._queue: deque[T] = deque()
        self._ready = asyncio.Event()
        self._entered = False
        self._attached = False
        self._ended = False
        self._overflowed = False
        self.on_deliver: Callable[[], None] | None = None  # a metrics hook (parley.bus.metered)

    # -- consumer side -------------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._entered:
            raise RuntimeError("a subscription can be entered only once")
        self._entered = True
        await self._attach(self)
        self._attached = True
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release the subscription (idempotent); the iterator stops after what is already buffered."""
        self._end()
        if self._attached:
            self._attached = False
            await self._detach(self)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        if not self._entered:
            raise RuntimeError("enter the subscription (`async with bus.subscribe(...)`) before iterating")
        while True:
            if self._overflowed:
                raise Overflow(self.key, self._limit)
            if self._queue:
                return self._queue.popleft()
            if self._ended:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()

    @property
    def overflowed(self) -> bool:
        return self._overflowed

    @property
    def pending(self) -> int:
        """Messages buffered and not yet consumed."""
        return len(self._queue)

    # -- bus side ------------------------------------------------------------------------------------------

    def _deliver(self, item: T) -> None:
        """Enqueue without ever blocking the caller (the publisher or the Redis reader)."""
        if self._ended or self._overflowed:
            return
        if self.on_deliver is not None:
            self.on_deliver()
        if len(self._queue) >= self._limit:
            # Dropping one message silently would corrupt a transcript; end the subscription loudly instead
            # and free its memory right away.
            self._overflowed = True
            self._queue.clear()
        else:
            self._queue.append(item)
        self._ready.set()

    def _end(self) -> None:
        self._ended = True
        self._ready.set()


class EventBus(Protocol):
    """Publish/subscribe of JSON messages between parley's components, in-process or across processes."""

    async def start(self) -> None:
        """Connect the backend; raises :class:`BusUnavailable` if it cannot be reached at all."""
        ...

    async def close(self) -> None:
        """Disconnect and end every subscription's iterator (idempotent)."""
        ...

    @property
    def connected(self) -> bool:
        """Whether messages published now reach other processes' subscriptions (readiness)."""
        ...

    async def publish(self, channel: str, message: Message) -> None:
        """Deliver ``message`` (JSON-serializable) to every subscription of ``channel`` in every process.

        Raises ``TypeError``/``ValueError`` for a message that is not JSON, :class:`BusUnavailable` when the
        backend is unreachable.
        """
        ...

    def subscribe(self, channel: str) -> Subscription[Message]:
        """A subscription to one channel; enter it with ``async with`` to make it live."""
        ...

    def subscribe_pattern(self, prefix: str) -> Subscription[ChannelMessage]:
        """A subscription to every channel whose name starts with ``prefix`` (e.g. ``"control:"``)."""
        ...

    def add_connection_listener(self, listener: ConnectionListener) -> Callable[[], None]:
        """Call ``listener`` on every :class:`ConnectionEvent`; returns a function that removes it.

        Listeners run synchronously on the bus's reader task and must not block; the in-process bus never
        calls them.
        """
        ...


def encode(message: Message) -> str:
    """Serialize once per publish; rejects what would not survive the trip through Redis."""
    if not isinstance(message, dict):
        raise TypeError(f"bus messages are dicts, not {type(message).__name__}")
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def decode(data: str | bytes) -> Message:
    message = json.loads(data)
    if not isinstance(message, dict):
        raise ValueError("bus message is not a JSON object")
    return message


def validate_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what} must be a non-empty string")
    return name
