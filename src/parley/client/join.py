"""``parley join``: stream an audio file into a meeting as an attendee and show the live captions.

The attendee's JoinToken is found through the API alone: parley returns JoinTokens only from creation calls
(docs/decisions.md D10), but CreateAttendee with an existing ExternalUserId is idempotent and returns that
attendee with its token (D9). So ``--attendee`` may be an ExternalUserId (created if new) or an AttendeeId
(looked up with GetAttendee for its ExternalUserId, then "re-created").

Any file PyAV can open is decoded and resampled to 16 kHz mono PCM16 on the fly, sent over the audio socket
(docs/protocol.md §1) at real-time pace — what a microphone would do, and what keeps the captions' timing
natural — or, with ``--fast``, at twice real time (what servers accept by default). At the end the client sends ``stop`` and waits for
the server to flush the last utterance and close, so no final result is lost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parley.client.captions import CaptionRenderer
from parley.client.commands import Api, CliError

RATE = 16000
BYTES_PER_SECOND = RATE * 2

CLOSE_REASONS = {
    1011: "the server failed",
    4301: "the same attendee joined from another connection",
    4400: "the server rejected the stream",
    4403: "this attendee may not send audio (check its Capabilities)",
    4410: "the meeting ended",
    4411: "the attendee was deleted",
    4413: "an audio frame was too large",
    4429: "this client fell behind reading events",
    4430: "the audio was sent faster than the server accepts",
}
#: ``--fast`` sends at this multiple of real time: the server's default --max-audio-speed
FAST_SPEED = 2.0


@dataclass
class Joined:
    meeting_id: str
    attendee_id: str
    external_user_id: str
    join_token: str
    url: str


def resolve(api: Api, meeting_id: str, attendee: str) -> Joined:
    """The socket URL and the attendee's JoinToken, from an AttendeeId or an ExternalUserId."""
    from botocore.exceptions import ClientError

    from parley.protocol.spec import shape_pattern

    meeting = api.client.get_meeting(MeetingId=meeting_id)["Meeting"]
    external_user_id = attendee
    if shape_pattern(api.client.meta.service_model, "GuidString").fullmatch(attendee):
        try:
            found = api.client.get_attendee(MeetingId=meeting_id, AttendeeId=attendee)["Attendee"]
            external_user_id = found["ExternalUserId"]
        except ClientError as exc:
            # An ExternalUserId may look like a GUID too; only a missing attendee falls through to it.
            if exc.response.get("Error", {}).get("Code") not in ("NotFound", "NotFoundException"):
                raise
    created = api.client.create_attendee(MeetingId=meeting_id, ExternalUserId=external_user_id)["Attendee"]
    url = meeting.get("MediaPlacement", {}).get("AudioFallbackUrl")
    if not url:
        raise CliError("NoAudioUrl", f"meeting {meeting_id} has no MediaPlacement.AudioFallbackUrl")
    return Joined(
        meeting["MeetingId"], created["AttendeeId"], created["ExternalUserId"], created["JoinToken"], url
    )


# -- decoding ---------------------------------------------------------------------------------------------


def duration_s(path: Path) -> float | None:
    import av

    try:
        with av.open(str(path)) as container:
            if container.duration:
                return float(container.duration) / 1_000_000
            stream = container.streams.audio[0]
            if stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
    except (av.error.FFmpegError, IndexError):
        return None
    return None


def pcm_chunks(path: Path, chunk_bytes: int) -> Iterator[bytes]:
    """16 kHz mono PCM16 in ``chunk_bytes`` pieces (the last may be shorter), decoded lazily."""
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise CliError("UnreadableAudio", f"{path}: not audio FFmpeg can decode ({exc})") from exc
    with container:
        if not container.streams.audio:
            raise CliError("UnreadableAudio", f"{path}: no audio stream")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        pending = bytearray()
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    pending += out.to_ndarray().tobytes()
                while len(pending) >= chunk_bytes:
                    yield bytes(pending[:chunk_bytes])
                    del pending[:chunk_bytes]
            for out in resampler.resample(None):
                pending += out.to_ndarray().tobytes()
        except av.error.FFmpegError as exc:
            raise CliError("UnreadableAudio", f"{path}: the audio does not decode ({exc})") from exc
        for i in range(0, len(pending), chunk_bytes):
            yield bytes(pending[i : i + chunk_bytes])


# -- streaming --------------------------------------------------------------------------------------------


class Session:
    """One connection: a sender (the file) and a reader (events → captions) sharing a socket."""

    def __init__(self, joined: Joined, audio: Path, fast: bool, captions: CaptionRenderer) -> None:
        self.joined = joined
        self.audio = audio
        self.fast = fast
        self.captions = captions
        self.interrupted = asyncio.Event()
        self.ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.failed = False

    async def run(self) -> int:
        import websockets

        try:
            ws = await websockets.connect(
                self.joined.url,
                subprotocols=["parley-audio-v1", self.joined.join_token],  # type: ignore[list-item]
                max_size=None,
                open_timeout=15,
            )
        except websockets.exceptions.InvalidHandshake as exc:
            raise CliError("JoinRefused", f"the server refused the audio socket ({exc})") from exc
        except OSError as exc:
            raise CliError("EndpointConnection", f"cannot reach {self.joined.url}: {exc}") from exc
        async with ws:
            await ws.send(
                json.dumps(
                    {"type": "start", "audio": {"format": "pcm16", "sampleRate": RATE}, "events": "json"}
                )
            )
            reader = asyncio.create_task(self._read(ws))
            try:
                done, _ = await asyncio.wait(
                    {reader, self.ready}, timeout=15, return_when=asyncio.FIRST_COMPLETED
                )
                if not done:
                    raise CliError("JoinTimeout", "the server did not answer the start message")
                if self.ready.done():
                    who = f"{self.joined.external_user_id} ({self.joined.attendee_id})"
                    self.captions.banner(f"joined meeting {self.joined.meeting_id} as {who}")
                    await self._send(ws)
                    with contextlib.suppress(websockets.ConnectionClosed):
                        await ws.send(json.dumps({"type": "stop"}))
                await reader  # the server flushes the last utterance, then closes
            finally:
                reader.cancel()
                self.captions.finish()
            code, reason = ws.close_code, ws.close_reason
        if code in (1000, None) and self.ready.done():
            self.captions.banner("left the meeting")
            return 1 if self.failed else 0
        detail = CLOSE_REASONS.get(code or 0, "the connection closed")
        raise CliError(f"Closed{code}", f"{detail}" + (f": {reason}" if reason else ""))

    async def _read(self, ws: Any) -> None:
        import websockets

        with contextlib.suppress(websockets.ConnectionClosed):
            async for frame in ws:
                if isinstance(frame, bytes):
                    continue  # we asked for JSON events
                message = json.loads(frame)
                if message.get("type") == "ready":
                    if not self.ready.done():
                        self.ready.set_result(message)
                    continue
                for event in message.get("events", []):
                    if event.get("type") == "status" and event.get("status", {}).get("type") == "failed":
                        self.failed = True
                    self.captions.event(event)

    async def _send(self, ws: Any) -> None:
        import websockets

        total = await asyncio.to_thread(duration_s, self.audio)
        # 100 ms frames at real time, like a microphone; bigger ones when only throughput matters.
        chunk = BYTES_PER_SECOND // (2 if self.fast else 10)
        chunks = pcm_chunks(self.audio, chunk)
        started = time.monotonic()
        sent = 0
        try:
            while not self.interrupted.is_set():
                data = await asyncio.to_thread(next, chunks, None)
                if data is None:
                    break
                try:
                    await ws.send(data)
                except websockets.ConnectionClosed:
                    return
                sent += len(data)
                position = sent / BYTES_PER_SECOND
                self.captions.set_progress(position, total)
                delay = started + position / (FAST_SPEED if self.fast else 1.0) - time.monotonic()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.interrupted.wait(), delay)
        finally:
            chunks.close()
        if self.interrupted.is_set():
            self.captions.banner("interrupted: stopping, waiting for the last results (Ctrl-C again to quit)")


async def _main(api: Api, args: argparse.Namespace) -> int:
    joined = await asyncio.to_thread(resolve, api, args.meeting_id, args.attendee)
    captions = CaptionRenderer.for_stream(sys.stdout)
    session = Session(joined, args.audio, args.fast, captions)
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()

    def on_sigint() -> None:
        # First Ctrl-C: stop sending and let the server flush; second: give up at once.
        if session.interrupted.is_set() and main_task is not None:
            main_task.cancel()
        session.interrupted.set()

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    try:
        return await session.run()
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)


def probe_audio(path: Path) -> None:
    """Refuse a file that is not decodable audio before anyone joins (the attendee would join, then fail)."""
    if not path.is_file():
        raise CliError("FileNotFound", f"{path}: no such file")
    for _chunk in pcm_chunks(path, RATE * 2):  # decoding the first second proves the format and codec
        return
    raise CliError("UnreadableAudio", f"{path}: no audio in the file")


def run_join(api: Api, args: argparse.Namespace) -> int:
    probe_audio(Path(args.audio))
    return asyncio.run(_main(api, args))
