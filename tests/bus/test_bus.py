"""The behavioural contract of the event bus, run against both backends (see conftest.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from parley.bus import BusClosed, ChannelMessage, Message, Overflow, Subscription, create_bus
from parley.bus.local import LocalEventBus
from tests.bus.conftest import BusFactory

# Upper bound for "this should arrive": only ever turns a hang into a failure, never asserts a speed.
ARRIVAL_BOUND_S = 10.0


async def receive(sub: Subscription[Any]) -> Any:
    return await asyncio.wait_for(anext(sub), ARRIVAL_BOUND_S)


async def receive_n(sub: Subscription[Any], n: int) -> list[Any]:
    return [await receive(sub) for _ in range(n)]


async def assert_nothing_more(bus: Any, sub: Subscription[Message], channel: str) -> None:
    """Prove ``sub`` has nothing queued: publish a sentinel on its own channel and expect it to come next."""
    await bus.publish(channel, {"sentinel": True})
    assert await receive(sub) == {"sentinel": True}


async def test_fan_out_to_every_subscriber_in_order(make_bus: BusFactory) -> None:
    bus = await make_bus()
    async with (
        bus.subscribe("meeting:a") as s1,
        bus.subscribe("meeting:a") as s2,
        bus.subscribe("meeting:a") as s3,
    ):
        for i in range(5):
            await bus.publish("meeting:a", {"seq": i})
        for sub in (s1, s2, s3):
            assert await receive_n(sub, 5) == [{"seq": i} for i in range(5)]


async def test_channels_are_isolated(make_bus: BusFactory) -> None:
    bus = await make_bus()
    async with bus.subscribe("meeting:1") as one, bus.subscribe("meeting:10") as ten:
        await bus.publish("meeting:10", {"to": "ten"})
        await bus.publish("meeting:2", {"to": "nobody"})
        await bus.publish("meeting:1", {"to": "one"})
        assert await receive(one) == {"to": "one"}
        assert await receive(ten) == {"to": "ten"}
        await assert_nothing_more(bus, one, "meeting:1")
        await assert_nothing_more(bus, ten, "meeting:10")


async def test_order_is_preserved_per_channel(make_bus: BusFactory) -> None:
    bus = await make_bus()
    async with bus.subscribe("meeting:o") as sub, bus.subscribe("meeting:p") as other:
        for i in range(300):
            await bus.publish("meeting:o", {"seq": i})
            await bus.publish("meeting:p", {"seq": -i})
        assert [m["seq"] for m in await receive_n(sub, 300)] == list(range(300))
        assert [m["seq"] for m in await receive_n(other, 300)] == [-i for i in range(300)]


async def test_subscriber_entered_before_publish_gets_it_from_another_process(make_bus: BusFactory) -> None:
    publisher, subscriber = await make_bus(), await make_bus()
    # Fresh channels each round, no sleeps: entering must leave the subscription live on the server.
    for i in range(40):
        async with subscriber.subscribe(f"meeting:fresh-{i}") as sub:
            await publisher.publish(f"meeting:fresh-{i}", {"round": i})
            assert await receive(sub) == {"round": i}


async def test_pattern_subscription_sees_every_matching_channel(make_bus: BusFactory) -> None:
    bus = await make_bus()
    async with bus.subscribe_pattern("control:") as control:
        await bus.publish("control:m1", {"op": "deleted"})
        await bus.publish("meeting:m1", {"op": "transcript"})
        await bus.publish("controlx:m1", {"op": "not-a-match"})
        await bus.publish("control:m2", {"op": "started"})
        await bus.publish("control:", {"op": "bare-prefix"})
        got = await receive_n(control, 3)
        assert got == [
            ChannelMessage("control:m1", {"op": "deleted"}),
            ChannelMessage("control:m2", {"op": "started"}),
            ChannelMessage("control:", {"op": "bare-prefix"}),
        ]
        assert all(isinstance(item, ChannelMessage) for item in got)


async def test_pattern_prefix_is_literal_not_a_glob(make_bus: BusFactory) -> None:
    bus = await make_bus()
    async with bus.subscribe_pattern("a*[b]?:") as literal:
        await bus.publish("aXX[b]Y:1", {"glob": True})
        await bus.publish("ab:1", {"glob": True})
        await bus.publish("a*[b]?:1", {"literal": True})
        assert await receive(literal) == ChannelMessage("a*[b]?:1", {"literal": True})


async def test_channel_and_pattern_subscribers_both_receive(make_bus: BusFactory) -> None:
    bus, other = await make_bus(), await make_bus()
    async with bus.subscribe("control:x") as direct, other.subscribe_pattern("control:") as pattern:
        await bus.publish("control:x", {"n": 1})
        assert await receive(direct) == {"n": 1}
        assert await receive(pattern) == ChannelMessage("control:x", {"n": 1})


async def test_unsubscribe_is_reference_counted(make_bus: BusFactory) -> None:
    bus = await make_bus()
    counts: Any = bus.subscriber_counts  # both backends expose it for diagnostics
    assert "meeting:rc" not in counts
    async with bus.subscribe("meeting:rc") as keeper:
        async with bus.subscribe("meeting:rc") as leaver:
            assert bus.subscriber_counts["meeting:rc"] == 2
            await bus.publish("meeting:rc", {"n": 1})
            assert await receive(leaver) == {"n": 1}
        assert bus.subscriber_counts["meeting:rc"] == 1
        # The remaining subscriber keeps receiving after the other left.
        await bus.publish("meeting:rc", {"n": 2})
        assert await receive_n(keeper, 2) == [{"n": 1}, {"n": 2}]
        # A left subscription's iterator ends instead of hanging.
        with pytest.raises(StopAsyncIteration):
            await anext(leaver)
    assert "meeting:rc" not in bus.subscriber_counts


async def test_resubscribe_right_after_unsubscribe(make_bus: BusFactory) -> None:
    """Leave and re-enter at once: the new subscription must be live and get each message exactly once."""
    bus = await make_bus()
    for i in range(20):
        async with bus.subscribe("meeting:again") as sub:
            await bus.publish("meeting:again", {"i": i})
            assert await receive(sub) == {"i": i}
            await assert_nothing_more(bus, sub, "meeting:again")


async def test_overflow_closes_only_the_slow_subscription(make_bus: BusFactory) -> None:
    bus = await make_bus(queue_size=4)
    async with (
        bus.subscribe("meeting:busy") as slow,
        bus.subscribe("meeting:busy") as fast,
        bus.subscribe_pattern("meeting:") as watcher,
    ):
        # Lockstep with the fast consumer, so only the never-reading one can fall behind.
        for i in range(20):
            await bus.publish("meeting:busy", {"seq": i})
            assert await receive(fast) == {"seq": i}
            assert await receive(watcher) == ChannelMessage("meeting:busy", {"seq": i})
        assert slow.overflowed
        assert slow.pending == 0  # its buffer was released, not kept growing
        with pytest.raises(Overflow) as info:
            await anext(slow)
        assert info.value.limit == 4
        with pytest.raises(Overflow):  # stays closed: never resumes with a gap
            await anext(slow)
        await bus.publish("meeting:busy", {"seq": 20})
        assert await receive(fast) == {"seq": 20}


async def test_overflow_does_not_drop_what_fits(make_bus: BusFactory) -> None:
    bus = await make_bus(queue_size=8)
    async with bus.subscribe("meeting:fits") as sub:
        for i in range(8):
            await bus.publish("meeting:fits", {"seq": i})
        await bus.publish("meeting:other", {"seq": "elsewhere"})
        assert await receive_n(sub, 8) == [{"seq": i} for i in range(8)]
        assert not sub.overflowed


async def test_close_ends_iterators_after_buffered_messages(make_bus: BusFactory) -> None:
    bus = await make_bus()
    sub = bus.subscribe("meeting:closing")
    psub = bus.subscribe_pattern("meeting:")
    await sub.__aenter__()
    await psub.__aenter__()
    got: list[Message] = []

    async def consume() -> None:
        async for message in sub:
            got.append(message)

    consumer = asyncio.create_task(consume())
    await bus.publish("meeting:closing", {"n": 1})
    assert await receive(psub) == ChannelMessage("meeting:closing", {"n": 1})
    await bus.close()
    await asyncio.wait_for(consumer, ARRIVAL_BOUND_S)  # ends, rather than waiting forever
    assert got == [{"n": 1}]
    with pytest.raises(StopAsyncIteration):
        await anext(psub)
    await sub.__aexit__(None, None, None)
    await psub.__aexit__(None, None, None)
    with pytest.raises(BusClosed):
        await bus.subscribe("meeting:closing").__aenter__()
    with pytest.raises(BusClosed):
        await bus.publish("meeting:closing", {"n": 2})


async def test_messages_are_json(make_bus: BusFactory) -> None:
    bus = await make_bus()
    async with bus.subscribe("meeting:json") as sub:
        original: dict[str, Any] = {"pair": (1, 2), "text": "héllo ✓", "nested": {"x": None}}
        await bus.publish("meeting:json", original)
        original["text"] = "mutated after publish"
        assert await receive(sub) == {"pair": [1, 2], "text": "héllo ✓", "nested": {"x": None}}
        with pytest.raises(TypeError):
            await bus.publish("meeting:json", {"bytes": b"\x00"})
        with pytest.raises(TypeError):
            await bus.publish("meeting:json", ["not", "a", "dict"])  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="non-empty"):
            await bus.publish("", {"x": 1})
        await assert_nothing_more(bus, sub, "meeting:json")


async def test_iterating_requires_entering() -> None:
    bus = LocalEventBus()
    with pytest.raises(RuntimeError, match="enter"):
        await anext(bus.subscribe("meeting:x"))


def test_create_bus_picks_the_backend() -> None:
    from parley.bus.redis import RedisEventBus

    assert isinstance(create_bus(None), LocalEventBus)
    assert isinstance(create_bus("redis://127.0.0.1:6379/0"), RedisEventBus)
