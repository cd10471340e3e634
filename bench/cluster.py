"""What forwarding Chime SDK signaling between nodes costs, and how fast a meeting moves when its host dies.

Two ``parley serve`` nodes on a scratch database of the machine's PostgreSQL and its Redis, behind the test
balancer (harness/balancer.py) that MediaPlacement points at. One meeting; the first client connects straight to
node A, which then hosts the room (signaling/hosting.py); half the clients connect to A, half to B, which forwards
their sockets to A. Every client joins and sends Opus (silence) over WebRTC, as an SDK session does.

* **signaling round trip**: PING → PONG times of each client, direct (to the host) against forwarded (through B);
* **relay CPU**: node B's CPU (``/proc``) while it forwards its clients' signaling, over the same window with
  nobody connected to it (the idle figure), per forwarded client;
* **takeover**: node A killed (kill -9), or frozen (``--failure freeze``: SIGSTOP); the clients whose sockets close
  reconnect through the balancer as the SDK does (at once on a dropped socket or a 45xx close) and join again; the
  time until the last one is joined on node B. A frozen host's own clients are left out: the SDK notices a silent
  socket by its own health checks (25 s and more), which parley does not control.

The alternative to forwarding is a balancer that routes by meeting id (consistent hashing on the URL path); see
docs/decisions.md D42 for why forwarding was chosen, with these figures.

    .venv/bin/python bench/cluster.py                  # 8 clients, about a minute
    .venv/bin/python bench/cluster.py --clients 16 --pings 100
    .venv/bin/python bench/cluster.py --failure freeze
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.balancer import Balancer  # noqa: E402
from harness.media import RATE, MediaPeer  # noqa: E402
from harness.sdk_session import direct  # noqa: E402
from harness.server import ServerProcess, cpu_seconds, free_port  # noqa: E402
from harness.services import balanced_args, two_nodes  # noqa: E402
from harness.signaling import SignalingClient, signaling_url  # noqa: E402


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


class Client:
    def __init__(self, meeting: dict[str, Any], attendee: dict[str, Any]) -> None:
        self.meeting, self.attendee = meeting, attendee
        self.signaling: SignalingClient | None = None
        self.media: MediaPeer | None = None
        self.rtts: list[float] = []

    async def join(self, url: str) -> None:
        self.signaling = await SignalingClient(url, self.attendee["JoinToken"]).connect()
        await self.signaling.join()
        self.media = MediaPeer(np.zeros(RATE, dtype=np.int16))
        await self.media.subscribe(self.signaling, self.attendee["AttendeeId"])

    async def ping(self, count: int) -> None:
        assert self.signaling is not None
        for i in range(count):
            started = time.perf_counter()
            await self.signaling.ping(i + 1)
            self.rtts.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)

    async def rejoin_after_loss(self, failed: float) -> float:
        """Wait for this client's socket to go, then reconnect through the balancer as the SDK does (again a second
        after a failed attempt); seconds from the failure."""
        assert self.signaling is not None
        await self.signaling.ws.wait_closed()
        while True:
            if self.media is not None:
                await self.media.close()
            try:
                await self.join(signaling_url(self.meeting))
                return time.monotonic() - failed
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException):
                await asyncio.sleep(1.0)

    async def close(self) -> None:
        if self.signaling is not None:
            await self.signaling.close()
        if self.media is not None:
            await self.media.close()


async def run(args: argparse.Namespace, a: ServerProcess, b: ServerProcess, port: int) -> None:
    assert a.proc is not None
    assert b.proc is not None
    async with Balancer(port, [a.port, b.port]):
        chime = a.client()
        meeting = chime.create_meeting(ExternalMeetingId="bench-cluster", MediaRegion="us-east-1")["Meeting"]
        mid = meeting["MeetingId"]
        clients = [
            Client(meeting, chime.create_attendee(MeetingId=mid, ExternalUserId=f"c{i}")["Attendee"])
            for i in range(args.clients)
        ]
        hosted, forwarded = clients[::2], clients[1::2]

        idle_from, idle_cpu = time.monotonic(), cpu_seconds(b.proc.pid)
        await asyncio.sleep(args.seconds)
        idle = (cpu_seconds(b.proc.pid) - idle_cpu) / (time.monotonic() - idle_from)

        for client in hosted[:1]:  # the first client makes node A the host
            await client.join(direct(meeting, a))
        await asyncio.gather(
            *(c.join(direct(meeting, a)) for c in hosted[1:]),
            *(c.join(direct(meeting, b)) for c in forwarded),
        )
        await asyncio.sleep(1.0)
        busy_from, busy_cpu = time.monotonic(), cpu_seconds(b.proc.pid)
        await asyncio.sleep(args.seconds)
        busy = (cpu_seconds(b.proc.pid) - busy_cpu) / (time.monotonic() - busy_from)
        await asyncio.gather(*(c.ping(args.pings) for c in clients))

        failed = time.monotonic()
        if args.failure == "kill":
            a.kill9()
            back = await asyncio.gather(*(c.rejoin_after_loss(failed) for c in clients))
        else:
            # A frozen host's own clients wait for the SDK's health checks (25 s and more); the relayed ones are
            # closed by node B once the host misses its pings, and reconnect: that part is parley's.
            a.proc.send_signal(signal.SIGSTOP)
            try:
                back = await asyncio.gather(*(c.rejoin_after_loss(failed) for c in forwarded))
            finally:
                a.proc.send_signal(signal.SIGCONT)
        for client in clients:
            await client.close()

    direct_rtt = [r for c in hosted for r in c.rtts]
    relayed_rtt = [r for c in forwarded for r in c.rtts]
    print(f"{args.clients} clients, {len(forwarded)} forwarded through node B to node A (the host)")
    print(
        f"signaling round trip, direct:    p50 {pct(direct_rtt, 50) * 1000:.2f} ms"
        f"  p99 {pct(direct_rtt, 99) * 1000:.2f} ms  ({len(direct_rtt)} pings)"
    )
    print(
        f"signaling round trip, forwarded: p50 {pct(relayed_rtt, 50) * 1000:.2f} ms"
        f"  p99 {pct(relayed_rtt, 99) * 1000:.2f} ms  ({len(relayed_rtt)} pings)"
    )
    print(
        f"node B CPU: idle {idle * 100:.1f} %, forwarding {busy * 100:.1f} %"
        f" -> {(busy - idle) / len(forwarded) * 1000:.2f} ms of CPU per second per forwarded client"
    )
    who = f"all {len(clients)} clients" if args.failure == "kill" else f"the {len(forwarded)} relayed clients"
    print(
        f"after {'kill -9' if args.failure == 'kill' else 'SIGSTOP'} of the host: {who} joined again on node B"
        f" within {max(back):.2f} s (p50 {pct(back, 50):.2f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--clients", type=int, default=8, help="SDK-like clients in the meeting (half forwarded)"
    )
    parser.add_argument("--pings", type=int, default=200, help="PING/PONG round trips per client")
    parser.add_argument("--seconds", type=float, default=10.0, help="CPU measurement window")
    parser.add_argument(
        "--failure",
        choices=["kill", "freeze"],
        default="kill",
        help="how the host fails at the end: kill -9, or SIGSTOP (a paused VM, a machine gone from the network)",
    )
    args = parser.parse_args()
    port = free_port()
    with (
        tempfile.TemporaryDirectory(prefix="parley-bench-cluster-") as tmp,
        two_nodes(Path(tmp), None, "parley_bench_cluster", balanced_args(port)) as (a, b),
    ):
        asyncio.run(run(args, a, b, port))


if __name__ == "__main__":
    main()
