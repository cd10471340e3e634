"""The in-process bus: the default when parley runs as a single process.

Delivery is synchronous inside ``publish()`` (no await before every subscriber's queue has the message), so
"entered before publish is called → delivered" and per-channel order hold trivially, with no threads and no
background task. Messages still make a JSON round trip so that code tested against this bus behaves the same
on Redis (tuples become lists, non-JSON values fail at publish, subscribers never share the publisher's dict).
"""

from __future__ import annotations

from collections.abc import Callable

from parley.bus.base import (
    DEFAULT_QUEUE_SIZE,
    BusClosed,
    ChannelMessage,
    ConnectionListener,
    Message,
    Subscription,
    decode,
    encode,
    validate_name,
)


class LocalEventBus:
    """An :class:`~parley.bus.base.EventBus` whose subscribers all live in this process."""

    def __init__(self, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        if queue_size <= 0:
            raise ValueError("queue_size must be positive")
        self._queue_size = queue_size
        self._channels: dict[str, set[Subscription[Message]]] = {}
        self._prefixes: dict[str, set[Subscription[ChannelMessage]]] = {}
        self._closed = False

    async def start(self) -> None:
        """Nothing to connect; present for the protocol."""

    @property
    def connected(self) -> bool:
        return not self._closed

    async def close(self) -> None:
        self._closed = True
        subs: list[Subscription[Message] | Subscription[ChannelMessage]] = [
            s for group in self._channels.values() for s in group
        ]
        subs.extend(s for group in self._prefixes.values() for s in group)
        self._channels.clear()
        self._prefixes.clear()
        for sub in subs:
            sub._end()

    async def publish(self, channel: str, message: Message) -> None:
        validate_name(channel, "channel")
        data = encode(message)
        if self._closed:
            raise BusClosed("the event bus is closed")
        subs = self._channels.get(channel)
        matching = [group for prefix, group in self._prefixes.items() if channel.startswith(prefix)]
        if not subs and not matching:
            return
        received = decode(data)
        for sub in list(subs or ()):
            sub._deliver(received)
        if matching:
            item = ChannelMessage(channel, received)
            for group in matching:
                for psub in list(group):
                    psub._deliver(item)

    def subscribe(self, channel: str) -> Subscription[Message]:
        validate_name(channel, "channel")
        return Subscription(channel, self._queue_size, self._attach_channel, self._detach_channel)

    def subscribe_pattern(self, prefix: str) -> Subscription[ChannelMessage]:
        validate_name(prefix, "prefix")
        return Subscription(prefix + "*", self._queue_size, self._attach_prefix, self._detach_prefix)

    def add_connection_listener(self, listener: ConnectionListener) -> Callable[[], None]:
        """The in-process bus cannot be interrupted, so listeners are never called."""
        return lambda: None

    @property
    def subscriber_counts(self) -> dict[str, int]:
        """Live subscriptions per channel (``prefix*`` for patterns) — for tests and diagnostics."""
        counts = {ch: len(s) for ch, s in self._channels.items()}
        counts.update({p + "*": len(s) for p, s in self._prefixes.items()})
        return counts

    async def _attach_channel(self, sub: Subscription[Message]) -> None:
        if self._closed:
            raise BusClosed("the event bus is closed")
        self._channels.setdefault(sub.key, set()).add(sub)

    async def _detach_channel(self, sub: Subscription[Message]) -> None:
        group = self._channels.get(sub.key)
        if group is not None:
            group.discard(sub)
            if not group:
                del self._channels[sub.key]

    async def _attach_prefix(self, sub: Subscription[ChannelMessage]) -> None:
        if self._closed:
            raise BusClosed("the event bus is closed")
        self._prefixes.setdefault(sub.key[:-1], set()).add(sub)

    async def _detach_prefix(self, sub: Subscription[ChannelMessage]) -> None:
        prefix = sub.key[:-1]
        group = self._prefixes.get(prefix)
        if group is not None:
            group.discard(sub)
            if not group:
                del self._prefixes[prefix]
