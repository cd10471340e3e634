"""The event bus that carries meetings' events to every parley process: in-process, or across processes via Redis.

See :mod:`parley.bus.base` for the contract and its guarantees, :mod:`parley.bus.redis` for the Redis specifics
(reconnects and the ``interrupted``/``resumed`` connection events).
"""

from __future__ import annotations

from parley.bus.base import (
    DEFAULT_QUEUE_SIZE,
    BusClosed,
    BusError,
    BusUnavailable,
    ChannelMessage,
    ConnectionEvent,
    ConnectionListener,
    EventBus,
    Message,
    Overflow,
    Subscription,
)
from parley.bus.local import LocalEventBus


def create_bus(
    redis_url: str | None, *, queue_size: int = DEFAULT_QUEUE_SIZE, namespace: str = "parley:"
) -> EventBus:
    """The Redis bus when a URL is configured (``--redis-url``), else the in-process one; call ``start()`` next.

    The Redis module is imported only when used, so a single-process deployment never touches it.
    """
    if redis_url:
        from parley.bus.redis import RedisEventBus

        return RedisEventBus(redis_url, queue_size=queue_size, namespace=namespace)
    return LocalEventBus(queue_size=queue_size)


__all__ = [
    "DEFAULT_QUEUE_SIZE",
    "BusClosed",
    "BusError",
    "BusUnavailable",
    "ChannelMessage",
    "ConnectionEvent",
    "ConnectionListener",
    "EventBus",
    "LocalEventBus",
    "Message",
    "Overflow",
    "Subscription",
    "create_bus",
]
