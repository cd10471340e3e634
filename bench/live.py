"""End-to-end live transcription latency and capacity, through the real server and real sockets.

For N = 1, 2, … concurrent meetings (one speaker each), speakers stream
test clips at real-time pace for ``--seconds``; for every word we record when it was first shown (any partial)
and when it was committed (``stable`` or final) at the speaker's socket (which receives the meeting's
events like every participant), relative to the moment the audio containing
the end of that word was sent. Both processes run on this machine, so they share one clock.

    .venv/bin/python bench/live.py [--levels 1,2,3,4] [--seconds 40] [--real]

``--real`` plays the real-speech development set (harness/devset.py: people reading, not espeak-ng) instead of
the synthetic clips; it is the set the targets are stated for.

``--flood`` measures one meeting quiet, then again while another meeting is abused: an attendee floods audio at
20x real time (reconnecting each time it is shed with 4430) and a client opens audio sockets in a loop and keeps
them (until the per-address cap refuses it). It prints both, their ratio, and the server's peak RSS.

``--cluster`` runs two nodes on a scratch PostgreSQL database and a private Redis (both on this machine): meeting
i's speaker connects to node i mod 2 and a listener to the other node, and both latencies are printed, so the cost
of crossing the cluster is the difference of the two rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import multiprocessing.queues
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.attendee import AttendeeClient, clip_pcm16  # noqa: E402
from harness.server import ServerProcess, write_credentials  # noqa: E402

CLIPS = ["en_us_budget", "en_gb_two"]
CONFIG = {
    "EngineTranscribeSettings": {
        "LanguageCode": "en-US",
        "EnablePartialResultsStabilization": True,
        "PartialResultsStability": "high",
    }
}


@dataclass
class Measure:
    shown: list[float] = field(default_factory=list)
    committed: list[float] = field(default_factory=list)
    finals: list[float] = field(default_factory=list)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def speech_pcm(real: bool) -> bytes:
    """What every speaker says (looped): clips with 1 s of silence between them, PCM16 16 kHz."""
    if not real:
        return b"".join(clip_pcm16(c) + b"\x00\x00" * 16000 for c in CLIPS)
    from harness.devset import devset
    from parley.audio.frames import float32_to_pcm16

    return b"".join(float32_to_pcm16(c.samples) + b"\x00\x00" * 16000 for c in devset())


@dataclass
class Observer:
    """Turns one client's received results into latencies (each word and final counted once)."""

    measure: Measure = field(default_factory=Measure)
    shown: set[tuple[str, int]] = field(default_factory=set)  # (result id, item index)
    committed: set[tuple[str, int]] = field(default_factory=set)
    seen: int = 0

    def observe(self, client: AttendeeClient, shift: float) -> None:
        """``shift``: add to an item's end time to get when its audio left the speaker (same clock). Latencies are
        taken at each event's arrival (``AttendeeClient.arrivals``), not when this is called."""
        events = client.received
        for event, now in zip(events[self.seen :], client.arrivals[self.seen :], strict=False):
            if event["type"] != "transcript":
                continue
            for r in event["transcript"]["results"]:
                for k, item in enumerate(r["alternatives"][0]["items"]):
                    if item["type"] != "pronunciation":
                        continue
                    key = (r["resultId"], k)
                    sent = item["endTimeMs"] / 1000 + shift
                    if key not in self.shown:
                        self.shown.add(key)
                        self.measure.shown.append(now - sent)
                    if (item.get("stable") or not r["isPartial"]) and key not in self.committed:
                        self.committed.add(key)
                        self.measure.committed.append(now - sent)
                if not r["isPartial"] and r["alternatives"][0]["items"]:
                    self.measure.finals.append(now - (r["endTimeMs"] / 1000 + shift))
        self.seen = min(len(events), len(client.arrivals))


async def run_level(
    nodes: list[ServerProcess], n: int, seconds: float, pcm: bytes, listeners: bool = False
) -> tuple[Measure, Measure]:
    """n meetings, one speaker each, meeting i's on node i (round robin); with ``listeners``, one listener each on
    the next node, so every result crosses the cluster's bus.

    Returns what the speakers saw and what the listeners saw (empty without listeners).
    """
    chime = nodes[0].client()
    talkers: list[AttendeeClient] = []
    audience: list[AttendeeClient | None] = []
    for i in range(n):
        mid = chime.create_meeting(ExternalMeetingId=f"bench-{n}-{i}", MediaRegion="us-east-1")["Meeting"][
            "MeetingId"
        ]
        att = chime.create_attendee(MeetingId=mid, ExternalUserId=f"speaker-{i}")["Attendee"]
        chime.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration=CONFIG)
        node = nodes[i % len(nodes)]
        talkers.append(
            AttendeeClient(
                node.endpoint, mid, att["JoinToken"], audio={"format": "pcm16", "sampleRate": 16000}
            )
        )
        if listeners:
            other = chime.create_attendee(MeetingId=mid, ExternalUserId=f"listener-{i}")["Attendee"]
            far = nodes[(i + 1) % len(nodes)]
            audience.append(AttendeeClient(far.endpoint, mid, other["JoinToken"]))
        else:
            audience.append(None)
    local, remote = Measure(), Measure()

    async def speak(client: AttendeeClient, listener: AttendeeClient | None) -> None:
        if listener is not None:
            await listener.connect()
        await client.connect()
        origin = time.time()  # `ready` comes once the recognizer can take audio; its times start about here
        mine, theirs = Observer(local), Observer(remote)
        sent_until = origin + seconds
        chunk = 3200
        offset = 0
        t0 = time.time()
        while time.time() < sent_until:
            await client.ws.send(pcm[offset % len(pcm) : offset % len(pcm) + chunk])
            offset += chunk
            await asyncio.sleep(max(0.0, t0 + offset / 32000 - time.time()))
            # Item times are the recognizer's start (≈ origin) plus the audio offset; that audio left this client
            # at t0 plus the same offset.
            mine.observe(client, t0 - origin)
            if listener is not None:
                theirs.observe(listener, t0 - origin)
        await client.silence(1.5)
        mine.observe(client, t0 - origin)  # what arrived during the silence (the last finals)
        if listener is not None:
            theirs.observe(listener, t0 - origin)
        await client.close()
        if listener is not None:
            await listener.close()

    await asyncio.gather(*(speak(c, lis) for c, lis in zip(talkers, audience, strict=True)))
    return local, remote


#: the socket opener connects from another loopback address, as another client would: the per-address cap is
#: meant to stop it without touching the measured meeting's clients
ABUSER_ADDRESS = "127.0.0.2"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Abuse:
    """The flooder and the socket opener of ``--flood``, in their own meeting and their own process.

    Their own process, because in the measuring process they would share its event loop: the measured client's
    receive times would then include the abusers' sends and reconnects, which is the bench's delay, not the
    server's. ``nice`` lowers their CPU priority: on this 2-core machine the load generator otherwise takes CPU
    the server would have had, which an abuser on another machine does not.
    """

    def __init__(self, server: ServerProcess, nice: int) -> None:
        chime = server.client()
        self.endpoint = server.endpoint
        self.server_pid = server.proc.pid  # type: ignore[union-attr]
        self.meeting = chime.create_meeting(ExternalMeetingId="abuse", MediaRegion="us-east-1")["Meeting"][
            "MeetingId"
        ]
        chime.start_meeting_transcription(MeetingId=self.meeting, TranscriptionConfiguration=CONFIG)
        self.tokens = [
            chime.create_attendee(MeetingId=self.meeting, ExternalUserId=name)["Attendee"]["JoinToken"]
            for name in ("flooder", "opener")
        ]
        self.nice = nice
        ctx = multiprocessing.get_context("spawn")
        self._stop = ctx.Event()
        self._results: multiprocessing.queues.Queue[dict[str, float]] = ctx.Queue()
        self._process = ctx.Process(
            target=_abuse_main,
            args=(self.endpoint, self.meeting, self.tokens, self.server_pid, nice, self._stop, self._results),
            daemon=True,
        )

    def start(self) -> None:
        self._process.start()

    def finish(self) -> dict[str, float]:
        self._stop.set()
        counts = self._results.get(timeout=60)
        self._process.join(timeout=10)
        return counts


def _abuse_main(
    endpoint: str,
    meeting: str,
    tokens: list[str],
    server_pid: int,
    nice: int,
    stop: Any,
    results: Any,
) -> None:
    os.nice(nice)
    counts = {"shed": 0, "opened": 0, "refused": 0, "peak_rss_mib": 0.0}
    url = endpoint.replace("http", "ws") + f"/calls/{meeting}"

    async def flood() -> None:
        """Reconnect at once whenever shed, and send 0.5 s of audio every 25 ms (20x real time)."""
        import websockets

        start = json.dumps({"type": "start", "audio": {"format": "pcm16", "sampleRate": 16000}})
        noise = b"\x10\x00\xf0\xff" * 4000  # 0.5 s
        while not stop.is_set():
            try:
                async with websockets.connect(url, subprotocols=["parley-audio-v1", tokens[0]]) as ws:  # type: ignore[list-item]
                    await ws.send(start)
                    while not stop.is_set():
                        await ws.send(noise)
                        await asyncio.sleep(0.025)
            except (websockets.ConnectionClosed, websockets.InvalidHandshake, OSError):
                counts["shed"] += 1

    async def open_sockets() -> None:
        import websockets

        held = []
        while not stop.is_set():
            try:
                held.append(
                    await websockets.connect(
                        url,
                        subprotocols=["parley-audio-v1", tokens[1]],  # type: ignore[list-item]
                        local_addr=(ABUSER_ADDRESS, 0),
                    )
                )
                counts["opened"] += 1
            except Exception:
                counts["refused"] += 1
                await asyncio.sleep(0.05)
        for ws in held:
            await ws.close()

    async def watch() -> None:
        while not stop.is_set():
            counts["peak_rss_mib"] = max(counts["peak_rss_mib"], rss_mib(server_pid))
            await asyncio.sleep(0.5)

    async def run() -> None:
        await asyncio.gather(flood(), open_sockets(), watch())

    asyncio.run(run())
    results.put(counts)


async def flood_run(server: ServerProcess, seconds: float, pcm: bytes, nice: int) -> None:
    header = f"{'':>8} {'commit p50':>11} {'commit p90':>11} {'final p50':>10} {'final p90':>10}"
    print(header)
    quiet, _ = await run_level([server], 1, seconds, pcm)
    abuse = Abuse(server, nice)
    abuse.start()
    await asyncio.sleep(1.0)
    flooded, _ = await run_level([server], 1, seconds, pcm)
    counts = abuse.finish()
    for name, m in (("quiet", quiet), ("flooded", flooded)):
        print(
            f"{name:>8} {pct(m.committed, 0.5):>11.2f} {pct(m.committed, 0.9):>11.2f} "
            f"{pct(m.finals, 0.5):>10.2f} {pct(m.finals, 0.9):>10.2f}"
        )
    ratio = pct(flooded.committed, 0.9) / pct(quiet.committed, 0.9)
    print(f"commit p90 flooded/quiet: {ratio:.2f}  (abusers in their own process, nice {nice})")
    print(
        f"flooder shed {counts['shed']:.0f} times (4430, refused on reconnect while its budget is spent); "
        f"opener held {counts['opened']:.0f} sockets, refused {counts['refused']:.0f} times; "
        f"server peak RSS {counts['peak_rss_mib']:.0f} MiB"
    )


def row(label: str, m: Measure) -> str:
    return (
        f"{label:>14} {pct(m.shown, 0.5):>10.2f} {pct(m.shown, 0.9):>10.2f} {pct(m.committed, 0.5):>11.2f} "
        f"{pct(m.committed, 0.9):>11.2f} {pct(m.finals, 0.5):>10.2f} {pct(m.finals, 0.9):>10.2f}"
    )


HEADER = (
    f"{'meetings':>14} {'shown p50':>10} {'shown p90':>10} {'commit p50':>11} {'commit p90':>11} "
    f"{'final p50':>10} {'final p90':>10}"
)


async def cluster_run(root: Path, levels: list[int], seconds: float, pcm: bytes) -> None:
    """Two nodes on a scratch PostgreSQL database and a private Redis, on this one machine."""
    from harness.services import PrivateRedis, scratch_database

    creds = write_credentials(root / "creds")
    redis = PrivateRedis(root / "redis").start()
    with scratch_database("parley_bench") as url:
        shared = ["--database-url", url, "--redis-url", redis.url]
        nodes = [
            ServerProcess(data_dir=root / name, credentials=creds, extra_args=shared, lazy_model=False)
            for name in ("a", "b")
        ]
        for node in nodes:
            node.start(timeout=120)
        try:
            print(HEADER)
            for n in levels:
                local, remote = await run_level(nodes, n, seconds, pcm, listeners=True)
                print(row(f"{n} speaker", local), flush=True)
                print(row(f"{n} other node", remote), flush=True)
        finally:
            for node in nodes:
                node.stop()
            redis.kill()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--levels", default="1,2,3,4")
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--real", action="store_true", help="the real-speech development set")
    parser.add_argument("--flood", action="store_true", help="one meeting, quiet and while another is abused")
    parser.add_argument(
        "--abuser-nice", type=int, default=0, help="--flood: CPU niceness of the abusers' process (0-19)"
    )
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="two nodes (PostgreSQL + a private Redis); each meeting's listener on the other node",
    )
    args = parser.parse_args()
    pcm = speech_pcm(args.real)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.cluster:
            await cluster_run(root, [int(x) for x in args.levels.split(",")], args.seconds, pcm)
            return
        server = ServerProcess(
            data_dir=root / "data", credentials=write_credentials(root / "creds"), lazy_model=False
        ).start()
        try:
            if args.flood:
                await flood_run(server, args.seconds, pcm, args.abuser_nice)
                return
            print(HEADER)
            for n in [int(x) for x in args.levels.split(",")]:
                m, _ = await run_level([server], n, args.seconds, pcm)
                print(row(str(n), m), flush=True)
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
