"""One attendee's live connection: what it may do, how events reach it, and its decoder.

The session never touches the transport directly: outgoing frames go through a bounded queue that a
writer task drains into a ``Peer`` (the WebSocket adapter), so a slow client cannot stall its meeting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from parley.audio.decode import Decoder
from parley.live.content import is_content
from parley.store import Attendee
from parley.transcripts.events import TranscriptEvent
from parley.transcripts.wire import to_json, to_sdk_transcript_frame, to_signal_data_message_frame

log = logging.getLogger(__name__)

# "chime-signal": complete Chime SDK signaling frames (0x05 || SdkSignalFrame{DATA_MESSAGE}), for /control.
EventFormat = Literal["json", "protobuf", "chime-signal"]


class CloseCode:
    """WebSocket close codes of the attendee audio socket (docs/protocol.md)."""

    NORMAL = 1000
    INTERNAL = 1011
    BAD_REQUEST = 4400
    FORBIDDEN = 4403
    REPLACED = 4301  # the attendee joined again from another connection (Chime's AUDIO_STATUS 301)
    TOO_LARGE = 4413
    TOO_SLOW = 4429
    AUDIO_TOO_FAST = 4430  # audio arrives faster than --max-audio-speed × real time, beyond the burst
    MEETING_ENDED = 4410  # Chime's close code for a meeting that ended
    ATTENDEE_REMOVED = 4411  # Chime's AUDIO_STATUS 411 (DeleteAttendee)


def close_reason(text: str) -> str:
    """``text`` cut to the 123 bytes of UTF-8 a close frame may carry (a longer reason fails the close)."""
    return text.encode("utf-8", "replace")[:123].decode("utf-8", "ignore")


class Peer(Protocol):
    async def send_text(self, data: str) -> None: ...
    async def send_bytes(self, data: bytes) -> None: ...
    async def close(self, code: int, reason: str) -> None: ...
    def capabilities_changed(self) -> None:
        """UpdateAttendeeCapabilities reached this session (``session.attendee`` holds the new ones)."""


_CLOSE = object()


@dataclass(eq=False)
class AttendeeSession:
    attendee: Attendee
    peer: Peer
    event_format: EventFormat = "json"
    decoder: Decoder | None = None
    connection_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    queue_size: int = 2048
    # Set when the session is shed for abuse: on leaving, its recognizer is discarded, not finalized.
    discard_speech: bool = False
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    close_code: int | None = None
    _queue: asyncio.Queue[object] = field(init=False)
    _writer: asyncio.Task[None] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._queue = asyncio.Queue(self.queue_size)

    @property
    def can_send_audio(self) -> bool:
        return self.attendee.capabilities.get("Audio") in ("SendReceive", "Send")

    @property
    def transcribed(self) -> bool:
        """Whether this session's audio is transcribed: a content share's is not (decision D39)."""
        return self.can_send_audio and not is_content(self.attendee.attendee_id)

    def start(self) -> None:
        self._writer = asyncio.get_running_loop().create_task(
            self._write_loop(), name=f"writer-{self.connection_id}"
        )

    def send_events(
        self, events: Iterable[TranscriptEvent], encoded: dict[str, str | bytes] | None = None
    ) -> None:
        """Queue events in this client's format; ``encoded`` caches encodings shared across a meeting."""
        if self.closed.is_set():
            return
        cache = encoded if encoded is not None else {}
        events = list(events)
        if self.event_format not in cache:
            if self.event_format == "protobuf":
                cache[self.event_format] = to_sdk_transcript_frame(events)
            elif self.event_format == "chime-signal":
                cache[self.event_format] = to_signal_data_message_frame(events)
            else:
                cache[self.event_format] = to_json(events)
        self._put(cache[self.event_format])

    def send_control(self, text: str) -> None:
        if not self.closed.is_set():
            self._put(text)

    def _put(self, frame: object) -> None:
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            log.warning("closing slow client %s", self.connection_id)
            self.close(CloseCode.TOO_SLOW, "client is not reading events fast enough")

    def close(self, code: int, reason: str) -> None:
        """Send what is queued, then close with ``code`` (idempotent; first code wins)."""
        if self.close_code is not None:
            return
        self.close_code = code
        self._reason = reason
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(_CLOSE)
        if self._queue.full():  # no room for the marker: drop the backlog so the close goes out now
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(_CLOSE)

    async def _write_loop(self) -> None:
        try:
            while True:
                frame = await self._queue.get()
                if frame is _CLOSE:
                    await self.peer.close(self.close_code or CloseCode.NORMAL, getattr(self, "_reason", ""))
                    return
                if isinstance(frame, bytes):
                    await self.peer.send_bytes(frame)
                else:
                    assert isinstance(frame, str)
                    await self.peer.send_text(frame)
        except Exception as exc:  # the socket went away; the reader side notices and cleans up
            log.debug("writer for %s stopped: %s", self.connection_id, exc)
        finally:
            self.closed.set()

    async def wait_closed(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
