"""Abuse while another meeting transcribes: one attendee floods audio at 20x real time, another client opens
sockets in a loop without closing them. The flooder is shed with 4430, the socket opener meets the per-address
cap, the other meeting's speech is transcribed in full, and the server's memory stays under its bound.

Latency under the flood is measured, not asserted: ``bench/live.py --flood`` prints the other meeting's commit and
final latency quiet and flooded (docs/benchmarks.md "Abuse").
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
import websockets

from harness.attendee import AttendeeClient, finals, text_of
from harness.devset import load_clip_samples, normalize_words
from harness.server import ServerProcess
from parley.audio.frames import float32_to_pcm16

pytestmark = pytest.mark.model

#: documented in docs/operations.md "Limits": the server's resident memory with the bundled model under abuse
RSS_BOUND_MIB = 1536
PCM16 = {"format": "pcm16", "sampleRate": 16000}
#: the socket opener is another client: it connects from another loopback address
ABUSER_ADDRESS = "127.0.0.2"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def flood(server: ServerProcess, meeting_id: str, token: str) -> int | None:
    """Send noise at 20x real time until the server closes the socket; its close code."""
    client = await AttendeeClient(server.endpoint, meeting_id, token, audio=PCM16).connect()
    noise = b"\x10\x00\xf0\xff" * 4000  # 0.5 s of a square wave
    try:
        async with asyncio.timeout(30):
            while True:
                await client.ws.send(noise)
                await asyncio.sleep(0.025)  # 0.5 s of audio every 25 ms: 20x real time
    except websockets.ConnectionClosed:
        pass
    return await client.wait_closed(10)


async def hold_sockets(
    server: ServerProcess, meeting_id: str, token: str, stop: asyncio.Event
) -> tuple[int, int]:
    """Open audio sockets in a loop and keep them; (opened, refused) when ``stop`` is set."""
    held: list[websockets.ClientConnection] = []
    refused = 0
    url = server.endpoint.replace("http", "ws") + f"/calls/{meeting_id}"
    while not stop.is_set():
        try:
            held.append(
                await websockets.connect(
                    url,
                    subprotocols=["parley-audio-v1", token],  # type: ignore[list-item]
                    open_timeout=5,
                    local_addr=(ABUSER_ADDRESS, 0),
                )
            )
        except (OSError, websockets.InvalidHandshake, TimeoutError):
            refused += 1
            await asyncio.sleep(0.05)
    for ws in held:
        with contextlib.suppress(Exception):
            await ws.close()
    return len(held), refused


async def test_a_flood_is_shed_and_the_other_meeting_is_transcribed_in_full(
    model_server: ServerProcess,
) -> None:
    chime = model_server.client()
    en = {"EngineTranscribeSettings": {"LanguageCode": "en-US"}}
    quiet = chime.create_meeting(ExternalMeetingId="quiet", MediaRegion="us-east-1")["Meeting"]["MeetingId"]
    noisy = chime.create_meeting(ExternalMeetingId="noisy", MediaRegion="us-east-1")["Meeting"]["MeetingId"]
    for mid in (quiet, noisy):
        chime.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration=en)
    speaker = chime.create_attendee(MeetingId=quiet, ExternalUserId="speaker")["Attendee"]
    listener = chime.create_attendee(MeetingId=quiet, ExternalUserId="listener")["Attendee"]
    flooder = chime.create_attendee(MeetingId=noisy, ExternalUserId="flooder")["Attendee"]
    opener = chime.create_attendee(MeetingId=noisy, ExternalUserId="opener")["Attendee"]
    talk = await AttendeeClient(model_server.endpoint, quiet, speaker["JoinToken"], audio=PCM16).connect()
    hear = await AttendeeClient(model_server.endpoint, quiet, listener["JoinToken"]).connect()
    await hear.wait_for(lambda: "started" in hear.statuses(), 30)

    samples, _reference = load_clip_samples("jfk")
    stop = asyncio.Event()
    opening = asyncio.ensure_future(hold_sockets(model_server, noisy, opener["JoinToken"], stop))
    flooding = asyncio.ensure_future(flood(model_server, noisy, flooder["JoinToken"]))
    await talk.stream(float32_to_pcm16(samples), chunk_ms=20)
    # The API keeps answering everyone else while the opener sits at its cap.
    assert (await asyncio.to_thread(chime.get_meeting, MeetingId=quiet))["Meeting"]["MeetingId"] == quiet
    await talk.silence(1.5)
    peak = rss_mib(model_server.proc.pid)  # type: ignore[union-attr]
    stop.set()
    opened, refused = await opening
    code = await flooding

    assert code == 4430, f"the flooder was closed with {code}"
    assert refused > 0, f"{opened} sockets opened and none refused: no per-address cap"

    # JFK's line is two results (the pause before "ask what you"): wait for the second one's final, not merely for
    # a final that happens to be the newest event (under the flood the second result's partials may come late).
    def said() -> str:
        return " ".join(normalize_words(text_of(finals(hear))))

    with contextlib.suppress(TimeoutError):
        await hear.wait_for(lambda: said().endswith("for your country"), 60)
    for phrase in (
        "my fellow americans",
        "what your country can do for you",
        "what you can do for your country",
    ):
        assert phrase in said(), said()
    assert peak < RSS_BOUND_MIB, f"server RSS {peak:.0f} MiB"
    await asyncio.gather(talk.close(), hear.close())
    for mid in (quiet, noisy):
        await asyncio.to_thread(chime.delete_meeting, MeetingId=mid)
