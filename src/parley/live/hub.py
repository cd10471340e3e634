"""A meeting as seen by one parley process: its local sessions, recognizers, and bus subscription.

A hub exists while the process holds at least one connection of the meeting. It applies transcription
changes to local attendees (and acknowledges them, so the node that took the API call can announce
``stopped`` only after every node's final results are out), forwards the meeting's events to local
sockets, and closes sessions when the meeting or an attendee is deleted or an attendee reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from parley.bus.base import Subscription
from parley.live.content import MODALITY
from parley.live.convert import (
    LiveTranscription,
    UnsupportedConfiguration,
    now_ms,
    status_event,
    stream_config,
)
from parley.live.ending import Ending
from parley.live.messages import (
    Ack,
    AttendeeRemoved,
    Barrier,
    CapabilitiesChanged,
    Closed,
    Ended,
    EngineStatus,
    Events,
    Message,
    Replaced,
    TranscriptionChanged,
    UnknownMessage,
)
from parley.live.messages import decode as decode_message
from parley.live.session import AttendeeSession, CloseCode
from parley.metrics import Metrics
from parley.store import Attendee, Meeting, TranscriptionState
from parley.streaming.attendee_stream import AttendeeStream
from parley.streaming.results import RecognitionResult
from parley.transcripts.events import TranscriptEvent

if TYPE_CHECKING:
    from parley.live.runtime import LiveRuntime

log = logging.getLogger(__name__)


class Transcriber:
    """One attendee's recognizer on this node and the task that publishes its results."""

    def __init__(self, hub: MeetingHub, attendee: Attendee, stream: AttendeeStream, channel_id: str) -> None:
        self.attendee = attendee
        self.stream = stream
        self.origin_ms = now_ms()
        self.channel_id = channel_id
        self._metrics: Metrics | None = hub.runtime.metrics
        self._task = asyncio.get_running_loop().create_task(
            self._pump(hub), name=f"pump-{attendee.attendee_id}"
        )

    async def _pump(self, hub: MeetingHub) -> None:
        fixed: dict[str, int] = {}  # result id -> items already stable (for the commit-latency metric)
        async for result in self.stream.results():
            self._observe(result, fixed)
            try:
                await hub.runtime.publish_result(hub.meeting, self, result)
            except Exception:
                log.exception("could not publish a result for meeting %s", hub.meeting.meeting_id)

    def _observe(self, result: RecognitionResult, fixed: dict[str, int]) -> None:
        """Commit latency and final lag, in audio time received (live audio arrives in real time)."""
        metrics = self._metrics
        if metrics is None:
            return
        heard = self.stream.position_s
        words = [i for i in result.items if i.type == "pronunciation"]
        done = [i for i in words if not result.is_partial or i.stable]
        for item in done[fixed.get(result.result_id, 0) :]:
            metrics.commit_seconds.observe(max(0.0, heard - item.end_s))
        if result.is_partial:
            fixed[result.result_id] = max(fixed.get(result.result_id, 0), len(done))
        else:
            fixed.pop(result.result_id, None)
            metrics.final_lag_seconds.observe(max(0.0, heard - result.end_s))

    def feed(self, pcm16: bytes) -> None:
        self.stream.feed(pcm16)
        if self._metrics is not None:
            self._metrics.audio_seconds.inc(len(pcm16) / 32000)  # PCM16 mono at 16 kHz

    async def finish(self) -> None:
        """Finalize the utterance in flight and wait until its final result is published.

        The caller must already have taken this transcriber off the audio path (a closed stream takes no
        audio). If the caller is cancelled meanwhile (its hub is closing), the transcriber is discarded
        rather than left with a pump that nobody ends; the cancellation goes on to the caller.
        """
        try:
            await self.stream.close()
            # The pump ends after the last result (a discarded one is cancelled): wait, whichever it is.
            await asyncio.wait([self._task])
        except asyncio.CancelledError:
            self.discard()
            raise
        if not self._task.cancelled():
            self._task.result()

    def discard(self) -> None:
        self._task.cancel()
        asyncio.get_running_loop().create_task(self.stream.close())


class MeetingHub:
    def __init__(self, runtime: LiveRuntime, meeting: Meeting) -> None:
        self.runtime = runtime
        self.meeting = meeting
        self.sessions: dict[str, AttendeeSession] = {}
        self.transcribers: dict[str, Transcriber] = {}
        self.live: LiveTranscription | None = None  # the transcription state in force, typed (see ``state``)
        self.interrupted = False  # the speech engine is falling behind (LiveRuntime._watch_engine)
        self.bus_interrupted = False  # the event bus is down (LiveRuntime._bus_outage)
        self.lost: set[str] = set()  # attendees whose node died, until they connect again (speakers_lost)
        self._channels: dict[str, str] = {}
        self._subscription: Subscription | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # serializes changes to transcribers
        # Set once the meeting was deleted: no new audio or recognizers, sessions stay open for the finals.
        self.ending: Ending | None = None
        self._ending_tasks: list[asyncio.Task[None]] = []
        self._ended = False

    @property
    def state(self) -> TranscriptionState | None:
        return self.live.state if self.live is not None else None

    @state.setter
    def state(self, state: TranscriptionState | None) -> None:
        # The one place a state arriving from the store or the bus is parsed.
        self.live = LiveTranscription.of(state) if state is not None else None

    @property
    def channel(self) -> str:
        return self.runtime.channel(self.meeting.meeting_id)

    async def open(self) -> None:
        # Subscribe before reading the state: a change published after this point reaches the reader,
        # and one published before it is already in the store.
        subscription = self.runtime.bus.subscribe(self.channel)
        await subscription.__aenter__()
        self._subscription = subscription
        self.state = await self.runtime.store.get_transcription(self.meeting.meeting_id)
        self._reader = asyncio.get_running_loop().create_task(
            self._read(), name=f"hub-{self.meeting.meeting_id}"
        )

    async def close(self, code: int | None = None, reason: str = "") -> None:
        for task in self._ending_tasks:
            task.cancel()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.__aexit__(None, None, None)
            self._subscription = None
        for transcriber in self.transcribers.values():
            transcriber.discard()
        self.transcribers.clear()
        if code is not None:
            for session in self.sessions.values():
                session.close(code, reason)

    @property
    def transcribing(self) -> bool:
        return self.state is not None and self.state.status == "started" and self.ending is None

    # -- sessions ------------------------------------------------------------------------------

    async def add(self, session: AttendeeSession) -> None:
        aid = session.attendee.attendee_id
        previous = self.sessions.get(aid)
        if previous is not None and previous is not session:
            previous.close(CloseCode.REPLACED, "the attendee connected again from another connection")
            await self._stop_transcriber(aid, finish=True)
        self.sessions[aid] = session
        if self.state is not None and self.state.status in ("started", "failed"):
            interrupted = self.interrupted or self.bus_interrupted or bool(self.lost)
            session.send_events([status_event(self.state, "interrupted" if interrupted else None)])
        if self.transcribing:
            async with self._lock:
                await self._start_transcriber(session)

    async def remove(self, session: AttendeeSession) -> None:
        aid = session.attendee.attendee_id
        if self.sessions.get(aid) is session:
            del self.sessions[aid]
            await self._stop_transcriber(aid, finish=not session.discard_speech)

    async def finish_attendee(self, session: AttendeeSession) -> None:
        if self.sessions.get(session.attendee.attendee_id) is session:
            await self._stop_transcriber(session.attendee.attendee_id, finish=True)

    def audio(self, session: AttendeeSession, pcm16: bytes) -> None:
        transcriber = self.transcribers.get(session.attendee.attendee_id)
        if transcriber is not None and self.sessions.get(session.attendee.attendee_id) is session:
            transcriber.feed(pcm16)

    # -- transcription -------------------------------------------------------------------------

    def _channel_id(self, attendee_id: str) -> str:
        if attendee_id not in self._channels:
            self._channels[attendee_id] = f"ch_{len(self._channels)}"
        return self._channels[attendee_id]

    async def _start_transcriber(self, session: AttendeeSession) -> None:
        # Callers hold ``self._lock``, so the state cannot change under us; the session can (it may have left
        # while this waited for the lock or for the engine), and a recognizer nobody feeds must not be kept.
        aid = session.attendee.attendee_id
        if aid in self.transcribers or not session.transcribed or not self.transcribing:
            return
        live = self.live
        assert live is not None
        try:
            config = stream_config(live.settings, live.vocabularies)
        except UnsupportedConfiguration:
            return  # the node that took the Start call announced `failed`
        if live.pii is not None:
            self.runtime.pii.warm()  # load the PII detector now rather than at the first final result
        speech = await self.runtime.speech_ready()
        if self.sessions.get(aid) is not session:
            return
        stream = AttendeeStream(speech.scheduler, speech.vad, config, name=f"{self.meeting.meeting_id}/{aid}")
        self.transcribers[aid] = Transcriber(self, session.attendee, stream, self._channel_id(aid))

    async def _stop_transcriber(self, attendee_id: str, *, finish: bool) -> None:
        transcriber = self.transcribers.pop(attendee_id, None)
        if transcriber is None:
            return
        if finish:
            await transcriber.finish()
        else:
            transcriber.discard()

    async def apply(self, state: TranscriptionState) -> None:
        """Bring local recognizers in line with a new transcription state (finals of old streams first).

        The old recognizers leave the audio path *before* their finals are awaited: audio that arrives while
        those decode belongs to the new state (ignored after Stop, a fresh recognizer after a restart), and a
        stream that is being closed is never fed. Until they are published, the old state stays in force, so
        vocabulary filters and PII settings still apply to the last finals.
        """
        async with self._lock:
            finishing = list(self.transcribers.values())
            self.transcribers.clear()
            try:
                await asyncio.gather(*(t.finish() for t in finishing))
            finally:
                self.state = state
                self.interrupted = False
                self.lost.clear()  # a new state starts from what is connected now
            if self.transcribing:
                for session in list(self.sessions.values()):
                    await self._start_transcriber(session)

    # -- bus -----------------------------------------------------------------------------------

    async def _read(self) -> None:
        assert self._subscription is not None
        try:
            async for raw in self._subscription:
                try:
                    await self._dispatch(decode_message(raw))
                except UnknownMessage as exc:
                    log.warning("hub %s skipped a message: %s", self.meeting.meeting_id, exc)
                except Exception:
                    log.exception("hub %s failed on %s", self.meeting.meeting_id, raw.get("kind"))
        except Exception as exc:  # the bus failed (e.g. overflow): drop local clients so they reconnect
            log.error("hub %s lost its subscription: %s", self.meeting.meeting_id, exc)
            for session in list(self.sessions.values()):
                session.close(CloseCode.INTERNAL, "event delivery failed; reconnect")

    def deliver(self, events: list[TranscriptEvent]) -> None:
        """Send events to this node's participants (each encoding made once for the meeting)."""
        encoded: dict[str, str | bytes] = {}
        for session in self.sessions.values():
            session.send_events(events, encoded)

    async def _dispatch(self, message: Message) -> None:
        match message:
            case Events(events=events, origin=origin):
                if origin != self.runtime.node_id:  # held back in a bus outage: delivered here then
                    self.deliver(list(events))
            case TranscriptionChanged(request=request, state=state):
                await self.apply(state)
                await self.runtime.publish(self.meeting.meeting_id, Ack(request, self.runtime.node_id))
            case EngineStatus(status=status):
                self.interrupted = status == "interrupted"
            case Ended():
                await self._begin_ending(Ending.from_message(message))
            case Closed():
                if self.ending is not None and self.ending.closed(message):
                    await self._end()
            case AttendeeRemoved(attendee_id=aid):
                # The deleted attendee is disconnected at once; what it said before still gets its final
                # (delivered to the others and stored), as when an attendee leaves.
                for gone in (aid, aid + MODALITY):  # its content share (D39) ends with it
                    session = self.sessions.pop(gone, None)
                    if session is not None:
                        session.close(CloseCode.ATTENDEE_REMOVED, "the attendee was deleted")
                await self._stop_transcriber(aid, finish=True)
                self._speaker_back(aid)  # a deleted attendee is not waited for
            case Barrier(connection_id=connection_id):
                for session in self.sessions.values():
                    if session.connection_id == connection_id:
                        session.close(CloseCode.NORMAL, "stopped")
            case CapabilitiesChanged():
                await self._refresh_capabilities()
            case Replaced(attendee_id=aid, connection_id=connection_id):
                session = self.sessions.get(aid)
                if session is not None and session.connection_id != connection_id:
                    del self.sessions[aid]
                    await self._stop_transcriber(aid, finish=True)
                    session.close(CloseCode.REPLACED, "the attendee connected again from another connection")
                self._speaker_back(aid)
            case Ack():
                pass  # for the node coordinating the change (LiveRuntime._coordinate)

    # -- another node's death -------------------------------------------------------------------

    def speakers_lost(self, attendees: set[str]) -> None:
        """These attendees' node died (LiveRuntime._watch_nodes): until each connects again, wherever that is,
        this node's participants hear `interrupted` (the transcript of those speakers has stopped)."""
        new = attendees - set(self.sessions) - self.lost
        if not new or not self.transcribing or self.state is None:
            return
        first = not self.lost
        self.lost |= new
        if first:
            self.deliver([status_event(self.state, "interrupted", "A server of this meeting stopped")])
        # One who never comes back is not waited for longer than a connection counts without its node.
        asyncio.get_running_loop().call_later(self.runtime.settings.presence_ttl_s, self._give_up, new)

    def _give_up(self, attendees: set[str]) -> None:
        for attendee_id in attendees:
            self._speaker_back(attendee_id)

    def _speaker_back(self, attendee_id: str) -> None:
        """The attendee connected again (or was deleted, or was waited for long enough)."""
        if attendee_id not in self.lost:
            return
        self.lost.discard(attendee_id)
        if not self.lost and self.transcribing and self.state is not None:
            self.deliver([status_event(self.state, "resumed")])

    # -- the meeting's end -------------------------------------------------------------------------

    async def _begin_ending(self, ending: Ending) -> None:
        """The meeting was deleted: finish the speech in flight here, then say ``closed`` (ending.py)."""
        if self.ending is not None:
            return
        self.ending = ending
        loop = asyncio.get_running_loop()
        node = self.runtime.node_id
        if node in ending.pending:
            self._ending_tasks.append(loop.create_task(self._finish_in_flight(), name=f"ending-{node}"))
        if ending.done:
            await self._end()
        else:
            self._ending_tasks.append(loop.create_task(self._end_after_grace()))

    async def _finish_in_flight(self) -> None:
        try:
            async with self._lock:
                finishing = list(self.transcribers.values())
                self.transcribers.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.runtime.settings.ack_timeout_s):
                        await asyncio.gather(*(t.finish() for t in finishing), return_exceptions=True)
        finally:
            await self.runtime.publish(self.meeting.meeting_id, Closed(self.runtime.node_id))

    async def _end_after_grace(self) -> None:
        """A node that held connections never said ``closed`` (it died): end without its finals."""
        await asyncio.sleep(self.runtime.settings.ack_timeout_s * 2)
        pending = self.ending.pending if self.ending else set()
        log.warning("meeting %s ended without `closed` from %s", self.meeting.meeting_id, sorted(pending))
        await self._end()

    async def _end(self) -> None:
        if self._ended or self.ending is None:
            return
        self._ended = True
        if self.ending.stopped:
            for session in self.sessions.values():
                session.send_events(self.ending.stopped)
        await self.runtime.end_hub(self, CloseCode.MEETING_ENDED, "the meeting ended")

    async def _refresh_capabilities(self) -> None:
        """UpdateAttendeeCapabilities takes effect at once for audio, as in Chime."""
        for aid, session in list(self.sessions.items()):
            attendee = await self.runtime.store.get_attendee(self.meeting.meeting_id, aid)
            if attendee is None:
                continue
            changed = attendee.capabilities != session.attendee.capabilities
            session.attendee = attendee
            if changed:
                session.peer.capabilities_changed()
            if not session.transcribed:
                await self._stop_transcriber(aid, finish=True)
            elif self.transcribing:
                async with self._lock:
                    await self._start_transcriber(session)
