"""Which node hosts a meeting's Chime SDK room, and how a signaling socket on any node reaches it.

A room's mix, presence, video forwarding and data-message buffer live in one process, so every SDK client of a
meeting must meet on one node. Pinning a meeting to the URL of the node that created it would make a dead node's
meetings impossible to rejoin. Instead any node accepts any meeting's signaling socket: the node holding the
meeting's *lease* (store/rooms.py) hosts the room, and the others forward the socket to it (forward.py); media
then flows straight between the browser and the host, whose ICE candidates are in the answer. The host renews the
lease while the room is open. Once it lapses (``ttl_s``), or the cluster heartbeat takes its holder for dead, the
next node a client reaches takes the meeting over; SDK clients reconnect on their own when their socket drops.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from parley.store import Store

#: Set on a socket a node forwards to the meeting's host; a forwarded socket is never forwarded again.
FORWARDED_HEADER = "x-parley-forwarded-by"


def default_node_url(host: str, port: int, clustered: bool) -> str:
    """This node's URL for the others when ``--node-url`` is not given: ``http://HOST:PORT``. Listening on every
    address (``0.0.0.0``) in a cluster, HOST is this machine's first non-loopback IPv4 address, since every node
    would otherwise advertise the same ``127.0.0.1`` URL (and take the others' leases for its own earlier run)."""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
        if clustered:
            import aioice.ice  # aiortc's own interface listing (ICE host candidates)

            host = next(iter(aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)), host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@dataclass(frozen=True)
class HostedHere:
    """This node hosts the room; ``taken_from`` names the node it took the meeting over from, if any."""

    taken_from: str | None = None


@dataclass(frozen=True)
class HostedElsewhere:
    node_id: str
    url: str


class RoomHosting:
    """This node's side of the room leases: claim, renew, release."""

    def __init__(
        self,
        store: Store,
        node_id: str,
        node_url: str,
        dead_nodes: Callable[[], Collection[str]] = frozenset,
        *,
        ttl_s: float = 10.0,
        renew_s: float = 2.5,
        wait_s: float = 12.0,
    ) -> None:
        self.store = store
        self.node_id = node_id
        self.node_url = node_url.rstrip("/")
        self.dead_nodes = dead_nodes
        self.ttl_s = ttl_s
        self.renew_s = renew_s
        # How long a socket waits for an unreachable host's lease to lapse before it is told to come back later.
        self.wait_s = wait_s

    async def place(self, meeting_id: str, gone: Collection[str] = ()) -> HostedHere | HostedElsewhere | None:
        """Where ``meeting_id``'s room is (claiming it when no live node holds it); None: no such meeting.
        ``gone``: nodes found not running (nothing listening at their URL), whose leases are void."""
        lease = await self.store.claim_room(
            meeting_id, self.node_id, self.node_url, self.ttl_s, {*self.dead_nodes(), *gone}
        )
        if lease is None:
            return None
        if lease.node_id == self.node_id:
            return HostedHere(lease.taken_from)
        return HostedElsewhere(lease.node_id, lease.node_url)

    async def renew(self, meeting_ids: Collection[str]) -> set[str]:
        """Renew the leases of the rooms open here; the meetings another node has taken over meanwhile."""
        return await self.store.renew_rooms(meeting_ids, self.node_id, self.node_url, self.ttl_s)

    async def release(self, meeting_id: str) -> None:
        await self.store.release_room(meeting_id, self.node_id)

    async def release_all(self) -> None:
        await self.store.release_rooms(self.node_id)
