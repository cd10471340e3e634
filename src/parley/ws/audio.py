"""The attendee audio socket at ``MediaPlacement.AudioFallbackUrl`` (``/calls/{MeetingId}``).

Protocol (docs/protocol.md): subprotocols ``["parley-audio-v1", <JoinToken>]``; the first client
message is a JSON ``start``; then binary audio frames; the server sends a ``ready`` message, then
transcript events (JSON text frames, or protobuf ``SdkTranscriptFrame`` binary frames on request).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.websockets import WebSocket

from parley.audio.decode import AudioFormatError, Decoder, make_decoder
from parley.audio.frames import SAMPLE_RATE
from parley.live.runtime import LiveRuntime
from parley.live.session import AttendeeSession, CloseCode
from parley.protocol import jsondoc
from parley.store import Attendee
from parley.ws.peer import StarlettePeer

log = logging.getLogger(__name__)

SUBPROTOCOL = "parley-audio-v1"


class StartError(Exception):
    pass


def _token(websocket: WebSocket) -> str | None:
    offered = [p.strip() for p in websocket.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
    if SUBPROTOCOL not in offered:
        return None
    tokens = [p for p in offered if p != SUBPROTOCOL]
    return tokens[0] if len(tokens) == 1 else None


def parse_start(text: str, attendee: Attendee) -> tuple[str, Decoder | None]:
    try:
        message: Any = jsondoc.loads(text)
    except jsondoc.JsonInputError as exc:
        raise StartError(f"the first message must be a JSON start message ({exc})") from None
    if not isinstance(message, dict) or message.get("type") != "start":
        raise StartError('the first message must be {"type": "start", ...}')
    events = message.get("events", "json")
    if events not in ("json", "protobuf"):
        raise StartError('"events" must be "json" or "protobuf"')
    audio = message.get("audio") or {"format": "none"}
    if not isinstance(audio, dict):
        raise StartError('"audio" must be an object')
    fmt = audio.get("format", "none")
    if fmt == "none":
        return events, None
    if attendee.capabilities.get("Audio") not in ("SendReceive", "Send"):
        raise PermissionError(
            f"the attendee's Audio capability is {attendee.capabilities.get('Audio')}: it cannot send audio"
        )
    rate = audio.get("sampleRate")
    if rate is not None and (not isinstance(rate, int) or isinstance(rate, bool)):
        raise StartError('"sampleRate" must be an integer')
    try:
        return events, make_decoder(fmt, rate)
    except AudioFormatError as exc:
        raise StartError(str(exc)) from None


class AudioBudget:
    """How much audio a connection may still send: a token bucket in audio seconds.

    A microphone produces one second of audio per second; files streamed for a test or a batch job may go
    faster, so an attendee may run ``burst_s`` of audio ahead of real time and then keep up ``max_speed`` ×
    real time. Beyond that one client would take the recognizer from everyone else (and queue finals without
    bound), so it is closed. The budget belongs to the attendee, not the connection: reconnecting does not refill
    it (a flooder that reconnected got a fresh burst each time). A handful of lines rather than a library: it is
    one subtraction per frame.
    """

    def __init__(self, max_speed: float, burst_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_speed = max_speed
        self.burst_s = burst_s
        self.clock = clock
        self.tokens = burst_s
        self.updated = clock()

    def spend(self, audio_s: float) -> bool:
        """Take ``audio_s``; False when the attendee has gone over its budget."""
        self._refill()
        self.tokens -= audio_s
        return self.tokens >= 0

    @property
    def full(self) -> bool:
        self._refill()
        return self.tokens >= self.burst_s

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst_s, self.tokens + (now - self.updated) * self.max_speed)
        self.updated = now


class AudioSocket:
    def __init__(
        self,
        runtime: LiveRuntime,
        *,
        max_frame_bytes: int = 256 * 1024,
        start_timeout_s: float = 10.0,
        max_audio_speed: float = 2.0,
        audio_burst_s: float = 30.0,
    ) -> None:
        self.runtime = runtime
        self.max_frame_bytes = max_frame_bytes
        self.start_timeout_s = start_timeout_s
        self.max_audio_speed = max_audio_speed
        self.audio_burst_s = audio_burst_s
        self._budgets: dict[str, AudioBudget] = {}  # per attendee; dropped once full again

    def _budget(self, attendee_id: str) -> AudioBudget:
        for key in [k for k, b in self._budgets.items() if b.full]:
            del self._budgets[key]
        budget = self._budgets.get(attendee_id)
        if budget is None:
            budget = self._budgets[attendee_id] = AudioBudget(self.max_audio_speed, self.audio_burst_s)
        return budget

    async def __call__(self, websocket: WebSocket) -> None:
        meeting_id = websocket.path_params["meeting_id"].lower()
        token = _token(websocket)
        attendee = await self.runtime.store.get_attendee_by_token(token) if token else None
        if attendee is None or attendee.meeting_id != meeting_id:
            await websocket.close(
                code=CloseCode.FORBIDDEN
            )  # before accept: an HTTP 403, as Chime rejects tokens
            return
        await websocket.accept(subprotocol=SUBPROTOCOL)
        peer = StarlettePeer(websocket)
        if self._budget(attendee.attendee_id).tokens < 0:
            # Shed for sending too fast and back before its budget recovered: refused before it joins, so
            # reconnecting in a loop costs no recognizer (measured: bench/live.py --flood).
            await peer.close(CloseCode.AUDIO_TOO_FAST, "audio budget exhausted: reconnect later")
            return
        try:
            first = await asyncio.wait_for(websocket.receive(), self.start_timeout_s)
            if first["type"] == "websocket.disconnect":
                return
            if first.get("text") is None:
                raise StartError("the first message must be a JSON start message")
            events, decoder = parse_start(first["text"], attendee)
        except TimeoutError:
            await peer.close(CloseCode.BAD_REQUEST, "no start message")
            return
        except StartError as exc:
            await peer.close(CloseCode.BAD_REQUEST, str(exc))
            return
        except PermissionError as exc:
            await peer.close(CloseCode.FORBIDDEN, str(exc))
            return
        greeting = json.dumps(
            {
                "type": "ready",
                "meetingId": attendee.meeting_id,
                "attendeeId": attendee.attendee_id,
                "externalUserId": attendee.external_user_id,
                "events": events,
                "audio": decoder is not None,
            }
        )
        session = await self.runtime.join(
            attendee,
            peer,
            event_format=events,
            decoder=decoder,
            greeting=greeting,  # type: ignore[arg-type]
        )
        if session is None:
            return
        try:
            await self._receive(websocket, session)
        except Exception:
            log.exception("audio socket for %s failed", attendee.attendee_id)
            session.close(CloseCode.INTERNAL, "internal error")
        finally:
            await self.runtime.leave(session)
            if session.decoder is not None:
                session.decoder.close()  # container decoders own a demuxer thread
            session.close(CloseCode.NORMAL, "")  # no-op if already closing; ends the writer task
            await session.wait_closed()

    async def _receive(self, websocket: WebSocket, session: AttendeeSession) -> None:
        budget = self._budget(session.attendee.attendee_id)
        while session.close_code is None:
            receive = asyncio.ensure_future(websocket.receive())
            closed = asyncio.ensure_future(session.closed.wait())
            done, _ = await asyncio.wait({receive, closed}, return_when=asyncio.FIRST_COMPLETED)
            if receive not in done:
                receive.cancel()
                return
            closed.cancel()
            message = receive.result()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is not None:
                self._audio(session, data, budget)
            elif message.get("text") is not None:
                self._control(session, message["text"])

    def _audio(self, session: AttendeeSession, data: bytes, budget: AudioBudget) -> None:
        if len(data) > self.max_frame_bytes:
            session.close(CloseCode.TOO_LARGE, f"audio frames must be at most {self.max_frame_bytes} bytes")
            return
        if session.decoder is None:
            session.close(CloseCode.FORBIDDEN, 'audio sent without an "audio" format in the start message')
            return
        try:
            pcm = session.decoder.feed(data)
        except AudioFormatError as exc:
            session.close(CloseCode.BAD_REQUEST, f"bad audio: {exc}")
            return
        if not budget.spend(len(pcm) / (2 * SAMPLE_RATE)):
            session.discard_speech = True  # its utterance in flight is not worth a final decode
            session.close(
                CloseCode.AUDIO_TOO_FAST,
                f"audio arrives faster than {budget.max_speed:g}x real time (after {budget.burst_s:g} s ahead)",
            )
            return
        self.runtime.audio(session, pcm)

    def _control(self, session: AttendeeSession, text: str) -> None:
        try:
            message = jsondoc.loads(text)
        except jsondoc.JsonInputError as exc:
            session.close(CloseCode.BAD_REQUEST, f"control messages must be JSON ({exc})")
            return
        if isinstance(message, dict) and message.get("type") == "stop":
            if session.decoder is not None:
                with contextlib.suppress(AudioFormatError):
                    self.runtime.audio(session, session.decoder.flush())
            # Finalize this attendee's utterance; the socket closes once its final result was sent.
            self.runtime.spawn(self.runtime.drain(session))
        elif isinstance(message, dict) and message.get("type") == "ping":
            session.send_control(json.dumps({"type": "pong", "id": message.get("id")}))
        else:
            session.close(CloseCode.BAD_REQUEST, "unknown control message")
