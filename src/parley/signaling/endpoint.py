"""Chime SDK signaling at ``MediaPlacement.SignalingUrl`` (``/control/{MeetingId}``): audio, transcription, video.

What amazon-chime-sdk-js expects (docs/chime-js.md; shared reference chime-signaling.md): subprotocols
``["_aws_wt_session", <JoinToken>]`` answered with ``_aws_wt_session``; every message is binary
``0x05 || SdkSignalFrame``. JOIN → JOIN_ACK then INDEX; SUBSCRIBE carries a full (non-trickle) SDP offer
that an aiortc peer connection answers in SUBSCRIBE_ACK; the attendee's Opus uplink is transcribed like
the ``/calls`` socket, and transcript events go out as DATA_MESSAGE frames on ``aws:chime:transcription``.
A camera is forwarded as encoded frames to the clients that subscribe to it (signaling/video.py; INDEX lists
the sources, SUBSCRIBE_ACK maps each fed section to its stream).

The connection registers with the live runtime as an ordinary attendee session (event format
``chime-signal``), so transcription, DeleteMeeting/DeleteAttendee and reconnect replacement all work the
same way as on ``/calls``; the session's close codes become AUDIO_STATUS frames once the client joined.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from aiortc.rtcconfiguration import RTCBundlePolicy
from av import AudioFrame
from starlette.websockets import WebSocket, WebSocketState

from parley.live.content import base_token, content_attendee, video_capability
from parley.live.runtime import LiveRuntime
from parley.live.session import AttendeeSession, CloseCode, close_reason
from parley.metrics import counter, gauge
from parley.proto import chime_signaling_pb2 as pb
from parley.signaling import frames
from parley.signaling.data import MeetingData, Verdict
from parley.signaling.forward import Unreachable, open_upstream, relay
from parley.signaling.hosting import FORWARDED_HEADER, HostedElsewhere, RoomHosting
from parley.signaling.media import LevelMeter, MixTrack, UplinkPcm, consume_uplink, volume_from_dbov
from parley.signaling.turn import TurnIssuer, TurnSettings
from parley.signaling.video import (
    ForwardedVideoTrack,
    VideoSource,
    bind_sender,
    forwardable_offer,
    keep_stream_id_extensions,
    reject_closed_sections,
    video_sections,
)
from parley.store import Attendee

log = logging.getLogger(__name__)

SUBPROTOCOL = "_aws_wt_session"
HARD_LIMIT_CLOSE = 4529  # over a data-message hard limit: 45xx makes the SDK reconnect (decision D28)
SHUTTING_DOWN = (
    4503  # this node stops serving the socket (shutdown, a meeting moved away): reconnect elsewhere
)
SIGNAL_STRENGTH = 2  # the SDK's best (normalized /2): parley has no link-quality estimate
REPLAY_CHUNK = 64  # buffered data messages per replayed DATA_MESSAGE frame
BITRATES_INTERVAL_S = 2.0  # how often clients hear each video source's bitrate (Chime's period is unknown)
LOCAL_VIDEO_LABEL = "AmazonChimeExpressVideo"  # the SDK's own send stream label (its ids are always 2/2)


def _token(websocket: WebSocket) -> str | None:
    offered = [p.strip() for p in websocket.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
    if SUBPROTOCOL not in offered:
        return None
    tokens = [p for p in offered if p != SUBPROTOCOL]
    return tokens[0] if len(tokens) == 1 else None


@dataclass(eq=False)
class Room:
    """The signaling connections of one meeting on this node: presence, stream ids, the mix, volume
    indicators and data messages (throttle and lifetime buffer; the room outlives its connections while
    buffered messages are alive, so a reconnecting sole attendee still gets them)."""

    meeting_id: str
    members: dict[str, Connection] = field(default_factory=dict)  # attendee id → its announced connection
    joined: set[Connection] = field(default_factory=set)  # every connection past JOIN (data messages)
    data: MeetingData = field(default_factory=MeetingData)
    max_video_sources: int = 25
    videos: dict[Connection, VideoSource] = field(default_factory=dict)  # published, in publishing order
    _next_stream_id: int = 0
    _next_video_id: int = 0
    _metadata_task: asyncio.Task[None] | None = None
    _expiry: asyncio.TimerHandle | None = None

    def stream_id(self) -> int:
        # A fresh, increasing id per (re)join: the SDK prefers the highest id per attendee.
        self._next_stream_id += 1
        return self._next_stream_id

    def video_id(self) -> int:
        # Video stream and group ids: meeting-unique and increasing (the SDK keeps an attendee's highest group).
        self._next_video_id += 1
        return self._next_video_id

    def forwarded_sources(self) -> list[VideoSource]:
        """The sources INDEX lists: the first ``max_video_sources`` published (Chime's per-meeting limit)."""
        return list(self.videos.values())[: self.max_video_sources]

    def source(self, stream_id: int) -> VideoSource | None:
        return next((v for v in self.forwarded_sources() if v.stream_id == stream_id), None)

    def index_frame(self, viewer: Connection, joining: bool = False) -> bytes:
        """INDEX for ``viewer``: the sources its capabilities let it receive (cameras by Video, shares by Content)."""
        sources = [
            {
                "stream_id": v.stream_id,
                "group_id": v.group_id,
                "attendee_id": v.attendee_id,
                "external_user_id": v.external_user_id,
                "max_bitrate_kbps": v.max_bitrate_kbps,
                "framerate": v.framerate,
                "avg_bitrate_bps": v.avg_bitrate_bps(),
            }
            for v in self.forwarded_sources()
            if viewer.may_receive(v)
        ]
        at_capacity = len(self.videos) >= self.max_video_sources
        return frames.index(len(self.members) + (1 if joining else 0), sources, at_capacity)

    def bitrates_frame(self) -> bytes | None:
        """BITRATES for the listed sources over the time since the last one; None while nothing is published."""
        sources = self.forwarded_sources()
        return frames.bitrates([(v.stream_id, v.recent_bitrate_bps()) for v in sources]) if sources else None

    def publish_index(self) -> None:
        """Send every joined client the new INDEX (the SDK subscribes and unsubscribes from it)."""
        for connection in self.joined:
            if connection.phase is Phase.JOINED:
                connection.post(self.index_frame(connection))

    def connections(self) -> list[Connection]:
        """Every connection of the room: joined, and announced ones held for a reconnect."""
        return list(self.joined | set(self.members.values()))

    def others(self, connection: Connection) -> list[Connection]:
        return [c for c in self.members.values() if c is not connection]

    def start_metadata(self, interval_s: float) -> None:
        if self._metadata_task is None or self._metadata_task.done():
            self._metadata_task = asyncio.get_running_loop().create_task(self._send_metadata(interval_s))

    def stop_metadata(self) -> None:
        if self._metadata_task is not None:
            self._metadata_task.cancel()
            self._metadata_task = None

    async def _send_metadata(self, interval_s: float) -> None:
        """AUDIO_METADATA volume indicators every ``interval_s`` while anyone is present.

        Every announced stream gets an explicit volume (127 when silent, muted or sending nothing), since
        the SDK reads an omitted attendee as silent only in frames that carry some volume. Frames go to the
        announced connections only: they are the ones that know the stream ids (the SDK warns on others).
        Every ``BITRATES_INTERVAL_S`` the joined clients also get BITRATES for the video sources.
        """
        loop = asyncio.get_running_loop()
        bitrates_due = loop.time() + BITRATES_INTERVAL_S
        while self.members:
            await asyncio.sleep(interval_s)
            if loop.time() >= bitrates_due:
                bitrates_due = loop.time() + BITRATES_INTERVAL_S
                message = self.bitrates_frame()
                if message is not None:
                    for connection in self.joined:
                        if connection.phase is Phase.JOINED:
                            connection.post(message)
            present = [c for c in self.members.values() if c.announced and c.phase is not Phase.ENDED]
            if not present:
                continue
            message = frames.audio_metadata(
                [
                    {
                        "audio_stream_id": c.stream_id,
                        "volume": volume_from_dbov(c.level.take()),
                        "signal_strength": SIGNAL_STRENGTH,
                    }
                    for c in present
                ]
            )
            for connection in present:
                connection.post(message)


class SignalPeer:
    """The live session's ``Peer`` for a signaling socket.

    Transcript frames are already complete signaling messages. A close before the client joined is a
    WebSocket close (4410 during JOIN is MeetingEnded to the SDK); after it, the SDK ignores clean closes,
    so meeting end, attendee removal and replacement become AUDIO_STATUS, and other closes (shutdown,
    internal errors, a slow reader) a 4500 close, which the SDK answers by reconnecting.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    async def send_text(self, data: str) -> None:
        # The runtime's textual greeting belongs to /calls; this socket carries only signaling frames.
        return None

    async def send_bytes(self, data: bytes) -> None:
        await self.connection.send(data)

    async def close(self, code: int, reason: str) -> None:
        await self.connection.session_closed(code, reason)

    def capabilities_changed(self) -> None:
        # What the client may receive changed: a new INDEX, from which the SDK subscribes or unsubscribes (D41).
        connection = self.connection
        if connection.room is not None and connection.phase is Phase.JOINED:
            connection.post(connection.room.index_frame(connection))


class Phase(enum.Enum):
    """Where a signaling connection is in its life; TRANSITIONS says which frames each phase handles.

    OPEN: accepted, waiting for JOIN. JOINED: JOIN_ACK and INDEX went out; media and data messages flow, and the
    session's end is told as AUDIO_STATUS rather than a close. ENDED: that AUDIO_STATUS went out; no more media or
    events, LEAVE is still answered. HUNG_UP: the server closed the socket (data-message hard limit, D28); frames
    still in flight are ignored. What a phase does not list (CLIENT_METRIC, BITRATES, REMOTE_VIDEO_UPDATE, a
    second JOIN, ...) is ignored, which the SDK tolerates; SUBSCRIBE before JOIN is a client error (close 4400).
    """

    OPEN = "open"
    JOINED = "joined"
    ENDED = "ended"
    HUNG_UP = "hung_up"


class Connection:
    """One client's signaling socket and, after SUBSCRIBE, its peer connection."""

    def __init__(self, endpoint: SignalingSocket, websocket: WebSocket, attendee: Attendee) -> None:
        self.endpoint = endpoint
        self.websocket = websocket
        self.attendee = attendee
        self.session: AttendeeSession | None = None
        self.room: Room | None = None
        self.stream_id = 0
        self.muted = False
        self.phase = Phase.OPEN
        self.pc: RTCPeerConnection | None = None
        self.mix: MixTrack | None = None
        self.video: VideoSource | None = None  # this client's camera (or content share), once it sends one
        self.forwarded: dict[str, ForwardedVideoTrack] = {}  # mid of our sendonly section → what it forwards
        self._camera: RTCRtpReceiver | None = None  # the receiver of the client's camera section
        self.announced = False
        self.audio_session_id: int | None = None  # from JOIN: the same id on a new socket is a reconnect
        self.superseded = False  # the same client (same audio_session_id) joined again on a new socket
        self.gone = False  # dropped without LEAVE: held in the roster for the reconnect grace
        self._grace: asyncio.TimerHandle | None = None
        self._uplink = UplinkPcm()
        self.level = LevelMeter()  # uplink level between two volume indicators
        self._send_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._hangup: asyncio.TimerHandle | None = None

    @property
    def runtime(self) -> LiveRuntime:
        return self.endpoint.runtime

    def _may(self, media: str, direction: str) -> bool:
        """Whether the attendee's capability for ``media`` (Video or Content) allows ``direction`` (Send or Receive),
        as it stands now: UpdateAttendeeCapabilities reaches the session (and sends a new INDEX), and what it may
        send applies at the next SUBSCRIBE, as Chime applies video and content changes after renegotiation (D41)."""
        attendee = self.session.attendee if self.session is not None else self.attendee
        return attendee.capabilities.get(media, "SendReceive") in (direction, "SendReceive")

    def may_receive(self, source: VideoSource) -> bool:
        return self._may(video_capability(source.attendee_id), "Receive")

    # -- output ------------------------------------------------------------------------------

    async def send(self, data: bytes) -> None:
        async with self._send_lock:
            if self.websocket.application_state == WebSocketState.CONNECTED:
                await self.websocket.send_bytes(data)

    def post(self, data: bytes) -> None:
        """Send from synchronous code (presence broadcasts to other connections).

        A connection held in the roster after a drop (``gone``) has no socket to send on: nothing is sent.
        """
        if not self.gone:
            self._spawn(self._quiet_send(data))

    async def _quiet_send(self, data: bytes) -> None:
        with contextlib.suppress(Exception):
            await self.send(data)

    async def close_socket(self, code: int, reason: str = "") -> None:
        async with self._send_lock:
            if self.websocket.application_state == WebSocketState.CONNECTED:
                with contextlib.suppress(Exception):
                    await self.websocket.close(code=code, reason=close_reason(reason))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def session_closed(self, code: int, reason: str) -> None:
        if self.phase is Phase.OPEN:  # before INDEX the SDK reads a close, after it an AUDIO_STATUS
            await self.close_socket(code, reason)
            return
        if code == CloseCode.REPLACED and (self.superseded or self.gone or self.phase is Phase.HUNG_UP):
            # A reconnect of this very client (same audio_session_id), or of one whose socket is already gone
            # (dropped, or hung up on by us, D28): no 301, nobody is left to read it. Its roster place stays held
            # for the reconnect (D29), which takes it over without the others seeing the attendee leave. (Ending
            # it here raced the drop's own clean-up: when the new JOIN came while the old connection was still
            # closing its peer connection, the old one left the roster and Sam's SDK saw Lee absent.)
            await self.close_socket(CloseCode.NORMAL, "the client reconnected on a new socket")
            return
        status = frames.AUDIO_STATUS_FOR_CLOSE.get(code)
        if status is None:
            await self.close_socket(1000 if code == CloseCode.NORMAL else 4500, reason)
            return
        self.phase = Phase.ENDED
        await self.send(frames.audio_status(status))
        await self.stop_media(dropped=False)
        # The SDK answers a terminal AUDIO_STATUS with LEAVE and closes; hang up if it does not.
        loop = asyncio.get_running_loop()
        self._hangup = loop.call_later(
            self.endpoint.leave_grace_s, lambda: self._spawn(self.close_socket(code, reason))
        )

    # -- frames ------------------------------------------------------------------------------

    async def handle(self, frame: Any) -> None:
        """Handle ``frame`` as the transition table says for the current phase (TRANSITIONS, below)."""
        handler = TRANSITIONS[self.phase].get(frame.type)
        if handler is not None:
            await handler(self, frame)

    async def _ping(self, frame: Any) -> None:
        if frame.ping_pong.type == pb.PING:
            await self.send(frames.pong(frame.ping_pong.ping_id))

    async def _leave(self, _frame: Any) -> None:
        await self.send(frames.leave_ack())
        await self.stop_media(dropped=False)

    async def _record_mute(self, muted: bool) -> None:
        """Store the mute with the connection, before anyone is told, so any node's console shows it."""
        if self.session is None:
            return
        try:
            await self.runtime.store.set_muted(self.session.connection_id, muted)
        except Exception as exc:  # only the console's roster misses it
            log.warning("could not record the mute of %s: %s", self.session.connection_id, exc)

    async def _audio_control(self, frame: Any) -> None:
        if frame.audio_control.muted != self.muted:
            await self._record_mute(frame.audio_control.muted)
        self._mute(frame.audio_control.muted)

    async def _pause_resume(self, frame: Any) -> None:
        """PAUSE/RESUME of remote streams this client receives (``pauseVideoTile``): stop forwarding them, and
        start again from a keyframe."""
        streams = set(frame.pause.stream_ids)
        for track in self.forwarded.values():
            if track.source.stream_id in streams:
                track.pause() if frame.type == pb.SdkSignalFrame.PAUSE else track.resume()

    async def _subscribe_before_join(self, _frame: Any) -> None:
        await self.close_socket(CloseCode.BAD_REQUEST, "SUBSCRIBE before JOIN")

    async def _join(self, frame: Any) -> None:
        if self.session is not None:
            return  # a JOIN whose session is being set up (the phase moves on once INDEX is out)
        if frame.join.HasField("audio_session_id"):
            self.audio_session_id = frame.join.audio_session_id
            earlier = self.endpoint.rooms.get(self.attendee.meeting_id)
            for other in earlier.joined if earlier is not None else ():
                if (
                    other.attendee.attendee_id == self.attendee.attendee_id
                    and other.audio_session_id == self.audio_session_id
                ):
                    other.superseded = True
        session = await self.runtime.join(
            self.attendee, SignalPeer(self), event_format="chime-signal", decoder=None, greeting=""
        )
        if session is None:
            return  # the runtime closed the peer with 4410 (MeetingEnded to the SDK)
        self.session = session
        room = self.endpoint.room(self.attendee.meeting_id)
        self.room = room
        room.joined.add(self)
        await self.send(
            frames.join_ack(
                self.endpoint.turn.issue(self.attendee.attendee_id),
                video_subscription_limit=self.endpoint.video_subscription_limit,
            )
        )
        await self.send(room.index_frame(self, joining=True))
        self.phase = Phase.JOINED
        # Late joiners and reconnects get the kept data messages right after INDEX. Taken in the same step
        # as the phase change: earlier messages are in the buffer and were not relayed here, later ones will be.
        kept = room.data.buffered()
        for start in range(0, len(kept), REPLAY_CHUNK):
            await self.send(frames.data_messages(kept[start : start + REPLAY_CHUNK]))

    async def _subscribe(self, frame: Any) -> None:
        """Answer a (re)negotiation on this client's one peer connection: its camera if it sends one, and a
        forwarded source on each recvonly video section it asks for (``receive_stream_ids[i]`` is the stream
        of the offer's i-th video section, 0 for none)."""
        if frame.sub.HasField("audio_muted") and frame.sub.audio_muted != self.muted:
            await self._record_mute(frame.sub.audio_muted)
            self.muted = frame.sub.audio_muted
        offer = RTCSessionDescription(sdp=forwardable_offer(frame.sub.sdp_offer), type="offer")
        fresh = self.pc is None
        try:
            if self.pc is None:
                self.pc = self._new_peer_connection()
                await self.pc.setRemoteDescription(offer)
                self.mix = MixTrack()
                self.pc.addTrack(self.mix)
            else:
                await self.pc.setRemoteDescription(offer)  # renegotiation keeps the same peer connection
            tracks = self._feed_subscriptions(offer.sdp, list(frame.sub.receive_stream_ids))
            answer = await self.pc.createAnswer()
            await self.pc.setLocalDescription(answer)
        except Exception as exc:
            # Everything in this block depends only on the offer, and aiortc reports an offer it cannot parse
            # or answer with whatever its parser raised (ValueError, KeyError, IndexError, ...): the client's
            # mistake, so a client error close (fuzzing found it: tests/fuzz/test_socket_fuzz.py).
            log.info("SUBSCRIBE from %s: unusable SDP offer: %r", self.attendee.attendee_id, exc)
            if fresh and self.pc is not None:
                await self.pc.close()
                self.pc, self.mix = None, None
            await self.close_socket(CloseCode.BAD_REQUEST, f"the SDP offer cannot be answered: {exc}")
            return
        allocations = self._publish(frame.sub)
        sdp = keep_stream_id_extensions(
            reject_closed_sections(self.pc.localDescription.sdp, offer.sdp), offer.sdp
        )
        await self.send(
            frames.subscribe_ack(sdp, duplex=frame.sub.duplex, allocations=allocations, tracks=tracks)
        )
        if self.pc.iceConnectionState in ("completed", "connected"):
            self._announce()

    def _feed_subscriptions(self, offer: str, wanted: list[int]) -> list[dict[str, Any]]:
        """Attach a forwarded track to each recvonly video section whose stream is wanted; the SUBSCRIBE_ACK
        ``tracks`` that map each to its stream. The SDK finds a remote track's stream by the msid stream id
        ``v_<mid>`` (its stated convention with the service), so each fed sender gets its own."""
        assert self.pc is not None
        assert self.room is not None
        transceivers = {t.mid: t for t in self.pc.getTransceivers() if t.kind == "video"}
        fed: dict[str, ForwardedVideoTrack] = {}
        for section, stream_id in zip(video_sections(offer), wanted, strict=False):
            source = self.room.source(stream_id) if stream_id else None
            if source is not None and not self.may_receive(source):
                source = None  # a stream id that was never in this client's INDEX
            transceiver = transceivers.get(section.mid)
            if source is None or transceiver is None or section.port == 0 or section.direction != "recvonly":
                continue
            track = self.forwarded.get(transceiver.mid or "")
            if track is None or track.source is not source or track.readyState != "live":
                track = source.subscribe()
                bind_sender(transceiver.sender, track)
            transceiver.sender._stream_id = f"v_{transceiver.mid}"
            transceiver.direction = "sendonly"
            fed[transceiver.mid or ""] = track
        for mid, track in self.forwarded.items():
            if fed.get(mid) is not track:
                track.source.unsubscribe(track)
                transceiver = transceivers.get(mid)
                if transceiver is not None and transceiver.sender.track is track:
                    transceiver.sender.replaceTrack(None)
                    transceiver.direction = "inactive"
        self.forwarded = fed
        return [
            {
                "stream_id": t.source.stream_id,
                "track_label": f"v_{mid}",
                "ssrc": transceivers[mid].sender._ssrc,
            }
            for mid, t in fed.items()
        ]

    def _publish(self, sub: Any) -> list[dict[str, Any]]:
        """Start or stop forwarding this client's camera as the SUBSCRIBE says (a VIDEO send stream while
        duplex is TX or DUPLEX); tell everyone through INDEX when that changes. The SDK labels its own stream
        2/2; the meeting-wide ids it is known by are allocated here and kept while this socket lives."""
        room = self.room
        assert room is not None
        sending = next((s for s in sub.send_streams if s.media_type == pb.VIDEO), None)
        allowed = self._may(video_capability(self.attendee.attendee_id), "Send")
        if sending is None or sub.duplex not in (pb.TX, pb.DUPLEX) or not allowed:
            if room.videos.pop(self, None) is not None:
                assert self.video is not None
                self.video.close()
                room.publish_index()
            return []
        if self.video is None:
            self.video = VideoSource(
                room.video_id(), room.video_id(), self.attendee.attendee_id, self.attendee.external_user_id
            )
            if self._camera is not None:
                self.video.attach(self._camera)
        video = self.video
        video.framerate = sending.framerate or video.framerate
        video.max_bitrate_kbps = sending.max_bitrate_kbps or video.max_bitrate_kbps
        if room.videos.get(self) is not video:
            room.videos[self] = video
            room.publish_index()
        return [{"track_label": LOCAL_VIDEO_LABEL, "stream_id": video.stream_id, "group_id": video.group_id}]

    def _new_peer_connection(self) -> RTCPeerConnection:
        # max-bundle, as the SDK itself uses: under aiortc's default (balanced) a second video section gets a
        # transport of its own that is then dropped for the bundle's, and never sends.
        pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))

        @pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind == "audio":
                self._spawn(consume_uplink(track, self._uplink_frame, self.attendee.attendee_id))
            elif track.kind == "video":
                # The camera section (the only one the client sends on): its frames are forwarded, never decoded.
                receiver = next(t.receiver for t in pc.getTransceivers() if t.receiver.track is track)
                self._camera = receiver
                if self.video is not None:
                    self.video.attach(receiver)

        @pc.on("iceconnectionstatechange")
        def on_ice() -> None:
            # Presence only after SUBSCRIBE_ACK and once media can flow: the SDK's presence waiter
            # subscribes after SUBSCRIBE_ACK, and presence callbacks are not replayed.
            if pc.iceConnectionState in ("completed", "connected"):
                self._announce()

        return pc

    def _uplink_frame(self, frame: AudioFrame) -> None:
        if self.phase is not Phase.JOINED or self.session is None:
            return
        mono, pcm = self._uplink.convert(frame)
        self.runtime.audio(self.session, pcm)
        if self.room is not None and self.session.can_send_audio and not self.muted:
            self.level.add(mono)
            for other in self.room.others(self):
                if other.mix is not None:
                    other.mix.push(self.attendee.attendee_id, mono, frame.sample_rate)

    # -- presence ----------------------------------------------------------------------------

    def _entry(self) -> dict[str, Any]:
        return {
            "audio_stream_id": self.stream_id,
            "attendee_id": self.attendee.attendee_id,
            "external_user_id": self.attendee.external_user_id,
            "muted": self.muted,
        }

    def _announce(self) -> None:
        """First AUDIO_STREAM_ID_INFO of the connection: the full roster to it, the newcomer to others.

        A connection that takes over from an earlier one of the same attendee (a reconnect, or another
        device) gets a fresh, higher stream id; the others get the new entry, then the old stream's leave
        entry in the same frame, which the SDK applies without reporting the attendee absent (it has a
        higher stream id by then), so presence never flaps false on a reconnect.
        """
        room = self.room
        if self.announced or self.phase is Phase.ENDED or room is None:
            return
        self.announced = True
        previous = room.members.get(self.attendee.attendee_id)
        self.stream_id = room.stream_id()
        room.members[self.attendee.attendee_id] = self
        entries = [self._entry()]
        if previous is not None and previous is not self:
            previous.cancel_grace()
            previous.leave_room()
            entries.append({"audio_stream_id": previous.stream_id})
        present = [c for c in room.members.values() if c.announced]  # those held for a reconnect included
        self.post(frames.stream_info([c._entry() for c in present]))
        for other in present:
            if other is not self:
                other.post(frames.stream_info(entries))
        if previous is None:
            # INDEX's participant count changed: the SDK decides on it whether a call is one-to-one (it turns
            # simulcast off in one-to-one calls), so every client gets the new count at once.
            room.publish_index()
        room.start_metadata(self.endpoint.metadata_interval_s)

    def _mute(self, muted: bool) -> None:
        self.muted = muted
        if self.room is None or not self.announced:
            return
        update = frames.stream_info([{"audio_stream_id": self.stream_id, "muted": muted}])
        for member in self.room.members.values():
            member.post(update)

    async def _relay(self, frame: Any) -> None:
        """Judge each client data message (signaling/data.py, decision D28) and act on the verdict.

        Relayed messages go to the other attendees stamped with the sender and an ingest time, and are kept
        for late joiners if they have a lifetime. Throttled (over the soft limit) and rejected (bad topic or
        too large) ones go back to the sender alone with ``ingest_time_ns = 0``, which the SDK reports as
        ``throttled``. Reserved ``aws:`` topics are dropped. Over a hard limit the sender is hung up on.
        """
        room = self.room
        if room is None:
            return
        relayed: list[dict[str, Any]] = []
        returned: list[dict[str, Any]] = []
        hang_up = False
        for m in frame.data_message.messages:
            verdict = room.data.admit(self.attendee.attendee_id, m.topic, len(m.data))
            if verdict is Verdict.HANG_UP:
                hang_up = True
                break
            if verdict is Verdict.DROPPED:
                continue
            payload = {
                "topic": m.topic,
                "data": m.data,
                "lifetime_ms": m.lifetime_ms,
                "sender_attendee_id": self.attendee.attendee_id,
                "sender_external_user_id": self.attendee.external_user_id,
            }
            if verdict is Verdict.RELAY:
                payload["ingest_time_ns"] = room.data.ingest_time_ns()  # 0 would mean "throttled"
                room.data.keep(payload)
                relayed.append(payload)
            else:
                payload["ingest_time_ns"] = 0
                returned.append(payload)
        if relayed:
            message = frames.data_messages(relayed)
            for other in room.joined:
                if other is not self and other.phase is Phase.JOINED:
                    other.post(message)
        if returned:
            # Awaited, not posted: on a hang-up the verdicts on the earlier messages must precede the close.
            await self.send(frames.data_messages(returned))
        if hang_up:
            self.phase = Phase.HUNG_UP
            log.warning("hanging up on %s: data messages over the hard limit", self.attendee.attendee_id)
            await self.close_socket(HARD_LIMIT_CLOSE, "data messages over the hard limit")

    def _stop_video(self) -> None:
        """No more video from or to this connection: its source leaves INDEX, its subscriptions end."""
        for track in self.forwarded.values():
            track.source.unsubscribe(track)
        self.forwarded = {}
        room = self.room
        if self.video is not None:
            self.video.close()
            if room is not None and room.videos.pop(self, None) is not None:
                room.publish_index()

    def cancel_grace(self) -> None:
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None

    def _hold(self) -> None:
        """Keep this dropped connection's place in the roster for the reconnect grace (decision D29)."""
        self.cancel_grace()
        self._grace = asyncio.get_running_loop().call_later(self.endpoint.reconnect_grace_s, self._grace_over)

    def _grace_over(self) -> None:
        self._grace = None
        room = self.room
        if room is None or room.members.get(self.attendee.attendee_id) is not self:
            return  # a reconnect took over
        if any(c.attendee.attendee_id == self.attendee.attendee_id for c in room.joined):
            self._hold()  # reconnected, media not up yet: the new connection takes over when it is
            return
        self._vacate(dropped=True)

    def leave_room(self, *, dropped: bool = False) -> None:
        room = self.room
        if room is None:
            return
        room.joined.discard(self)
        if room.members.get(self.attendee.attendee_id) is not self:
            self.endpoint.drop_room(room)  # forgets the room only once it is empty
            return
        if dropped and self.phase is not Phase.ENDED:
            # The SDK reconnects after an abrupt drop, with a new socket and the same audio_session_id.
            self.gone = True
            self._hold()
            return
        self._vacate(dropped=dropped)

    def _vacate(self, *, dropped: bool) -> None:
        """Take this connection out of the roster and send the others its leave entry."""
        room = self.room
        if room is None or room.members.get(self.attendee.attendee_id) is not self:
            return
        self.cancel_grace()
        del room.members[self.attendee.attendee_id]
        entry: dict[str, Any] = {"audio_stream_id": self.stream_id}
        if dropped:
            entry["dropped"] = True
        update = frames.stream_info([entry])
        for member in room.members.values():
            member.post(update)
            if member.mix is not None:
                member.mix.forget(self.attendee.attendee_id)
        room.publish_index()  # one participant fewer (see _announce)
        self.endpoint.drop_room(room)

    async def stop_media(self, *, dropped: bool) -> None:
        self._stop_video()
        self.leave_room(dropped=dropped)
        self.mix = None  # nobody mixes into a closed peer connection
        pc, self.pc = self.pc, None
        if pc is not None:
            with contextlib.suppress(Exception):
                await pc.close()

    async def cleanup(self, *, dropped: bool) -> None:
        if self._hangup is not None:
            self._hangup.cancel()
        await self.stop_media(dropped=dropped)
        session = self.session
        if session is not None:
            await self.runtime.leave(session)
            session.close(CloseCode.NORMAL, "")  # no-op if already closing; ends the writer task
            await session.wait_closed()
        for task in list(self._tasks):
            task.cancel()


Handler = Callable[[Connection, Any], Awaitable[None]]
_F = pb.SdkSignalFrame
TRANSITIONS: dict[Phase, dict[int, Handler]] = {
    Phase.OPEN: {
        _F.PING_PONG: Connection._ping,
        _F.JOIN: Connection._join,
        _F.SUBSCRIBE: Connection._subscribe_before_join,
        _F.LEAVE: Connection._leave,
        _F.AUDIO_CONTROL: Connection._audio_control,
    },
    Phase.JOINED: {
        _F.PING_PONG: Connection._ping,
        _F.SUBSCRIBE: Connection._subscribe,
        _F.LEAVE: Connection._leave,
        _F.AUDIO_CONTROL: Connection._audio_control,
        _F.DATA_MESSAGE: Connection._relay,
        _F.PAUSE: Connection._pause_resume,
        _F.RESUME: Connection._pause_resume,
    },
    Phase.ENDED: {
        _F.PING_PONG: Connection._ping,
        _F.LEAVE: Connection._leave,
        _F.AUDIO_CONTROL: Connection._audio_control,
    },
    Phase.HUNG_UP: {},
}


class SignalingSocket:
    """The ``/control/{meeting_id}`` WebSocket endpoint; one instance per app, holding this node's rooms."""

    def __init__(
        self,
        runtime: LiveRuntime,
        *,
        leave_grace_s: float = 10.0,
        reconnect_grace_s: float = 10.0,
        max_frame_bytes: int = 1 << 20,
        metadata_interval_s: float = 0.2,
        turn: TurnIssuer | None = None,
        first_frame_timeout_s: float = 10.0,
        max_video_sources: int = 25,
        video_subscription_limit: int = 0,
        hosting: RoomHosting | None = None,
    ) -> None:
        self.runtime = runtime
        # None: every socket is hosted here (tests of one node); else the room leases decide (hosting.py).
        self.hosting = hosting
        self._lease_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._relayed: set[WebSocket] = set()  # client sockets this node relays to another node's room
        self.takeovers = 0  # meetings this node took over from a node that died or lost its lease
        self.max_video_sources = max_video_sources  # per meeting, as Chime's limit (25 video tiles)
        self.video_subscription_limit = video_subscription_limit  # per client; 0 leaves the SDK's (25)
        # The SDK sends JOIN (or PING) as soon as the socket opens; a client that sends nothing is closed.
        self.first_frame_timeout_s = first_frame_timeout_s
        self.turn = turn or TurnIssuer(TurnSettings())  # no TURN: JOIN_ACK carries no credentials
        self.leave_grace_s = leave_grace_s
        self.reconnect_grace_s = reconnect_grace_s  # how long a dropped attendee stays present (D29)
        self.metadata_interval_s = metadata_interval_s
        self.max_frame_bytes = max_frame_bytes
        self.rooms: dict[str, Room] = {}

    def gauges(self) -> Iterator[Any]:
        """Chime SDK rooms and relays of this node, read when /metrics is scraped (see parley.metrics)."""
        yield gauge("parley_signaling_rooms", "Chime SDK meeting rooms hosted on this node", len(self.rooms))
        yield gauge(
            "parley_signaling_relayed_sockets",
            "Chime SDK signaling sockets this node relays to the node hosting their meeting",
            len(self._relayed),
        )
        yield counter(
            "parley_signaling_room_takeovers",
            "Meetings whose room this node took over from a node that died or lost its lease",
            self.takeovers,
        )

    def room(self, meeting_id: str) -> Room:
        if self.hosting is not None and (self._lease_task is None or self._lease_task.done()):
            self._lease_task = asyncio.get_running_loop().create_task(
                self._renew_leases(), name="room-leases"
            )
        return self.rooms.setdefault(meeting_id, Room(meeting_id, max_video_sources=self.max_video_sources))

    def drop_room(self, room: Room) -> None:
        """Forget an empty room, once its last kept data message has expired."""
        if self.rooms.get(room.meeting_id) is not room or room.members or room.joined:
            return
        room.stop_metadata()
        if room._expiry is not None:
            room._expiry.cancel()
            room._expiry = None
        remaining = room.data.expires_in()
        if remaining is not None:
            room._expiry = asyncio.get_running_loop().call_later(remaining + 0.01, self.drop_room, room)
            return
        del self.rooms[room.meeting_id]
        if self.hosting is not None:
            self._spawn(self._release(room.meeting_id))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _release(self, meeting_id: str) -> None:
        assert self.hosting is not None
        # Only if the room was not reopened meanwhile (if it was, the renewal re-takes a lease released early).
        if meeting_id not in self.rooms:
            try:
                await self.hosting.release(meeting_id)
            except Exception as exc:  # the lease then lapses on its own
                log.warning("could not release the room lease of %s: %s", meeting_id, exc)

    async def _renew_leases(self) -> None:
        """Keep the leases of the rooms open here; close a room another node has taken over meanwhile (this node
        was cut off from the database for longer than a lease), so its clients reconnect to the new host."""
        assert self.hosting is not None
        while self.rooms:
            await asyncio.sleep(self.hosting.renew_s)
            try:
                lost = await self.hosting.renew(list(self.rooms))
            except Exception as exc:  # the database is away: keep hosting, try again
                log.warning("could not renew room leases: %s", exc)
                continue
            for meeting_id in lost:
                room = self.rooms.get(meeting_id)
                log.warning("meeting %s is hosted by another node now: closing its room here", meeting_id)
                for connection in room.connections() if room is not None else []:
                    await connection.close_socket(
                        SHUTTING_DOWN, "the meeting moved to another server; reconnect"
                    )

    async def close(self) -> None:
        """Shut down: give up this node's leases, so the nodes its clients reconnect to host at once."""
        if self._lease_task is not None:
            self._lease_task.cancel()
        if self.hosting is not None:
            with contextlib.suppress(Exception):
                await self.hosting.release_all()

    async def drain(self) -> None:
        """Before the server closes its connections: give up the leases, then close every SDK socket here with a
        45xx code, so the clients reconnect (to another node) at once. uvicorn's own shutdown closes sockets with
        1012, a clean close that the SDK ignores: it would sit "connected" until its health checks gave up."""
        await self.close()
        for websocket in list(self._relayed):
            with contextlib.suppress(Exception):
                await websocket.close(SHUTTING_DOWN, "the server is shutting down; reconnect")
        for room in list(self.rooms.values()):
            for connection in room.connections():
                await connection.close_socket(SHUTTING_DOWN, "the server is shutting down; reconnect")

    async def _attendee(self, token: str | None) -> Attendee | None:
        """The attendee a join token names: a stored one, or the content share of one (``<token>#content``)."""
        if not token:
            return None
        base = base_token(token)
        attendee = await self.runtime.store.get_attendee_by_token(base or token)
        if attendee is None or base is None:
            return attendee
        may_share = attendee.capabilities.get("Content", "SendReceive") in ("Send", "SendReceive")
        return content_attendee(attendee) if may_share else None  # no content share without it (D41)

    async def _hosted_here(self, websocket: WebSocket, meeting_id: str) -> bool:
        """Whether this node hosts the socket's room; if another does, relay the socket to it and return False.

        A host with nothing listening at its URL is gone, and this node takes the meeting over at once. One that
        does not answer may be dead or cut off: wait (the handshake pending) for its lease to lapse or for the
        cluster to take it for dead. A socket another node forwarded is never forwarded again.
        """
        assert self.hosting is not None
        forwarded = FORWARDED_HEADER in websocket.headers
        gone: set[str] = set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.hosting.wait_s
        while True:
            place = await self.hosting.place(meeting_id, gone)
            if place is None:  # deleted meanwhile
                await websocket.close(code=CloseCode.FORBIDDEN)
                return False
            if not isinstance(place, HostedElsewhere):
                if place.taken_from is not None:
                    self.takeovers += 1
                    log.warning("took over meeting %s from node %s", meeting_id, place.taken_from)
                    await self.runtime.room_taken_over(meeting_id, place.taken_from)
                return True
            if not forwarded:
                upstream = await open_upstream(
                    place.url,
                    meeting_id,
                    [SUBPROTOCOL, _token(websocket) or ""],
                    {FORWARDED_HEADER: self.runtime.node_id},
                )
                if upstream is Unreachable.NOT_LISTENING:
                    gone.add(place.node_id)
                    continue
                if upstream is Unreachable.FORBIDDEN:
                    await websocket.close(code=CloseCode.FORBIDDEN)
                    return False
                if upstream is not None:
                    await websocket.accept(subprotocol=SUBPROTOCOL)
                    self._relayed.add(websocket)
                    try:
                        await relay(websocket, upstream)
                    finally:
                        self._relayed.discard(websocket)
                    return False
            if forwarded or loop.time() >= deadline:
                # 45xx: the SDK tries again (through the balancer, to whichever node hosts by then).
                await websocket.accept(subprotocol=SUBPROTOCOL)
                await websocket.close(SHUTTING_DOWN, "the meeting's server is not reachable; try again")
                return False
            await asyncio.sleep(0.5)

    async def __call__(self, websocket: WebSocket) -> None:
        meeting_id = websocket.path_params["meeting_id"].lower()
        attendee = await self._attendee(_token(websocket))
        if attendee is None or attendee.meeting_id != meeting_id:
            await websocket.close(code=CloseCode.FORBIDDEN)  # before accept: an HTTP 403
            return
        try:
            if self.hosting is not None and not await self._hosted_here(websocket, meeting_id):
                return
        except Exception:
            log.exception("placing the signaling socket of %s failed", attendee.attendee_id)
            with contextlib.suppress(Exception):  # accepted or not, the SDK tries again on a 45xx close
                await websocket.close(4500, "internal error")
            return
        await websocket.accept(subprotocol=SUBPROTOCOL)
        connection = Connection(self, websocket, attendee)
        left = False
        try:
            first = True
            while True:
                try:
                    message = await asyncio.wait_for(
                        websocket.receive(), self.first_frame_timeout_s if first else None
                    )
                except TimeoutError:
                    await connection.close_socket(CloseCode.BAD_REQUEST, "no signaling frame")
                    break
                first = False
                if message["type"] == "websocket.disconnect":
                    break
                data = message.get("bytes")
                if data is None or len(data) > self.max_frame_bytes:
                    await connection.close_socket(CloseCode.BAD_REQUEST, "expected a binary signaling frame")
                    break
                try:
                    frame = frames.decode(data)
                except frames.FrameError as exc:
                    await connection.close_socket(CloseCode.BAD_REQUEST, str(exc))
                    break
                left = left or frame.type == pb.SdkSignalFrame.LEAVE
                await connection.handle(frame)
        except Exception:
            log.exception("signaling for %s failed", attendee.attendee_id)
            await connection.close_socket(4500, "internal error")
        finally:
            await connection.cleanup(dropped=not left)
