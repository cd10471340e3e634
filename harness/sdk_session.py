"""A Chime SDK session for cluster tests: the SDK's join (and its Opus uplink, through ``MediaPeer``), then a reader
that keeps presence and transcript events, and how the session was closed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import websockets

from harness.devset import normalize_words
from harness.media import MediaPeer
from harness.server import ServerProcess
from harness.signaling import SignalingClient, signaling_url
from parley.proto import chime_signaling_pb2 as pb
from parley.transcripts.events import Transcript, TranscriptionStatus
from parley.transcripts.wire import from_sdk_transcript_frame


def direct(meeting: dict[str, Any], node: ServerProcess) -> str:
    """The meeting's signaling URL on one node, bypassing the balancer."""
    url = signaling_url(meeting)
    return node.endpoint.replace("http", "ws", 1) + url[url.index("/control/") :]


class Listener:
    """A Chime SDK signaling client that keeps reading: presence snapshots and transcript events."""

    def __init__(self, client: SignalingClient) -> None:
        self.client = client
        self.events: list[Any] = []
        self._streams: dict[int, str] = {}  # audio stream id → attendee id, from presence frames
        self.closed: int | None = None
        self.media: MediaPeer | None = None  # what it sends, when it was joined with media
        self._changed = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._read())

    def _take(self, message: Any) -> None:
        if message.type == pb.SdkSignalFrame.AUDIO_STREAM_ID_INFO:
            for stream in message.audio_stream_id_info.streams:
                if stream.dropped:
                    self._streams.pop(stream.audio_stream_id, None)
                elif stream.attendee_id:
                    self._streams[stream.audio_stream_id] = stream.attendee_id
        elif message.type == pb.SdkSignalFrame.DATA_MESSAGE:
            for payload in message.data_message.messages:
                self.events += from_sdk_transcript_frame(payload.data)
        self._changed.set()

    async def _read(self) -> None:
        for message in self.client.received:  # what came while the client joined and subscribed
            self._take(message)
        try:
            while True:
                self._take(await self.client.recv())
        except websockets.ConnectionClosed as exc:
            self.closed = exc.rcvd.code if exc.rcvd is not None else 1006
        except TimeoutError:
            pass
        self._changed.set()

    @property
    def present(self) -> set[str]:
        return set(self._streams.values())

    def statuses(self) -> list[str]:
        return [e.type for e in self.events if isinstance(e, TranscriptionStatus)]

    def final_words(self) -> list[str]:
        text = " ".join(
            r.alternatives[0].transcript
            for e in self.events
            if isinstance(e, Transcript)
            for r in e.results
            if not r.is_partial
        )
        return normalize_words(text)

    async def wait_for(self, condition: Any, seconds: float) -> None:
        async with asyncio.timeout(seconds):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    async def stop(self) -> None:
        self._task.cancel()
        await self.client.close()


async def joined(url: str, attendee: dict[str, Any], media: MediaPeer | None = None) -> Listener:
    """Join (and send ``media``'s audio) as the SDK does, then keep reading."""
    client = await SignalingClient(url, attendee["JoinToken"]).connect()
    await client.join()
    if media is not None:
        await media.subscribe(client, attendee["AttendeeId"])
    listener = Listener(client)
    listener.media = media
    return listener


async def rejoined(
    url: str, attendee: dict[str, Any], media: Callable[[], MediaPeer], within_s: float = 60.0
) -> Listener:
    """Reconnect as the SDK does after losing its session: an attempt that fails (refused, timed out, closed with
    a 45xx code) is retried a second later, until ``within_s`` (the SDK's own window is 120 s)."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        peer = media()
        try:
            return await joined(url, attendee, peer)
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
            await peer.close()
            if asyncio.get_running_loop().time() >= deadline:
                raise AssertionError(f"no session within {within_s} s: {exc!r}") from exc
            await asyncio.sleep(1.0)
