"""An event bus that counts what it publishes and delivers (``parley_bus_*`` metrics), around either backend."""

from __future__ import annotations

from collections.abc import Callable

from parley.bus.base import (
    BusError,
    ChannelMessage,
    ConnectionListener,
    EventBus,
    Message,
    Subscription,
)
from parley.metrics import Metrics


class MeteredBus:
    def __init__(self, inner: EventBus, metrics: Metrics) -> None:
        self.inner = inner
        self._published = metrics.bus_published
        self._delivered = metrics.bus_delivered

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    @property
    def connected(self) -> bool:
        return self.inner.connected

    async def publish(self, channel: str, message: Message) -> None:
        try:
            await self.inner.publish(channel, message)
        except BusError:
            self._published.labels("error").inc()
            raise
        self._published.labels("ok").inc()

    def subscribe(self, channel: str) -> Subscription[Message]:
        sub = self.inner.subscribe(channel)
        sub.on_deliver = self._delivered.inc
        return sub

    def subscribe_pattern(self, prefix: str) -> Subscription[ChannelMessage]:
        sub = self.inner.subscribe_pattern(prefix)
        sub.on_deliver = self._delivered.inc
        return sub

    def add_connection_listener(self, listener: ConnectionListener) -> Callable[[], None]:
        return self.inner.add_connection_listener(listener)
