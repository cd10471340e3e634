"""Bus fixtures: every behavioural test runs against the in-process bus and against the machine's real Redis.

Redis runs are namespaced by a random prefix so parallel runs (and other suites) sharing one Redis never hear
each other. If Redis is not running the Redis variants fail (``start()`` raises) — they never skip.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from parley.bus import EventBus, LocalEventBus
from parley.bus.redis import RedisEventBus

REDIS_URL = "redis://127.0.0.1:6379/0"

BusFactory = Callable[..., Awaitable[Any]]


@pytest.fixture
def namespace() -> str:
    return f"parley-test:{uuid.uuid4().hex}:"


@pytest.fixture(params=["local", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "redis":
        request.applymarker(pytest.mark.redis)
    return str(request.param)


@pytest.fixture
async def make_bus(backend: str, namespace: str) -> AsyncIterator[BusFactory]:
    """Start buses on demand; for Redis, several buses act as several processes on one namespace.

    With the local backend every call returns the same bus: "another process" is the same process there.
    """
    started: list[EventBus] = []

    async def make(**kwargs: Any) -> EventBus:
        bus: EventBus
        if backend == "local":
            if started and not kwargs:
                return started[0]
            bus = LocalEventBus(**kwargs)
        else:
            kwargs.setdefault("backoff_s", (0.01, 0.2))
            bus = RedisEventBus(REDIS_URL, namespace=namespace, **kwargs)
        await bus.start()
        started.append(bus)
        return bus

    yield make
    for bus in started:
        await bus.close()
