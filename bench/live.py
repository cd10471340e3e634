"""End-to-end live transcription latency and capacity, through the real server and real sockets.

For N = 1, 2, … concurrent meetings (one speaker each), speakers stream
test clips at real-time pace for ``--seconds``; for every word we record when it was first shown (any partial)
and when it was committed (``stable`` or final) at the speaker's socket (which receives the meeting's
events like every participant), relative to the moment the audio containing
the end of that word was sent. Both processes run on this machine, so they share one clock.

    .venv/bin/python bench/live.py [--levels 1,2,3,4] [--seconds 40] [--real]

``--real`` plays the real-speech development set (tests/speech/devset.py: people reading, not espeak-ng) instead of
the synthetic clips; it is the set the targets are stated for.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.live.client import AttendeeClient, clip_pcm16  # noqa: E402
from tests.support.server import ServerProcess, write_credentials  # noqa: E402

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
    from tests.speech.devset import devset

    from parley.audio.frames import float32_to_pcm16

    return b"".join(float32_to_pcm16(c.samples) + b"\x00\x00" * 16000 for c in devset())


async def run_level(server: ServerProcess, n: int, seconds: float, pcm: bytes) -> Measure:
    chime = server.client()
    talkers: list[AttendeeClient] = []
    for i in range(n):
        mid = chime.create_meeting(ExternalMeetingId=f"bench-{n}-{i}", MediaRegion="us-east-1")["Meeting"][
            "MeetingId"
        ]
        att = chime.create_attendee(MeetingId=mid, ExternalUserId=f"speaker-{i}")["Attendee"]
        chime.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration=CONFIG)
        talkers.append(
            AttendeeClient(
                server.endpoint, mid, att["JoinToken"], audio={"format": "pcm16", "sampleRate": 16000}
            )
        )
    shown: set[tuple[int, str, int]] = set()  # (talker, result id, item index)
    committed: set[tuple[int, str, int]] = set()
    measure = Measure()
    starts: list[float] = []

    async def speak(i: int, client: AttendeeClient) -> None:
        await client.connect()
        origin = time.time()  # the recognizer is attached during the join, just before `ready`
        starts.append(origin)
        seen = 0
        sent_until = origin + seconds
        chunk = 3200
        offset = 0
        t0 = time.time()
        while time.time() < sent_until:
            await client.ws.send(pcm[offset % len(pcm) : offset % len(pcm) + chunk])
            offset += chunk
            await asyncio.sleep(max(0.0, t0 + offset / 32000 - time.time()))
            now = time.time()
            results = client.transcripts()
            for r in results[seen:]:
                for k, item in enumerate(r["alternatives"][0]["items"]):
                    if item["type"] != "pronunciation":
                        continue
                    key = (i, r["resultId"], k)
                    # Item times are the recognizer's start (≈ origin) plus the audio offset; that audio left
                    # this client at t0 plus the same offset.
                    sent = item["endTimeMs"] / 1000 + (t0 - origin)
                    if key not in shown:
                        shown.add(key)
                        measure.shown.append(now - sent)
                    if (item.get("stable") or not r["isPartial"]) and key not in committed:
                        committed.add(key)
                        measure.committed.append(now - sent)
                if not r["isPartial"] and r["alternatives"][0]["items"]:
                    measure.finals.append(now - (r["endTimeMs"] / 1000 + (t0 - origin)))
            seen = len(results)
        await client.silence(1.5)
        await client.close()

    await asyncio.gather(*(speak(i, c) for i, c in enumerate(talkers)))
    return measure


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--levels", default="1,2,3,4")
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--real", action="store_true", help="the real-speech development set")
    args = parser.parse_args()
    pcm = speech_pcm(args.real)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server = ServerProcess(
            data_dir=root / "data", credentials=write_credentials(root / "creds"), lazy_model=False
        ).start()
        try:
            print(
                f"{'meetings':>8} {'shown p50':>10} {'shown p90':>10} {'commit p50':>11} {'commit p90':>11} {'final p50':>10} {'final p90':>10}"
            )
            for n in [int(x) for x in args.levels.split(",")]:
                m = await run_level(server, n, args.seconds, pcm)
                print(
                    f"{n:>8} {pct(m.shown, 0.5):>10.2f} {pct(m.shown, 0.9):>10.2f} {pct(m.committed, 0.5):>11.2f} "
                    f"{pct(m.committed, 0.9):>11.2f} {pct(m.finals, 0.5):>10.2f} {pct(m.finals, 0.9):>10.2f}",
                    flush=True,
                )
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
