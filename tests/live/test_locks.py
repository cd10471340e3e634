"""Per-meeting locks serialize work for one key and leave nothing behind."""

from __future__ import annotations

import asyncio

from parley.live.locks import KeyedLocks


async def test_same_key_is_serialized_and_entries_are_released() -> None:
    locks = KeyedLocks()
    inside: list[str] = []
    overlap = False

    async def work(key: str, tag: str) -> None:
        nonlocal overlap
        async with locks.hold(key):
            if any(t.startswith(key) for t in inside):
                overlap = True
            inside.append(f"{key}:{tag}")
            await asyncio.sleep(0.01)
            inside.remove(f"{key}:{tag}")

    await asyncio.gather(*(work("m1", str(i)) for i in range(5)), work("m2", "x"))
    assert not overlap
    assert len(locks) == 0
