"""A small attendee-socket client for tests (the real protocol, over a real WebSocket)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import websockets

from parley.audio.frames import float32_to_pcm16
from parley.transcripts.wire import from_sdk_transcript_frame, to_json

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "speech"


def clip_pcm16(name: str) -> bytes:
    """A test clip as PCM16 mono 16 kHz bytes."""
    import av

    with av.open(str(DATA / f"{name}.flac")) as container:
        stream = container.streams.audio[0]
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(stream)])
    return samples.astype(np.int16).tobytes()


def devset_pcm16(name: str) -> bytes:
    """A real-speech development-set clip (harness/devset.py) as PCM16 mono 16 kHz bytes."""
    from harness.devset import load_clip

    return float32_to_pcm16(load_clip(name).samples)


def clip_text(name: str) -> str:
    return (DATA / f"{name}.txt").read_text().strip()


def ws_url(endpoint: str, meeting_id: str) -> str:
    return endpoint.replace("http://", "ws://") + f"/calls/{meeting_id}"


@dataclass
class AttendeeClient:
    endpoint: str
    meeting_id: str
    join_token: str
    events: str = "json"
    audio: dict[str, Any] | None = None
    ws: Any = None
    received: list[dict[str, Any]] = field(default_factory=list)  # JSON-decoded events, in order
    arrivals: list[float] = field(default_factory=list)  # time.time() each of ``received`` arrived (benches)
    ready: dict[str, Any] | None = None
    close_code: int | None = None
    close_reason: str | None = None
    _reader: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def connect(self) -> AttendeeClient:
        self.ws = await websockets.connect(
            ws_url(self.endpoint, self.meeting_id),
            subprotocols=["parley-audio-v1", self.join_token],  # type: ignore[list-item]
            max_size=None,
        )
        await self.ws.send(
            json.dumps({"type": "start", "events": self.events, "audio": self.audio or {"format": "none"}})
        )
        self._reader = asyncio.get_running_loop().create_task(self._read())
        await self.wait_for(lambda: self.ready is not None, 10)
        return self

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                if isinstance(frame, bytes):
                    for event in json.loads(to_json(from_sdk_transcript_frame(frame)))["events"]:
                        self.received.append(event)
                else:
                    message = json.loads(frame)
                    if message.get("type") == "ready":
                        self.ready = message
                    else:
                        self.received.extend(message.get("events", []))
                self.arrivals.extend([time.time()] * (len(self.received) - len(self.arrivals)))
                self._changed.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            self.close_reason = self.ws.close_reason
            self._changed.set()

    async def wait_for(self, predicate: Any, seconds: float) -> None:
        async with asyncio.timeout(seconds):
            while not predicate():
                self._changed.clear()
                if predicate():
                    return
                await self._changed.wait()

    async def wait_closed(self, seconds: float = 15) -> int | None:
        await self.wait_for(lambda: self.close_code is not None, seconds)
        return self.close_code

    async def stream(
        self, pcm: bytes, *, chunk_ms: int = 100, realtime: bool = True, rate: int = 16000, speed: float = 1.0
    ) -> None:
        step = rate * 2 * chunk_ms // 1000
        for i in range(0, len(pcm), step):
            await self.ws.send(pcm[i : i + step])
            if realtime:
                await asyncio.sleep(chunk_ms / 1000 / speed)

    async def silence(self, seconds: float, rate: int = 16000) -> None:
        await self.stream(b"\x00\x00" * int(rate * seconds), rate=rate)

    def transcripts(self) -> list[dict[str, Any]]:
        return [r for e in self.received if e["type"] == "transcript" for r in e["transcript"]["results"]]

    def statuses(self) -> list[str]:
        return [e["status"]["type"] for e in self.received if e["type"] == "status"]

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)


def finals(client: AttendeeClient) -> list[dict[str, Any]]:
    return [r for r in client.transcripts() if not r["isPartial"]]


def text_of(results: list[dict[str, Any]]) -> str:
    return " ".join(r["alternatives"][0]["transcript"] for r in results)


async def transcribe_clip(
    server: Any,
    clip: str | bytes,
    configuration: dict[str, Any],
    *,
    region: str = "us-east-1",
    trailing_silence_s: float = 1.5,
    speed: float = 1.0,
) -> list[dict[str, Any]]:
    """One speaker streams ``clip`` (a tests/data/speech name, or PCM16 16 kHz bytes) at ``speed`` × real time
    into a fresh meeting transcribed with ``configuration``; every result a listener received (protobuf events),
    in order. Stop comes after ``trailing_silence_s`` of silence, so the VAD ends the last sentence itself.
    ``server`` is a ``harness.server.ServerProcess``."""
    chime = server.client()
    mid = chime.create_meeting(ExternalMeetingId="clip", MediaRegion=region)["Meeting"]["MeetingId"]
    speaker = chime.create_attendee(MeetingId=mid, ExternalUserId="speaker")["Attendee"]
    listener = chime.create_attendee(MeetingId=mid, ExternalUserId="listener")["Attendee"]
    chime.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration=configuration)
    talk = await AttendeeClient(
        server.endpoint, mid, speaker["JoinToken"], audio={"format": "pcm16", "sampleRate": 16000}
    ).connect()
    hear = await AttendeeClient(server.endpoint, mid, listener["JoinToken"], events="protobuf").connect()
    await hear.wait_for(lambda: "started" in hear.statuses(), 30)
    await talk.stream(clip_pcm16(clip) if isinstance(clip, str) else clip, speed=speed)
    await talk.stream(b"\x00\x00" * int(16000 * trailing_silence_s), speed=speed)
    chime.stop_meeting_transcription(MeetingId=mid)
    await hear.wait_for(lambda: "stopped" in hear.statuses(), 90)
    await asyncio.gather(talk.close(), hear.close())
    chime.delete_meeting(MeetingId=mid)
    assert "failed" not in hear.statuses()
    return hear.transcripts()
