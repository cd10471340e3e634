"""The live side of one parley process: hubs, the transcription lifecycle, presence and auto-end.

It is the meetings service's observer: API calls (on any node) become bus messages, and every node
applies them to the attendees connected to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from parley.audio.decode import Decoder
from parley.bus.base import BusError, ConnectionEvent, EventBus
from parley.config import LiveSettings
from parley.live.content import is_content
from parley.live.convert import status_event, transcript_result
from parley.live.hub import MeetingHub, Transcriber
from parley.live.locks import KeyedLocks
from parley.live.messages import (
    Ack,
    AttendeeRemoved,
    Barrier,
    CapabilitiesChanged,
    Ended,
    EngineStatus,
    Events,
    Message,
    Replaced,
    TranscriptionChanged,
    UnknownMessage,
)
from parley.live.messages import decode as decode_message
from parley.live.messages import encode as encode_message
from parley.live.session import AttendeeSession, CloseCode, EventFormat, Peer
from parley.live.speech import Speech, SpeechService
from parley.logs import bind
from parley.meetings.service import MeetingService
from parley.metrics import Metrics, gauge
from parley.pii.service import PiiService
from parley.store import Attendee, Meeting, Store, TranscriptionState
from parley.streaming.results import RecognitionResult
from parley.transcripts.events import Transcript, TranscriptEvent
from parley.vocabularies.apply import apply_vocabularies

log = logging.getLogger(__name__)

#: where every node says it is alive (``{"node": id}``) every LiveSettings.node_heartbeat_s, and that it is
#: leaving when it shuts down in order (``{"node": id, "leaving": true}``)
NODES_CHANNEL = "cluster:nodes"

#: Final results held back while the event bus is down (per node); older ones are then only in the store.
REPLAY_LIMIT = 10_000
# Finals kept while the database is away (a few KB each): beyond this the oldest is given up, and logged.
UNSTORED_LIMIT = 10_000
# How long a final waits for the database before it is published anyway (a database cut off by the network would
# otherwise hold the meeting's results for the driver's connect timeout).
STORE_WAIT_S = 5.0


class LiveRuntime:
    def __init__(
        self,
        *,
        store: Store,
        bus: EventBus,
        meetings: MeetingService,
        speech: SpeechService,
        settings: LiveSettings | None = None,
        node_id: str | None = None,
        pii: PiiService | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.pii = pii or PiiService()
        self.bus = bus
        self.meetings = meetings
        self.speech = speech
        self.settings = settings or LiveSettings()
        self.node_id = node_id or f"node-{uuid.uuid4().hex[:12]}"
        self.hubs: dict[str, MeetingHub] = {}
        self._hub_locks = KeyedLocks()
        self._coordination_locks = KeyedLocks()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._interrupted = False
        # Final results produced while the bus was down, to publish once it is back (publish_events).
        self._replay: deque[tuple[str, Events]] = deque(maxlen=REPLAY_LIMIT)
        self._replay_lock = asyncio.Lock()
        # Final results the database could not take (it was away), to store once it is back (_store_final).
        self._unstored: deque[dict[str, Any]] = deque()
        self._unstored_lock = asyncio.Lock()
        self._bus_down = False
        self._unlisten: Callable[[], None] | None = None
        self._nodes_seen: dict[str, float] = {}  # other nodes -> when last heard on NODES_CHANNEL (monotonic)
        self._dead_nodes: set[str] = set()  # taken for dead, until heard again (Stop does not wait for them)
        self._last_watch = time.monotonic()

    def gauges(self) -> Iterator[Any]:
        """Live state of this node, read when /metrics is scraped (see parley.metrics)."""
        hubs = list(self.hubs.values())
        yield gauge("parley_live_meetings", "Meetings with at least one connection on this node", len(hubs))
        yield gauge(
            "parley_live_connections",
            "Attendee connections (audio sockets and Chime SDK signaling) open on this node",
            sum(len(h.sessions) for h in hubs),
        )
        yield gauge(
            "parley_live_transcribing_meetings",
            "Meetings on this node with transcription running",
            sum(1 for h in hubs if h.transcribing),
        )
        yield gauge(
            "parley_speech_streams",
            "Attendee speech streams (one recognizer each) on this node",
            sum(len(h.transcribers) for h in hubs),
        )
        speech = self.speech.loaded()
        yield gauge("parley_speech_model_loaded", "1 once the speech model is loaded", 1 if speech else 0)
        if speech is not None:
            b = speech.scheduler.backlog()
            yield gauge(
                "parley_speech_queue",
                "Decodes waiting for the speech engine, by kind",
                {("partial",): b.pending_partials, ("final",): b.pending_finals},
                labels=("kind",),
            )
            yield gauge("parley_speech_in_flight", "Decodes running on the speech engine", b.in_flight)
            yield gauge(
                "parley_speech_oldest_final_wait_seconds",
                "How long the oldest queued final has waited (meetings hear `interrupted` beyond 8 s)",
                b.oldest_final_wait_s,
            )

    @staticmethod
    def channel(meeting_id: str) -> str:
        return f"meeting:{meeting_id}"

    async def start(self) -> None:
        if self.speech.preload:
            self.speech.start()
        self._unlisten = self.bus.add_connection_listener(self._bus_changed)
        loop = asyncio.get_running_loop()
        self._loops = [
            loop.create_task(
                self._every(self.settings.heartbeat_s, self._heartbeat), name="presence-heartbeat"
            ),
            loop.create_task(self._every(self.settings.reap_interval_s, self.reap), name="meeting-reaper"),
            loop.create_task(self._every(1.0, self._watch_engine), name="engine-watch"),
            loop.create_task(
                self._every(self.settings.node_heartbeat_s, self._watch_nodes), name="node-watch"
            ),
            loop.create_task(self._listen_nodes(), name="node-listen"),
            loop.create_task(self._every(1.0, self._store_held_back), name="unstored-finals"),
        ]

    async def close(self) -> None:
        if self._unlisten is not None:
            self._unlisten()
        for task in self._loops:
            task.cancel()
        with contextlib.suppress(Exception):  # best effort: without it the others take us for dead in 6 s
            async with asyncio.timeout(1.0):
                await self.bus.publish(NODES_CHANNEL, {"node": self.node_id, "leaving": True})
        for hub in list(self.hubs.values()):
            await hub.close(1001, "server shutting down")
        self.hubs.clear()
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):  # the database may be back by now: a last try
            async with asyncio.timeout(5.0):
                if not await self._store_held_back():
                    log.error("%d final results could not be stored before shutdown", len(self._unstored))
        self.pii.close()
        with contextlib.suppress(Exception):
            await self.store.clear_node(self.node_id)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _every(self, seconds: float, fn: Any) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await fn()
            except Exception:
                log.exception("periodic task %s failed", getattr(fn, "__name__", fn))

    async def speech_ready(self) -> Speech:
        return await self.speech.ready()

    async def publish(self, meeting_id: str, message: Message) -> None:
        """Say ``message`` on the meeting's channel, to every node (raises BusError when the bus is down)."""
        await self.bus.publish(self.channel(meeting_id), encode_message(message))

    async def publish_events(self, meeting_id: str, events: list[TranscriptEvent]) -> None:
        """Send events to the meeting's participants on every node.

        While the bus is down they still reach this node's participants directly, and final results are kept
        (in order, bounded) to be published when the bus is back, so participants on other nodes get them
        late rather than never; the store already has them (persist, then publish).
        """
        if not self._bus_down and await self._drain_replay():
            try:
                await self.publish(meeting_id, Events(tuple(events)))
                return
            except BusError as exc:
                log.warning(
                    "event bus unavailable, delivering meeting %s's events locally: %s", meeting_id, exc
                )
        hub = self.hubs.get(meeting_id)
        if hub is not None:
            hub.deliver(events)
        finals = [e for e in events if isinstance(e, Transcript) and any(not r.is_partial for r in e.results)]
        if finals:
            self._replay.append((meeting_id, Events(tuple(finals), origin=self.node_id)))

    async def _drain_replay(self) -> bool:
        """Publish the finals held back during an outage, oldest first; True once none is left."""
        if not self._replay:
            return True
        async with self._replay_lock:  # one replayer at a time, or a message would go out twice
            while self._replay:
                meeting_id, message = self._replay[0]
                try:
                    await self.publish(meeting_id, message)
                except BusError as exc:
                    log.warning("event bus: held-back results not replayed yet: %s", exc)
                    return False
                self._replay.popleft()
        return True

    # -- meetings service observer ---------------------------------------------------------------

    async def meeting_deleted(
        self, meeting: Meeting, transcription: TranscriptionState | None, nodes: frozenset[str]
    ) -> None:
        # The nodes that held connections finish the speech in flight; `stopped` comes after (live/ending.py).
        stopped = []
        if transcription is not None and transcription.status == "started":
            stopped.append(status_event(transcription, "stopped"))
        await self.publish(meeting.meeting_id, Ended(tuple(sorted(nodes)), tuple(stopped)))

    async def attendee_deleted(self, attendee: Attendee) -> None:
        await self.publish(attendee.meeting_id, AttendeeRemoved(attendee.attendee_id))

    async def capabilities_changed(self, meeting_id: str) -> None:
        await self.publish(meeting_id, CapabilitiesChanged())

    async def transcription_changed(self, meeting: Meeting, state: TranscriptionState) -> None:
        # The API call has answered by the time this runs: Stop is 200 at once, finals follow, then `stopped`.
        self.spawn(self._coordinate(meeting, state))

    async def _coordinate(self, meeting: Meeting, state: TranscriptionState) -> None:
        log.info("meeting %s: transcription %s", meeting.meeting_id, state.status)
        async with self._coordination_locks.hold(meeting.meeting_id):
            channel = self.channel(meeting.meeting_id)
            fresh_after = time.time() - self.settings.presence_ttl_s
            nodes = await self.store.connection_nodes(meeting.meeting_id, fresh_after)
            request = uuid.uuid4().hex
            async with self.bus.subscribe(channel) as acks:
                await self.publish(meeting.meeting_id, TranscriptionChanged(request, state))
                pending = set(nodes) - self._dead_nodes  # a dead node's connections still count a while
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.ack_timeout_s if pending else 0):
                        async for raw in acks:
                            try:
                                message = decode_message(raw)
                            except UnknownMessage:
                                continue
                            if isinstance(message, Ack) and message.request == request:
                                pending.discard(message.node)
                                if not pending:
                                    break
                if pending:
                    log.warning(
                        "no acknowledgement from %s for meeting %s", sorted(pending), meeting.meeting_id
                    )
            await self.publish_events(meeting.meeting_id, [status_event(state)])

    # -- connections -------------------------------------------------------------------------------

    async def _hub(self, meeting: Meeting) -> MeetingHub:
        async with self._hub_locks.hold(meeting.meeting_id):
            hub = self.hubs.get(meeting.meeting_id)
            if hub is None:
                hub = MeetingHub(self, meeting)
                await hub.open()
                self.hubs[meeting.meeting_id] = hub
            return hub

    async def join(
        self,
        attendee: Attendee,
        peer: Peer,
        *,
        event_format: EventFormat,
        decoder: Decoder | None,
        greeting: str,
    ) -> AttendeeSession | None:
        """Register a connection; None if the meeting ended meanwhile (the peer is closed with 4410)."""
        bind(meeting_id=attendee.meeting_id, attendee_id=attendee.attendee_id)
        meeting = await self.store.get_meeting_any_account(attendee.meeting_id)
        session = AttendeeSession(attendee=attendee, peer=peer, event_format=event_format, decoder=decoder)
        session.start()
        if meeting is None or not await self.store.add_connection(
            session.connection_id, attendee.meeting_id, attendee.attendee_id, self.node_id
        ):
            session.close(CloseCode.MEETING_ENDED, "the meeting ended")
            return None
        hub = await self._hub(meeting)
        if hub.transcribing and decoder is not None:
            # `ready` tells an audio-socket client to send audio, and a recognizer's time origin is when it
            # starts: while the model is still loading (the first attendee after start-up), audio would wait in
            # the socket and every word be stamped late by the wait (0.7 s measured). So the model first.
            # (Listeners send no audio; Chime SDK audio comes over WebRTC and is not buffered before this.)
            await self.speech.settled()
        session.send_control(greeting)
        await hub.add(session)
        await self.publish(meeting.meeting_id, Replaced(attendee.attendee_id, session.connection_id))
        log.info("attendee connected (%s)", session.connection_id)
        return session

    async def leave(self, session: AttendeeSession) -> None:
        meeting_id = session.attendee.meeting_id
        hub = self.hubs.get(meeting_id)
        if hub is not None:
            await hub.remove(session)
            if not hub.sessions and hub.ending is None:
                await self._drop_if_empty(hub)
        with contextlib.suppress(Exception):
            await self.store.remove_connection(session.connection_id)
        log.info("attendee disconnected (%s, close code %s)", session.connection_id, session.close_code)

    async def drain(self, session: AttendeeSession) -> None:
        """The client said it is done: publish its last final result, then close it normally."""
        hub = self.hubs.get(session.attendee.meeting_id)
        if hub is not None:
            await hub.finish_attendee(session)
        # Per-publisher order on the channel: the barrier arrives after every result published above.
        await self.publish(session.attendee.meeting_id, Barrier(session.connection_id))

    def audio(self, session: AttendeeSession, pcm16: bytes) -> None:
        hub = self.hubs.get(session.attendee.meeting_id)
        if hub is not None and pcm16:
            hub.audio(session, pcm16)

    async def end_hub(self, hub: MeetingHub, code: int, reason: str) -> None:
        if self.hubs.get(hub.meeting.meeting_id) is hub:
            del self.hubs[hub.meeting.meeting_id]
        hub.state = None
        # Called from the hub's own reader task: close everything but that task, which simply ends.
        for transcriber in hub.transcribers.values():
            transcriber.discard()
        hub.transcribers.clear()
        for session in list(hub.sessions.values()):
            session.close(code, reason)
        self.spawn(hub.close())

    async def publish_result(
        self, meeting: Meeting, transcriber: Transcriber, result: RecognitionResult
    ) -> None:
        attendee = transcriber.attendee
        converted = transcript_result(
            result,
            origin_ms=transcriber.origin_ms,
            attendee_id=attendee.attendee_id,
            external_user_id=attendee.external_user_id,
            channel_id=transcriber.channel_id,
        )
        hub = self.hubs.get(meeting.meeting_id)
        live = hub.live if hub is not None else None
        if live is not None:
            # Filters and DisplayAs apply before anything is stored or sent (docs/operations.md "Vocabularies").
            converted = apply_vocabularies(converted, live.vocabularies)
            # Then PII/PHI, on what participants would otherwise see (D33); off the event loop.
            if live.pii is not None:
                checked = await self.pii.apply(converted, live.pii)
                if checked is None:
                    return  # a partial under redaction is never sent (D30)
                converted = checked
        if not converted.is_partial:
            # False only when the transcript is already gone (deleted with its meeting under retention 0):
            # the result is still delivered live, as everything said before the end is.
            await self._store_final(
                {
                    "meeting_id": meeting.meeting_id,
                    "account_id": meeting.account_id,
                    "attendee_id": attendee.attendee_id,
                    "result_id": converted.result_id,
                    "start_time_ms": converted.start_time_ms,
                    "end_time_ms": converted.end_time_ms,
                    "result": converted.to_dict(),
                }
            )
        await self.publish_events(meeting.meeting_id, [Transcript(results=(converted,))])

    async def _store_final(self, row: dict[str, Any]) -> None:
        """Store a final result before it is published (persist, then publish).

        When the database is away (restarting, failing over, or it ended a session; or it did not answer within
        ``STORE_WAIT_S``) the result is published all the same and kept, in order and bounded, to be stored once
        the database answers again (``_store_held_back`` tries every second and at shutdown): a database outage
        neither hides a result from the meeting nor loses it from the transcript. Storing is idempotent (update or
        insert by result id), so a write whose outcome was unknown may safely be made again.
        """
        if not self._unstored:  # else the database is still away: keep it behind the others, without waiting
            try:
                async with asyncio.timeout(STORE_WAIT_S):
                    await self.store.add_transcript_result(**row)
                return
            except Exception as exc:  # whatever the driver raises: not stored, so keep it and try again
                log.warning(
                    "database unavailable, final result %s kept to store later: %s", row["result_id"], exc
                )
        if len(self._unstored) >= UNSTORED_LIMIT:
            lost = self._unstored.popleft()
            log.error("too many final results waiting for the database: %s is not stored", lost["result_id"])
        self._unstored.append(row)

    async def _store_held_back(self) -> bool:
        """Store the finals kept during a database outage, oldest first; True once none is left."""
        if not self._unstored:
            return True
        async with self._unstored_lock:  # one writer at a time keeps them in order
            while self._unstored:
                try:
                    await self.store.add_transcript_result(**self._unstored[0])
                except Exception as exc:
                    log.warning(
                        "database unavailable, %d final results not stored yet: %s", len(self._unstored), exc
                    )
                    return False
                self._unstored.popleft()
            log.info("final results kept during the database outage are stored")
        return True

    # -- periodic work -----------------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        await self.store.heartbeat(self.node_id)

    # -- other nodes ----------------------------------------------------------------------------
    #
    # A node that dies (kill -9, power) says nothing. Its audio-socket attendees reconnect through another node on
    # their own, but the participants connected elsewhere would only see the transcript stop. So every node says
    # "alive" on the bus every node_heartbeat_s; one not heard for node_timeout_s, while the bus itself is up, is
    # taken for dead, and each meeting it had attendees in hears `interrupted` on the other nodes until those
    # attendees are back (MeetingHub.speakers_lost / Replaced). The presence rows of the dead node are left to
    # expire (presence_ttl_s): a node cut off from the bus alone is alive, and its connections must keep counting.

    async def _listen_nodes(self) -> None:
        while True:
            try:
                async with self.bus.subscribe(NODES_CHANNEL) as subscription:
                    async for message in subscription:
                        node = message.get("node")
                        if not isinstance(node, str) or node == self.node_id:
                            continue
                        if message.get("leaving"):  # shut down in order: its connections are already gone
                            self._nodes_seen.pop(node, None)
                        else:
                            self._nodes_seen[node] = time.monotonic()
                            self._dead_nodes.discard(node)
            except asyncio.CancelledError:
                raise
            except Exception:  # the bus is down: its listener reports that; try again shortly
                await asyncio.sleep(self.settings.node_heartbeat_s)

    async def _watch_nodes(self) -> None:
        now = time.monotonic()
        stalled = now - self._last_watch > self.settings.node_timeout_s
        self._last_watch = now
        if self._bus_down or stalled:
            # Nobody is heard while the bus is down, and a node that was itself stopped (SIGSTOP, a paused VM, a
            # blocked loop) has not been listening: judge again only from now, or it would take every other node
            # for dead on waking (and take their meetings over).
            self._nodes_seen = dict.fromkeys(self._nodes_seen, now)
            return
        with contextlib.suppress(BusError):
            await self.bus.publish(NODES_CHANNEL, {"node": self.node_id})
        deadline = time.monotonic() - self.settings.node_timeout_s
        for node, seen in list(self._nodes_seen.items()):
            if seen < deadline:
                del self._nodes_seen[node]
                self._dead_nodes.add(node)
                log.warning(
                    "node %s has not been heard for %.0f s: taking it for dead", node, time.monotonic() - seen
                )
                await self._node_lost(node)

    async def _node_lost(self, node: str) -> None:
        lost: dict[str, set[str]] = {}
        for meeting_id, attendee_id in await self.store.node_connections(node):
            if not is_content(attendee_id):  # a content share is nobody's speech (D39)
                lost.setdefault(meeting_id, set()).add(attendee_id)
        for meeting_id, attendees in lost.items():
            hub = self.hubs.get(meeting_id)
            if hub is not None:
                hub.speakers_lost(attendees)

    def dead_nodes(self) -> frozenset[str]:
        """The nodes taken for dead (not heard for node_timeout_s while the bus is up): their room leases lapse."""
        return frozenset(self._dead_nodes)

    async def room_taken_over(self, meeting_id: str, node: str) -> None:
        """This node took over ``meeting_id``'s Chime SDK room from ``node`` (its lease lapsed: it died, or lost
        the database). Whoever was connected there was cut off: the meeting hears `interrupted` until each of them
        is back, as when a node is taken for dead, and the reconnecting clients hear it when they join."""
        attendees = {
            aid
            for mid, aid in await self.store.node_connections(node)
            if mid == meeting_id and not is_content(aid)
        }
        meeting = await self.store.get_meeting_any_account(meeting_id)
        if not attendees or meeting is None:
            return
        hub = await self._hub(meeting)
        hub.speakers_lost(attendees)
        if not hub.sessions:
            # Made for the clients about to join; gone again if none of them does.
            asyncio.get_running_loop().call_later(
                self.settings.presence_ttl_s, lambda: self.spawn(self._drop_if_empty(hub))
            )

    async def _drop_if_empty(self, hub: MeetingHub) -> None:
        """Close a hub nobody is connected to any more (an ending hub closes when its finals are out)."""
        meeting_id = hub.meeting.meeting_id
        async with self._hub_locks.hold(meeting_id):
            if not hub.sessions and hub.ending is None and self.hubs.get(meeting_id) is hub:
                del self.hubs[meeting_id]
                await hub.close()

    async def reap(self) -> None:
        """End meetings as Chime does (idle for 5 minutes; 24 hours old) and drop expired transcripts."""
        now = time.time()
        due = await self.store.meetings_to_end(
            idle_before=now - self.settings.idle_timeout_s,
            created_before=now - self.settings.max_duration_s,
            fresh_after=now - self.settings.presence_ttl_s,
        )
        for meeting in due:
            log.info("meeting %s ended automatically", meeting.meeting_id)
            await self.meetings.end_meeting(meeting)
        await self.store.purge_expired_transcripts(now)
        await self.store.purge_stale_connections(now - self.settings.presence_ttl_s)

    async def _watch_engine(self) -> None:
        """Report engine overload as `interrupted`, and recovery as `resumed`, to transcribing meetings."""
        speech = self.speech.loaded()
        if speech is None:
            return
        backlog = speech.scheduler.backlog()
        wait = backlog.oldest_final_wait_s
        if not self._interrupted and wait > self.settings.interrupt_after_s:
            self._interrupted = True
            await self._announce_engine("interrupted", "Transcription is falling behind on this server")
        elif self._interrupted and wait < self.settings.resume_below_s:
            self._interrupted = False
            await self._announce_engine("resumed", None)

    # -- the event bus's own outages ---------------------------------------------------------------

    def _bus_changed(self, event: ConnectionEvent) -> None:
        """Called on the bus's reader task (must not block): the work is done in a task of our own."""
        self.spawn(self._bus_outage(event is ConnectionEvent.INTERRUPTED))

    async def _bus_outage(self, down: bool) -> None:
        """Tell this node's transcribing meetings that delivery between nodes is interrupted, then resumed.

        Said directly to local participants: the bus is the thing that is down. On resuming, the finals held
        back are published first (in order; a node skips the ones it already delivered), then ``resumed``.
        """
        if down == self._bus_down:
            return
        self._bus_down = down
        if down:
            log.warning(
                "event bus interrupted: transcripts reach only this node's participants until it is back"
            )
        elif not await self._drain_replay():
            return  # down again already; the next RESUMED replays the rest
        else:
            log.info("event bus resumed")
        status = "interrupted" if down else "resumed"
        text = "Transcripts are not reaching other servers" if down else None
        for hub in list(self.hubs.values()):
            hub.bus_interrupted = down
            if hub.transcribing and hub.state is not None:
                hub.deliver([status_event(hub.state, status, text)])

    async def _announce_engine(self, status: str, message: str | None) -> None:
        for hub in list(self.hubs.values()):
            if hub.transcribing and hub.transcribers and hub.state is not None:
                await self.publish(hub.meeting.meeting_id, EngineStatus(status))
                await self.publish_events(hub.meeting.meeting_id, [status_event(hub.state, status, message)])
