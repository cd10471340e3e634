"""How a node judges the others dead (LiveRuntime._watch_nodes), which voids their room leases (D42): a node that
was itself stopped (SIGSTOP, a paused VM, a blocked event loop) must not take every other node for dead on waking,
or it would take their meetings over. The real bus (in-process) and a store that only answers what the check reads."""

from __future__ import annotations

import time
from typing import Any

from parley.bus import create_bus
from parley.config import LiveSettings
from parley.live.runtime import LiveRuntime


class Presence:
    async def node_connections(self, node: str) -> list[tuple[str, str]]:
        return []


def runtime() -> LiveRuntime:
    store: Any = Presence()
    return LiveRuntime(store=store, bus=create_bus(None), meetings=None, speech=None)  # type: ignore[arg-type]


async def test_a_node_not_heard_for_the_timeout_is_taken_for_dead() -> None:
    node = runtime()
    node._nodes_seen = {"other": time.monotonic() - 2 * LiveSettings().node_timeout_s}
    await node._watch_nodes()
    assert node.dead_nodes() == {"other"}


async def test_a_node_that_was_stopped_itself_judges_the_others_only_from_when_it_runs_again() -> None:
    node = runtime()
    long_ago = time.monotonic() - 60
    node._nodes_seen = {"other": long_ago}
    node._last_watch = long_ago  # this node did not run for a minute: it heard nobody, nobody was silent
    await node._watch_nodes()
    assert node.dead_nodes() == frozenset()
    # From now on silence counts again.
    node._nodes_seen = {"other": time.monotonic() - 2 * LiveSettings().node_timeout_s}
    await node._watch_nodes()
    assert node.dead_nodes() == {"other"}
