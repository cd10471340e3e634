"""The video forwarder between real aiortc peer connections: a publisher sends VP8, parley's side taps the
encoded frames without decoding them and forwards them to a subscriber, which decodes what the publisher drew.

Three peer connections in one process over real ICE/DTLS/SRTP on the host's addresses; no browser (the Chime
JS test does the same through the SDK)."""

from __future__ import annotations

import asyncio
import fractions
import itertools
import threading
from typing import Any

import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCRtpSender, VideoStreamTrack
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtpPacket
from av import VideoFrame

from parley.proto import chime_signaling_pb2 as pb
from parley.signaling import frames
from parley.signaling.endpoint import Connection, Room
from parley.signaling.video import (
    FORWARDED_CODECS,
    ForwardedVideoTrack,
    MarkerJitterBuffer,
    VideoSource,
    bind_sender,
    forwardable_offer,
    keep_stream_id_extensions,
    reject_closed_sections,
    video_sections,
    vp8_keyframe,
)
from parley.store import Attendee

WIDTH, HEIGHT = 320, 240
COLOURS = [(220, 40, 40), (40, 200, 60), (30, 60, 220)]  # RGB, switched every 10 frames


class Painted(VideoStreamTrack):
    """Solid frames whose colour names the frame's decile: what the subscriber sees says what was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        colour = COLOURS[(self.count // 10) % len(COLOURS)]
        self.count += 1
        image = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
        image[:] = colour
        frame = VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        return frame


def vp8_only() -> list[Any]:
    """aiortc's VP8 (and retransmission) capabilities: the peers here send what parley forwards (D38)."""
    codecs = RTCRtpSender.getCapabilities("video").codecs
    return [c for c in codecs if c.mimeType in FORWARDED_CODECS or c.mimeType == "video/rtx"]


async def connect(offerer: RTCPeerConnection, answerer: RTCPeerConnection) -> None:
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)


def closest_colour(frame: VideoFrame) -> int:
    mean = frame.to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0)
    return int(np.argmin([np.abs(mean - np.array(c)).sum() for c in COLOURS]))


def test_vp8_keyframe_bit() -> None:
    assert vp8_keyframe(b"\x10\x02\x00\x9d\x01\x2a")  # P bit 0: key frame
    assert not vp8_keyframe(b"\x31\x02\x00")
    assert not vp8_keyframe(b"")


async def test_forwarded_frames_decode_to_what_the_publisher_drew() -> None:
    publisher, inbound, outbound, subscriber = (RTCPeerConnection() for _ in range(4))
    source = VideoSource(stream_id=2, group_id=1, attendee_id="a", external_user_id="A")
    received: list[Any] = []
    tapped = asyncio.Event()
    try:
        publisher.addTrack(Painted())
        decoded_upstream: list[Any] = []

        @inbound.on("track")
        def on_track(track: Any) -> None:
            receiver = next(t.receiver for t in inbound.getTransceivers() if t.receiver.track is track)
            source.attach(receiver)
            decoded_upstream.append(track)
            tapped.set()

        for t in publisher.getTransceivers():
            t.setCodecPreferences(vp8_only())
        await connect(publisher, inbound)
        await asyncio.wait_for(tapped.wait(), 10)

        forwarded = source.subscribe()
        transceiver = outbound.addTransceiver("video", direction="sendonly")
        transceiver.setCodecPreferences(vp8_only())
        bind_sender(transceiver.sender, forwarded)
        got_track = asyncio.Event()
        remote: list[Any] = []

        @subscriber.on("track")
        def on_remote(track: Any) -> None:
            remote.append(track)
            got_track.set()

        await connect(outbound, subscriber)
        await asyncio.wait_for(got_track.wait(), 10)

        async def collect() -> None:
            while len(received) < 45:
                received.append(await remote[0].recv())

        await asyncio.wait_for(collect(), 30)
    finally:
        for pc in (publisher, inbound, outbound, subscriber):
            await pc.close()

    assert source.frames >= 45
    assert source.bytes > 0
    assert forwarded.forwarded >= 45
    assert (received[0].width, received[0].height) == (WIDTH, HEIGHT)
    colours = [closest_colour(f) for f in received]
    # every colour the publisher cycles through arrives, each as a run of frames, in the publisher's order
    runs = [c for i, c in enumerate(colours) if i == 0 or c != colours[i - 1]]
    assert len(runs) >= 3
    assert all(b == (a + 1) % len(COLOURS) for a, b in itertools.pairwise(runs))
    # the upstream track was never decoded: nothing reached aiortc's decoder
    with pytest.raises((MediaStreamError, asyncio.TimeoutError)):
        await asyncio.wait_for(decoded_upstream[0].recv(), 0.2)


async def test_a_receiver_tapped_after_it_started_still_closes() -> None:
    """A receiver starts its decoder thread when its section is first negotiated, which can be before the client
    publishes (the SDK offers its camera section before the camera is on): tapped later, its frames are still
    forwarded, and closing the peer connection still stops that thread (it once waited for it forever)."""
    publisher, inbound = RTCPeerConnection(), RTCPeerConnection()
    source = VideoSource(stream_id=2, group_id=1, attendee_id="a", external_user_id="A")
    aiortc_queue: Any = None
    try:
        publisher.addTrack(Painted())
        for t in publisher.getTransceivers():
            t.setCodecPreferences(vp8_only())
        await connect(publisher, inbound)
        (receiver,) = [t.receiver for t in inbound.getTransceivers()]
        for _ in range(100):  # the receiver starts once ICE and DTLS are up
            if receiver._RTCRtpReceiver__decoder_thread is not None:  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.1)
        thread = receiver._RTCRtpReceiver__decoder_thread  # type: ignore[attr-defined]
        assert thread is not None
        assert thread.is_alive()
        aiortc_queue = receiver._RTCRtpReceiver__decoder_queue  # type: ignore[attr-defined]
        source.attach(receiver)
        for _ in range(100):
            if source.frames >= 5:
                break
            await asyncio.sleep(0.1)
        assert source.frames >= 5
    finally:
        # The publisher's close sends RTCP BYE, on which the receiver stops its decoder; closing the receiving
        # side stops it too. Should the stop not reach the thread, either would block this loop in the thread's
        # join: a watchdog then stops the thread itself, so the test fails rather than hangs.
        rescued = threading.Event()
        watchdog = threading.Timer(10, lambda: (rescued.set(), aiortc_queue and aiortc_queue.put(None)))
        watchdog.start()
        await publisher.close()
        await asyncio.sleep(0.5)  # the BYE arrives
        await inbound.close()
        watchdog.cancel()
    assert not rescued.is_set()
    assert not thread.is_alive()


def _rtp(seq: int, timestamp: int, data: bytes, marker: bool = False) -> RtpPacket:
    packet = RtpPacket(payload_type=96, marker=int(marker), sequence_number=seq, timestamp=timestamp)
    packet._data = data  # type: ignore[attr-defined]  # what aiortc's receiver sets: the depayloaded bytes
    return packet


def test_a_frame_is_complete_at_its_marked_last_packet() -> None:
    """A frame is forwarded when its last packet (RTP marker) is in, not a frame interval later when the next
    frame starts; a gap holds it until the missing packet comes; a frame whose marked packet was lost is still
    completed by the next frame's first packet."""
    buffer = MarkerJitterBuffer(capacity=512, is_video=True)
    assert buffer.add(_rtp(10, 900, b"ab")) == (False, None)
    _, frame = buffer.add(_rtp(11, 900, b"cd", marker=True))
    assert frame is not None
    assert (frame.data, frame.timestamp) == (b"abcd", 900)
    # A gap: packet 13 comes before 12, the frame waits for 12.
    assert buffer.add(_rtp(13, 1800, b"gh", marker=True)) == (False, None)
    _, frame = buffer.add(_rtp(12, 1800, b"ef"))
    assert frame is not None
    assert frame.data == b"efgh"
    # The marked packet of the frame at 2700 is lost: the next frame's first packet completes it.
    assert buffer.add(_rtp(14, 2700, b"ij")) == (False, None)
    _, frame = buffer.add(_rtp(16, 3600, b"mn"))
    assert frame is None  # 15 is missing: nothing after the gap is taken
    _, frame = buffer.add(_rtp(15, 3600, b"kl"))
    assert frame is not None
    assert (frame.data, frame.timestamp) == (b"ij", 2700)


async def test_a_late_subscriber_starts_at_a_keyframe_and_a_paused_one_gets_nothing() -> None:
    source = VideoSource(stream_id=2, group_id=1, attendee_id="a", external_user_id="A")
    track = source.subscribe()
    source._forward(_vp8(), _Frame(b"\x31delta", 1))  # a delta frame first: dropped
    assert not track._frames
    source._forward(_vp8(), _Frame(b"\x10key", 2))
    source._forward(_vp8(), _Frame(b"\x31delta", 3))
    packets = [await track.recv(), await track.recv()]
    assert [bytes(p) for p in packets] == [b"\x10key", b"\x31delta"]
    assert packets[0].time_base == fractions.Fraction(1, 90_000)
    track.pause()
    source._forward(_vp8(), _Frame(b"\x10key", 4))
    assert not track._frames
    track.resume()
    source._forward(_vp8(), _Frame(b"\x31delta", 5))  # after RESUME, again from a keyframe
    assert not track._frames
    source._forward(_vp8(), _Frame(b"\x10key", 6))
    assert bytes(await track.recv()) == b"\x10key"
    source.unsubscribe(track)
    with pytest.raises(MediaStreamError):
        await track.recv()
    assert isinstance(track, ForwardedVideoTrack)


class _Frame:
    def __init__(self, data: bytes, timestamp: int) -> None:
        self.data, self.timestamp = data, timestamp


def _vp8() -> Any:
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters

    return RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000, payloadType=96)


OFFER = "\r\n".join(
    [
        "v=0",
        "o=mozilla-chrome 1 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1 3",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "a=mid:0",
        "a=sendrecv",
        "a=rtpmap:111 opus/48000/2",
        "m=video 9 UDP/TLS/RTP/SAVPF 98 99 108 109 96 97",
        "a=mid:1",
        "a=sendrecv",
        "a=rtpmap:98 VP9/90000",
        "a=rtcp-fb:98 nack",
        "a=fmtp:98 profile-id=0",
        "a=rtpmap:99 rtx/90000",
        "a=fmtp:99 apt=98",
        "a=rtpmap:108 H264/90000",
        "a=fmtp:108 profile-level-id=42e01f;packetization-mode=1",
        "a=rtpmap:109 rtx/90000",
        "a=fmtp:109 apt=108",
        "a=rtpmap:96 VP8/90000",
        "a=rtcp-fb:96 nack pli",
        "a=rtpmap:97 rtx/90000",
        "a=fmtp:97 apt=96",
        "m=video 0 UDP/TLS/RTP/SAVPF 96",
        "a=mid:2",
        "a=inactive",
        "a=rtpmap:96 VP8/90000",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
        "a=mid:3",
        "a=recvonly",
        "a=rtpmap:96 VP8/90000",
        "a=rtpmap:97 rtx/90000",
        "a=fmtp:97 apt=96",
    ]
)


def _sdp(*sections: list[str]) -> str:
    head = ["v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0 1"]
    return "\r\n".join(head + [line for section in sections for line in section]) + "\r\n"


def test_offer_sections_and_forwardable_codecs() -> None:
    assert [(s.mid, s.port, s.direction) for s in video_sections(OFFER)] == [
        ("1", 9, "sendrecv"),
        ("2", 0, "inactive"),
        ("3", 9, "recvonly"),
    ]
    offer = forwardable_offer(OFFER)
    camera = offer.split("m=video")[1]
    assert camera.startswith(" 9 UDP/TLS/RTP/SAVPF 96 97\r\n")  # VP8 and its retransmissions only
    assert "VP9" not in camera
    assert "H264" not in camera
    assert "a=rtcp-fb:96 nack pli" in camera
    assert "a=fmtp:97 apt=96" in camera
    assert "m=audio 9 UDP/TLS/RTP/SAVPF 111" in offer  # audio untouched


def test_sections_the_offer_closed_are_rejected_in_the_answer() -> None:
    # aiortc's answer: the closed section on the bundle's port and in the BUNDLE group
    answer = OFFER.replace("m=video 0 UDP", "m=video 9 UDP").replace("BUNDLE 0 1 3", "BUNDLE 0 1 2 3")
    fixed = reject_closed_sections(answer, OFFER)
    assert "a=group:BUNDLE 0 1 3\r\n" in fixed
    assert "m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:2" in fixed
    assert fixed.count("m=video 9 ") == 2


def test_the_rid_extensions_a_video_section_offers_are_accepted() -> None:
    rid = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
    repaired = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
    offer = _sdp(
        ["m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=mid:0", f"a=extmap:10 {rid}", "a=rtpmap:111 opus/48000/2"],
        ["m=video 9 UDP/TLS/RTP/SAVPF 96", "a=mid:1", "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
         f"a=extmap:10 {rid}", f"a=extmap:11 {repaired}", "a=rtpmap:96 VP8/90000",
         "a=rid:low send", "a=simulcast:send low"],
    )  # fmt: skip
    answer = _sdp(
        ["m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=mid:0", "a=rtpmap:111 opus/48000/2"],
        ["m=video 9 UDP/TLS/RTP/SAVPF 96", "a=mid:1", "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
         "a=rtpmap:96 VP8/90000"],
    )  # fmt: skip
    audio, video = keep_stream_id_extensions(answer, offer).split("m=")[1:]
    assert rid not in audio  # audio sections are left as aiortc answered them
    assert f"a=extmap:10 {rid}\r\na=extmap:11 {repaired}\r\na=rtpmap:96" in video
    assert "simulcast" not in video  # one layer: the answer does not take up simulcast
    assert keep_stream_id_extensions(keep_stream_id_extensions(answer, offer), offer).count(rid) == 1


def _viewer(video: str = "SendReceive", content: str = "SendReceive") -> Connection:
    """A signaling connection as far as INDEX and capabilities need one (no socket, no session)."""
    attendee = Attendee(
        "v", "m", "Viewer", "t", {"Audio": "SendReceive", "Video": video, "Content": content}, 0.0
    )
    return Connection(None, None, attendee)  # type: ignore[arg-type]


def test_index_lists_sources_up_to_the_meeting_limit_and_then_says_at_capacity() -> None:
    room = Room("m", max_video_sources=1)
    viewer = _viewer()
    first, second = object(), object()
    room.videos[first] = VideoSource(1, 2, "a", "Ann")  # type: ignore[index]
    index = frames.decode(room.index_frame(viewer)).index
    assert [(s.stream_id, s.group_id, s.attendee_id, s.media_type) for s in index.sources] == [
        (1, 2, "a", pb.VIDEO)
    ]
    assert index.at_capacity is True
    room.videos[second] = VideoSource(3, 4, "b", "Bob")  # type: ignore[index]
    index = frames.decode(room.index_frame(viewer)).index
    assert [s.attendee_id for s in index.sources] == ["a"]  # the second camera is not forwarded
    assert room.source(3) is None
    del room.videos[first]  # type: ignore[arg-type]
    index = frames.decode(room.index_frame(viewer)).index
    assert [s.external_user_id for s in index.sources] == ["Bob"]


def test_index_shows_each_client_what_its_capabilities_let_it_receive() -> None:
    """D41: cameras need Video Receive, content shares Content Receive (SendReceive includes both)."""
    room = Room("m")
    room.videos = {  # type: ignore[dict-item]
        object(): VideoSource(1, 1, "ann", "Ann"),
        object(): VideoSource(2, 2, "ann#content", "Ann"),
    }

    def listed(viewer: Connection) -> list[str]:
        return [s.attendee_id for s in frames.decode(room.index_frame(viewer)).index.sources]

    assert listed(_viewer()) == ["ann", "ann#content"]
    assert listed(_viewer(video="Receive", content="Receive")) == ["ann", "ann#content"]
    assert listed(_viewer(video="Send")) == ["ann#content"]
    assert listed(_viewer(video="None", content="None")) == []
    assert listed(_viewer(content="Send")) == ["ann"]


def test_bitrates_report_each_listed_source_over_the_last_window() -> None:
    room = Room("m", max_video_sources=1)
    assert room.bitrates_frame() is None  # nothing published: no BITRATES
    first, second = (VideoSource(i, i, f"a{i}", f"A{i}") for i in (1, 2))
    room.videos = {object(): first, object(): second}  # type: ignore[dict-item]
    first._window = (first._window[0] - 2.0, 0)  # 2 s ago
    first.bytes = 250_000
    message = frames.decode(room.bitrates_frame() or b"")
    assert message.type == pb.SdkSignalFrame.BITRATES
    ((stream_id, bps),) = [(b.source_stream_id, b.avg_bitrate_bps) for b in message.bitrates.bitrates]
    assert stream_id == 1  # the second source is over the meeting's limit: not listed, not reported
    assert 950_000 <= bps <= 1_000_000  # 2 Mbit over 2 s (and the few microseconds since)
    again = frames.decode(room.bitrates_frame() or b"")
    assert again.bitrates.bitrates[0].avg_bitrate_bps == 0  # nothing more received since the last frame
