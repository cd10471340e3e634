"""Video forwarding for Chime SDK sessions: each published stream's encoded frames go to its subscribers as
they are, never decoded or re-encoded (a selective forwarding unit).

aiortc has no public API for a received track's encoded frames: its ``RTCRtpReceiver`` reassembles RTP into
complete frames and hands each to a decoder thread through a queue. ``tap_encoded_frames`` puts a stand-in
for that queue on the receiver before it starts, so complete frames reach the forwarder on the event loop and
the decoder thread gets nothing but the stop signal. On the sending side aiortc does support pre-encoded input: a
track whose ``recv`` returns ``av.Packet`` is packetized (RTP payload descriptor, picture id, timestamps) without
an encoder. Written here because no maintained Python library forwards WebRTC video; decoding and re-encoding
every stream per subscriber (aiortc's ``MediaRelay``) costs a core per stream at 720p.

Keyframes: a subscriber starts, resumes, or recovers from a dropped backlog only at a keyframe; until one
arrives it gets nothing, and the publisher is asked for one (RTCP PLI, at most every ``KEYFRAME_INTERVAL_S``).
A subscriber's own PLI/FIR (its decoder lost a picture) is passed on to the publisher the same way.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiortc import MediaStreamTrack, RTCRtpReceiver, RTCRtpSender
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from av.packet import Packet

log = logging.getLogger(__name__)

VIDEO_CLOCK = fractions.Fraction(1, 90_000)
KEYFRAME_INTERVAL_S = 0.5  # the fastest a publisher is asked for keyframes, whatever its subscribers say
MAX_QUEUED_FRAMES = 30  # a subscriber this far behind (2 s at 15 fps) skips to the next keyframe
FORWARDED_CODECS = ("video/VP8",)  # nothing is transcoded: one codec for all (decision D38)


def vp8_keyframe(frame: bytes) -> bool:
    """RFC 6386 §9.1: the frame tag's lowest bit is 0 on a key frame."""
    return bool(frame) and not frame[0] & 0x01


class _EncodedFrameTap:
    """Stands in for ``RTCRtpReceiver``'s decoder queue: complete frames go to ``on_frame``, never to a decoder.

    The receiver puts ``(codec, JitterFrame)`` from the event loop and ``None`` to stop its decoder thread. The
    stop goes on to the queue the tap replaced, and ``get`` reads from that one too: the thread may already be
    blocked on it (a receiver starts when the section is first negotiated, which can be before the client sends
    any video), and a stop that never reached it would hang ``RTCPeerConnection.close`` in the thread's join.
    """

    def __init__(self, on_frame: Callable[[RTCRtpCodecParameters, Any], None], replaced: Any) -> None:
        self._on_frame = on_frame
        self._replaced = replaced  # aiortc's queue.Queue, or an earlier tap of the same receiver

    def put(self, item: tuple[RTCRtpCodecParameters, Any] | None) -> None:
        if item is None:
            self._replaced.put(None)
            return
        codec, frame = item
        try:
            self._on_frame(codec, frame)
        except Exception:
            log.exception("forwarding a video frame failed")

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        return self._replaced.get(block, timeout)


class MarkerJitterBuffer(JitterBuffer):
    """aiortc's video jitter buffer, completing a frame at its last packet rather than at the next frame's first.

    aiortc knows a frame is complete only when a packet with another timestamp arrives, which holds every frame
    back one frame interval (67 ms at 15 fps) at each hop; the sender marks a frame's last packet with the RTP
    marker bit (RFC 7741 §4.1 for VP8), so a contiguous run from the frame's first packet to a marked packet is
    the whole frame. A frame whose marked packet was lost is still completed by the next frame, as before.
    """

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        packets: list[Any] = []
        timestamp = None
        assert self._origin is not None
        for count in range(self.capacity):
            packet = self._packets[(self._origin + count) % self.capacity]
            if packet is None:
                return None
            if timestamp is not None and packet.timestamp != timestamp:
                return self._take(packets, timestamp, count)
            timestamp = packet.timestamp
            packets.append(packet)
            if packet.marker:
                return self._take(packets, timestamp, count + 1)
        return None

    def _take(self, packets: list[Any], timestamp: int, count: int) -> JitterFrame:
        self.remove(count)
        return JitterFrame(data=b"".join(p._data for p in packets), timestamp=timestamp)


def tap_encoded_frames(
    receiver: RTCRtpReceiver, on_frame: Callable[[RTCRtpCodecParameters, Any], None]
) -> None:
    """Route ``receiver``'s complete encoded frames to ``on_frame`` instead of a decoder, from now on, each as
    soon as its last packet is in (``MarkerJitterBuffer``; packets buffered so far are dropped with the old
    buffer, and forwarding starts at a keyframe anyway)."""
    replaced = receiver._RTCRtpReceiver__decoder_queue  # type: ignore[attr-defined]
    receiver._RTCRtpReceiver__decoder_queue = _EncodedFrameTap(on_frame, replaced)  # type: ignore[attr-defined]
    receiver._RTCRtpReceiver__jitter_buffer = MarkerJitterBuffer(capacity=512, is_video=True)  # type: ignore[attr-defined]


class VideoSource:
    """One published video stream on this node (a camera or a content share), and the tracks forwarding it."""

    def __init__(self, stream_id: int, group_id: int, attendee_id: str, external_user_id: str) -> None:
        self.stream_id = stream_id
        self.group_id = group_id
        self.attendee_id = attendee_id
        self.external_user_id = external_user_id
        self.framerate = 15  # what the publisher's SUBSCRIBE says it sends (informational in INDEX)
        self.max_bitrate_kbps = 1500
        self.receiver: RTCRtpReceiver | None = None
        self.subscribers: set[ForwardedVideoTrack] = set()
        self.frames = 0
        self.bytes = 0
        self._since = time.monotonic()
        self._window = (self._since, 0)  # where the current BITRATES window began: (time, bytes then)
        self._last_keyframe_request = 0.0

    def attach(self, receiver: RTCRtpReceiver) -> None:
        """Forward ``receiver``'s frames from now on (a receiver already tapped for this source is left as it is)."""
        if self.receiver is receiver:
            return
        self.receiver = receiver
        tap_encoded_frames(receiver, self._forward)

    def avg_bitrate_bps(self) -> int:
        """The bitrate received since the source was created (INDEX's ``avg_bitrate_bps``; 0 before any)."""
        elapsed = time.monotonic() - self._since
        return int(self.bytes * 8 / elapsed) if elapsed > 0 else 0

    def recent_bitrate_bps(self) -> int:
        """The bitrate received since the previous call (each BITRATES frame covers one such window)."""
        now = time.monotonic()
        began, bytes_then = self._window
        self._window = (now, self.bytes)
        return int((self.bytes - bytes_then) * 8 / (now - began)) if now > began else 0

    def _forward(self, codec: RTCRtpCodecParameters, frame: Any) -> None:
        if codec.mimeType not in FORWARDED_CODECS:
            return
        data: bytes = frame.data
        self.frames += 1
        self.bytes += len(data)
        keyframe = vp8_keyframe(data)
        for track in list(self.subscribers):
            track.offer(data, frame.timestamp, keyframe)

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe (RTCP PLI on its newest SSRC), at most every KEYFRAME_INTERVAL_S."""
        receiver = self.receiver
        now = time.monotonic()
        if receiver is None or now - self._last_keyframe_request < KEYFRAME_INTERVAL_S:
            return
        sources = receiver.getSynchronizationSources()
        if not sources:
            return  # nothing received yet: its first frame is a keyframe anyway
        self._last_keyframe_request = now
        ssrc = max(sources, key=lambda s: s.timestamp).source
        task = asyncio.get_running_loop().create_task(receiver._send_rtcp_pli(ssrc))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    def subscribe(self) -> ForwardedVideoTrack:
        track = ForwardedVideoTrack(self)
        self.subscribers.add(track)
        self.request_keyframe()
        return track

    def unsubscribe(self, track: ForwardedVideoTrack) -> None:
        self.subscribers.discard(track)
        track.stop()

    def close(self) -> None:
        """Not forwarded any more (the publisher stopped or left): every subscriber's track ends."""
        for track in list(self.subscribers):
            self.unsubscribe(track)


class ForwardedVideoTrack(MediaStreamTrack):
    """A subscriber's copy of one source: the source's encoded frames as ``av.Packet``, from a keyframe on.

    ``paused`` (the subscriber's PAUSE) drops frames until RESUME, which then waits for a keyframe.
    """

    kind = "video"

    def __init__(self, source: VideoSource) -> None:
        super().__init__()
        self.source = source
        self.paused = False
        self.forwarded = 0
        self._frames: deque[tuple[bytes, int]] = deque()
        self._ready = asyncio.Event()
        self._need_keyframe = True

    def offer(self, data: bytes, timestamp: int, keyframe: bool) -> None:
        if self.paused or self.readyState != "live":
            return
        if self._need_keyframe:
            if not keyframe:
                self.source.request_keyframe()
                return
            self._need_keyframe = False
        if len(self._frames) >= MAX_QUEUED_FRAMES:
            self._frames.clear()  # this subscriber's sender fell behind: start over at the next keyframe
            self.keyframe_needed()
            return
        self._frames.append((data, timestamp))
        self._ready.set()

    def keyframe_needed(self) -> None:
        """The subscriber lost a picture (its PLI/FIR, or our own backlog): restart at the next keyframe."""
        self._need_keyframe = True
        self.source.request_keyframe()

    def pause(self) -> None:
        self.paused = True
        self._frames.clear()

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            self.keyframe_needed()

    async def recv(self) -> Packet:
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        data, timestamp = self._frames.popleft()
        packet = Packet(data)
        packet.pts = timestamp
        packet.time_base = VIDEO_CLOCK
        self.forwarded += 1
        return packet

    def stop(self) -> None:
        super().stop()
        self._ready.set()  # wake a waiting recv so it sees the track ended


def bind_sender(sender: RTCRtpSender, track: ForwardedVideoTrack) -> None:
    """Send ``track`` on ``sender``, and pass the subscriber's keyframe requests (PLI/FIR) on to the publisher:
    with pre-encoded input aiortc's own response (forcing its encoder's next frame) has nothing to force."""
    sender.replaceTrack(track)
    sender._send_keyframe = track.keyframe_needed  # type: ignore[method-assign]


# -- SDP ----------------------------------------------------------------------------------------------
# Text-level edits of the SDP the SDK and aiortc exchange: aiortc parses only part of an offer, so a parse and
# re-serialization could drop lines the browser needs in the answer; these touch only the lines named.


def _split(sdp: str) -> tuple[list[str], list[list[str]]]:
    """(session lines, [media section lines, ...]) of an SDP, without line ends."""
    head: list[str] = []
    sections: list[list[str]] = []
    for line in sdp.splitlines():
        if line.startswith("m="):
            sections.append([line])
        elif line:
            (sections[-1] if sections else head).append(line)
    return head, sections


def _join(head: list[str], sections: list[list[str]]) -> str:
    return "\r\n".join([*head, *(line for section in sections for line in section)]) + "\r\n"


def _attribute(section: list[str], name: str) -> str | None:
    prefix = f"a={name}:"
    return next((line[len(prefix) :] for line in section if line.startswith(prefix)), None)


@dataclass(frozen=True)
class VideoSection:
    """One ``m=video`` section of an offer, in order (``receive_stream_ids[i]`` belongs to the i-th)."""

    mid: str | None
    port: int
    direction: str


def _is_port(text: str) -> bool:
    # ASCII digits only: str.isdigit() also accepts "²" and "０", which int() refuses (fuzzing found it).
    return text.isascii() and text.isdigit()


def video_sections(sdp: str) -> list[VideoSection]:
    out = []
    for section in _split(sdp)[1]:
        fields = section[0].split()
        if fields[0] != "m=video" or len(fields) < 2:
            continue
        direction = next(
            (line[2:] for line in section if line[2:] in ("sendrecv", "sendonly", "recvonly", "inactive")),
            "sendrecv",
        )
        out.append(
            VideoSection(_attribute(section, "mid"), int(fields[1]) if _is_port(fields[1]) else 0, direction)
        )
    return out


def forwardable_offer(sdp: str) -> str:
    """The offer with its video sections restricted to the forwarded codec (and its retransmission format):
    nothing is transcoded, so publishers must send, and subscribers receive, that one codec."""
    head, sections = _split(sdp)
    for section in sections:
        fields = section[0].split()
        if fields[0] != "m=video" or len(fields) < 4:
            continue
        names: dict[str, str] = {}
        apt: dict[str, str] = {}
        for line in section:
            if line.startswith("a=rtpmap:"):
                pt, _, rest = line[len("a=rtpmap:") :].partition(" ")
                names[pt] = "video/" + rest.split("/")[0]
            elif line.startswith("a=fmtp:") and "apt=" in line:
                pt, _, params = line[len("a=fmtp:") :].partition(" ")
                for param in params.split(";"):
                    key, _, value = param.strip().partition("=")
                    if key == "apt":
                        apt[pt] = value
        keep = {pt for pt, name in names.items() if name.lower() in {c.lower() for c in FORWARDED_CODECS}}
        keep |= {pt for pt, target in apt.items() if target in keep}
        if not keep:
            continue  # nothing forwardable offered: leave it for aiortc to refuse as it would
        dropped = set(fields[3:]) - keep
        section[0] = " ".join(fields[:3] + [pt for pt in fields[3:] if pt in keep])
        section[:] = [
            line
            for line in section
            if not any(
                line.startswith(f"a={attr}:{pt} ") for attr in ("rtpmap", "fmtp", "rtcp-fb") for pt in dropped
            )
        ]
    return _join(head, sections)


def reject_closed_sections(answer: str, offer: str) -> str:
    """Answer every section the offer closed (port 0: a transceiver the browser stopped) with port 0 and take it
    out of BUNDLE, as JSEP requires; aiortc answers it like an open one, and Chrome then rejects the whole answer
    ("A BUNDLE group in answer contains a MID ... that was not in the offered group")."""
    offered = _split(offer)[1]
    head, sections = _split(answer)
    closed: set[str] = set()
    for index, section in enumerate(sections):
        if index < len(offered) and offered[index][0].split()[1:2] == ["0"]:
            fields = section[0].split()
            section[0] = " ".join([fields[0], "0", *fields[2:]])
            mid = _attribute(section, "mid")
            if mid is not None:
                closed.add(mid)
    if closed:
        head = [
            " ".join(w for w in line.split() if w not in closed)
            if line.startswith("a=group:BUNDLE")
            else line
            for line in head
        ]
    return _join(head, sections)


STREAM_ID_EXTENSIONS = (
    "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
    "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
)


def keep_stream_id_extensions(answer: str, offer: str) -> str:
    """Accept the RID header extensions a video section offers, which aiortc leaves out of its answer.

    Simulcast (the SDK's ``enableSimulcastForUnifiedPlanChromiumBasedBrowsers``, deprecated there in favour of
    SVC) is not forwarded: aiortc answers without ``a=simulcast``, so the browser sends its first encoding alone.
    But Chrome refuses any later offer of a simulcast section whose RID extension was never negotiated ("negotiates
    simulcast but does not negotiate the RID RTP header extension"), the first one included, where the camera was
    still off and the section offered no simulcast yet; the SDK then reconnects. Accepting the extensions on every
    video section keeps the session up; aiortc ignores them on the packets.
    """
    offered = _split(offer)[1]
    head, sections = _split(answer)
    for index, section in enumerate(sections):
        if index >= len(offered) or not section[0].startswith("m=video"):
            continue
        used = {line.split()[0] for line in section if line.startswith("a=extmap:")}
        wanted = [
            line
            for line in offered[index]
            if line.startswith("a=extmap:")
            and line.split()[-1] in STREAM_ID_EXTENSIONS
            and line.split()[0] not in used
        ]
        at = next((i for i, line in enumerate(section) if line.startswith("a=rtpmap:")), len(section))
        section[at:at] = wanted
    return _join(head, sections)
