"""What only the Redis bus has: several processes, one pub/sub connection per process, and reconnects."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from parley.bus import BusUnavailable, ChannelMessage, ConnectionEvent
from parley.bus.redis import RedisEventBus
from tests.bus.conftest import REDIS_URL
from tests.bus.test_bus import ARRIVAL_BOUND_S, receive

pytestmark = pytest.mark.redis


@pytest.fixture
async def admin() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
async def pair(namespace: str) -> AsyncIterator[tuple[RedisEventBus, RedisEventBus]]:
    """Two buses on one namespace: what two parley processes sharing a Redis look like to each other."""
    a = RedisEventBus(REDIS_URL, namespace=namespace, client_name=f"parley-test-a-{uuid.uuid4().hex[:8]}")
    b = RedisEventBus(
        REDIS_URL,
        namespace=namespace,
        client_name=f"parley-test-b-{uuid.uuid4().hex[:8]}",
        backoff_s=(0.01, 0.2),
    )
    await a.start()
    await b.start()
    yield a, b
    await a.close()
    await b.close()


async def pubsub_clients(admin: Redis, name: str) -> list[dict[str, str]]:
    clients = await admin.client_list(_type="pubsub")
    return [c for c in clients if c.get("name") == name]


async def test_two_processes_deliver_to_each_other(pair: tuple[RedisEventBus, RedisEventBus]) -> None:
    a, b = pair
    async with (
        a.subscribe("meeting:m") as on_a,
        b.subscribe("meeting:m") as on_b,
        b.subscribe_pattern("control:") as ctl,
    ):
        await a.publish("meeting:m", {"from": "a"})
        await b.publish("meeting:m", {"from": "b"})
        await a.publish("control:m", {"op": "deleted"})
        assert [await receive(on_a), await receive(on_a)] == [{"from": "a"}, {"from": "b"}]
        assert [await receive(on_b), await receive(on_b)] == [{"from": "a"}, {"from": "b"}]
        assert await receive(ctl) == ChannelMessage("control:m", {"op": "deleted"})


async def test_namespaces_do_not_hear_each_other(pair: tuple[RedisEventBus, RedisEventBus]) -> None:
    a, _ = pair
    stranger = RedisEventBus(REDIS_URL, namespace=f"parley-test:{uuid.uuid4().hex}:")
    await stranger.start()
    try:
        async with a.subscribe("meeting:n") as sub, a.subscribe_pattern("meeting:") as pattern:
            await stranger.publish("meeting:n", {"from": "stranger"})
            await a.publish("meeting:n", {"from": "neighbour"})
            assert await receive(sub) == {"from": "neighbour"}
            assert await receive(pattern) == ChannelMessage("meeting:n", {"from": "neighbour"})
    finally:
        await stranger.close()


async def test_one_pubsub_connection_multiplexes_and_refcounts(
    pair: tuple[RedisEventBus, RedisEventBus], namespace: str, admin: Redis
) -> None:
    a, _ = pair
    channel = namespace + "meeting:shared"
    async with a.subscribe("meeting:shared"), a.subscribe("meeting:shared"), a.subscribe("meeting:other"):
        async with a.subscribe_pattern("control:"), a.subscribe_pattern("control:"):
            assert dict(await admin.pubsub_numsub(channel)) == {channel.encode(): 1}
            # Five local subscriptions, three server-side ones, one connection.
            assert len(await pubsub_clients(admin, a._sub_pool.connection_kwargs["client_name"])) == 1
        async with a.subscribe("meeting:barrier"):  # entered ⇒ every earlier command was processed
            pass
        assert dict(await admin.pubsub_numsub(channel)) == {channel.encode(): 1}
    # After the last local subscriber left, the server-side subscription is gone too. Entering another
    # subscription waits for its acknowledgement, which Redis sends only after processing the UNSUBSCRIBE.
    async with a.subscribe("meeting:barrier"):
        assert dict(await admin.pubsub_numsub(channel)) == {channel.encode(): 0}
    assert a.subscriber_counts == {}


async def test_reconnect_resubscribes_and_is_reported(
    pair: tuple[RedisEventBus, RedisEventBus], admin: Redis
) -> None:
    publisher, bus = pair
    events: asyncio.Queue[ConnectionEvent] = asyncio.Queue()
    remove = bus.add_connection_listener(events.put_nowait)
    name = bus._sub_pool.connection_kwargs["client_name"]
    async with bus.subscribe("meeting:r") as sub, bus.subscribe_pattern("control:") as ctl:
        await publisher.publish("meeting:r", {"n": 1})
        assert await receive(sub) == {"n": 1}

        victims = await pubsub_clients(admin, name)
        assert len(victims) == 1
        await admin.client_kill_filter(_id=victims[0]["id"])

        assert await asyncio.wait_for(events.get(), ARRIVAL_BOUND_S) is ConnectionEvent.INTERRUPTED
        assert await asyncio.wait_for(events.get(), ARRIVAL_BOUND_S) is ConnectionEvent.RESUMED
        assert bus.connected
        # RESUMED means live again: a message published now must arrive, with no sleeps in between.
        await publisher.publish("meeting:r", {"n": 2})
        await publisher.publish("control:r", {"op": "after"})
        assert await receive(sub) == {"n": 2}
        assert await receive(ctl) == ChannelMessage("control:r", {"op": "after"})
        assert len(await pubsub_clients(admin, name)) == 1  # a fresh single connection, not a leak

        # New subscriptions on the reconnected connection work too.
        async with bus.subscribe("meeting:new") as new:
            await publisher.publish("meeting:new", {"n": 3})
            assert await receive(new) == {"n": 3}
    remove()
    assert events.empty()


async def test_start_fails_loudly_without_redis() -> None:
    bus = RedisEventBus("redis://127.0.0.1:1/0", connect_timeout_s=2.0)
    with pytest.raises(BusUnavailable, match="cannot reach Redis"):
        await bus.start()
    await bus.close()


async def test_subscribe_requires_start(namespace: str) -> None:
    bus = RedisEventBus(REDIS_URL, namespace=namespace)
    with pytest.raises(RuntimeError, match="start"):
        await bus.subscribe("meeting:x").__aenter__()
    await bus.close()


async def test_cancelled_subscribe_then_resubscribe_waits_for_its_own_ack(
    pair: tuple[RedisEventBus, RedisEventBus],
) -> None:
    """SUBSCRIBE(A) → A cancelled → UNSUBSCRIBE → SUBSCRIBE(B): A's late ack must not make B count as live.

    Observed from inside the bus: B's ``__aenter__`` may only return after the reader has seen the UNSUBSCRIBE
    reply (Redis answers in order, so B's own ack comes after it).
    """
    publisher, bus = pair
    replies: list[list[bytes]] = []
    dispatch = bus._dispatch

    def recording(reply: object) -> None:
        replies.append(reply if isinstance(reply, list) else [reply])  # type: ignore[list-item]
        dispatch(reply)

    bus._dispatch = recording  # type: ignore[method-assign]
    exercised = 0
    for attempt in range(50):
        channel = f"meeting:cancel-{attempt}"
        replies.clear()
        first = asyncio.create_task(bus.subscribe(channel).__aenter__())
        await asyncio.sleep(0)  # first has sent SUBSCRIBE and waits for the acknowledgement
        if first.done() or any(r[0] == b"subscribe" for r in replies):
            first.cancel()
            continue  # the ack won the race: this round does not exercise the case
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        exercised += 1
        async with bus.subscribe(channel) as second:
            kinds = [r[0] for r in replies]
            assert b"unsubscribe" in kinds, kinds
            await publisher.publish(channel, {"attempt": attempt})
            assert await receive(second) == {"attempt": attempt}
    assert exercised > 0


async def test_publish_survives_a_dropped_pooled_connection(
    pair: tuple[RedisEventBus, RedisEventBus], admin: Redis
) -> None:
    """After a Redis restart the publisher's pooled connections are stale; the next publish must still land."""
    publisher, subscriber = pair
    async with subscriber.subscribe("meeting:p") as sub:
        await publisher.publish("meeting:p", {"n": 1})
        assert await receive(sub) == {"n": 1}
        name = publisher._sub_pool.connection_kwargs["client_name"] + "-publish"
        victims = [c for c in await admin.client_list() if c.get("name") == name]
        assert victims
        for victim in victims:
            await admin.client_kill_filter(_id=victim["id"])
        await publisher.publish("meeting:p", {"n": 2})
        assert await receive(sub) == {"n": 2}
    assert publisher.connected  # the pub/sub connection was not affected
