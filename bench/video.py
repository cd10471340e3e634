"""Video forwarding capacity of one parley node: publishers × subscribers at 640×360/15 and 1280×720/30.

Each step is one meeting of P publishers and V viewers on the Chime SDK signaling (``/control``), all aiortc
clients in this process on loopback. Every viewer subscribes to every publisher, so the server forwards P × V
video streams (what an SFU's capacity is counted in: mediasoup's "consumers"). Publishers send a VP8 clip
encoded once before the run (a moving texture, a keyframe every second, at the step's bitrate), packetized in
real time without re-encoding; viewers take the complete frames from their receivers without decoding them
(parley's own tap, ``parley.signaling.video.tap_encoded_frames``). So the clients cost RTP and SRTP only, not a
codec, and their CPU, printed beside the server's, is mostly the mirror image of the server's work.

Per step, after every viewer has a first frame from every publisher and one second of warm-up:

* **server CPU** (the parley process, ``/proc``) over the window, minus the same clients' audio-only cost measured
  just before the video started (the mix and presence of P + V attendees), divided by the forwarded streams;
* **delivery**: frames the viewers received in the window over frames the publishers sent in it, per stream;
* **added latency**: a frame's arrival, complete, at a viewer minus the moment its publisher handed it to the RTP
  sender (both clocks in this process): packetization, SRTP, the server's reassembly and forwarding, the
  viewer's reassembly. No encode, decode or render: capture-to-render needs a browser and is not measured here.

A step is *sustained* when delivery ≥ 99 % and the latency p99 < 200 ms; a ladder stops at its first
unsustained step.

    .venv/bin/python bench/video.py                                   # both ladders, about 5 minutes
    .venv/bin/python bench/video.py --profiles 360p15 --ladder 1x4,2x4,4x4,4x8 --seconds 15
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiortc import (  # noqa: E402
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.rtcconfiguration import RTCBundlePolicy  # noqa: E402
from av.packet import Packet  # noqa: E402

from harness.server import ServerProcess, cpu_seconds, write_credentials  # noqa: E402
from harness.signaling import SignalingClient, frame, signaling_url  # noqa: E402
from parley.proto import chime_signaling_pb2 as pb  # noqa: E402
from parley.signaling.video import FORWARDED_CODECS, tap_encoded_frames  # noqa: E402

VIDEO_CLOCK = fractions.Fraction(1, 90_000)
LOOP_S = 4  # seconds of pre-encoded video each publisher loops


@dataclass(frozen=True)
class Profile:
    name: str
    width: int
    height: int
    fps: int
    kbps: int


PROFILES = {
    # 1500 kbps is the SDK's ideal maximum for a camera (NScaleVideoUplinkBandwidthPolicy, 3.32.0); 600 for 360p.
    "360p15": Profile("360p15", 640, 360, 15, 600),
    "720p30": Profile("720p30", 1280, 720, 30, 1500),
}


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def encode_clip(p: Profile) -> list[bytes]:
    """``LOOP_S`` seconds of VP8 at the profile's size, rate and bitrate: a textured image panning, so the
    encoder spends its bitrate as it would on a camera, and every frame's bytes differ (they identify it)."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = p.width, p.height, "yuv420p"
    codec.time_base = fractions.Fraction(1, p.fps)
    codec.framerate = fractions.Fraction(p.fps, 1)
    codec.bit_rate = p.kbps * 1000
    codec.gop_size = p.fps  # a keyframe every second: a new subscriber waits at most that long
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    rng = np.random.default_rng(7)
    texture = rng.integers(0, 256, (p.height // 8, p.width // 8 + p.fps * LOOP_S, 3), dtype=np.uint8)
    texture = texture.repeat(8, axis=0).repeat(8, axis=1)
    out: list[bytes] = []
    for i in range(p.fps * LOOP_S):
        image = np.ascontiguousarray(texture[:, i * 8 : i * 8 + p.width])
        picture = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        picture.pts = i
        out += [bytes(packet) for packet in codec.encode(picture)]
    out += [bytes(packet) for packet in codec.encode(None)]
    return out


class ClipTrack(MediaStreamTrack):
    """Sends the pre-encoded clip in real time once ``go`` is set; remembers when each frame left."""

    kind = "video"

    def __init__(self, clip: list[bytes], fps: int, go: asyncio.Event, phase: int) -> None:
        super().__init__()
        self.clip, self.fps, self.go = clip, fps, go
        self.phase = phase  # where in the clip this publisher starts: cameras' keyframes do not coincide
        self.index = phase
        self.started = 0.0
        self.sent_at: dict[int, float] = {}  # hash of a frame's bytes → when it was last handed to the sender
        self.log: list[float] = []  # send times, for frames-sent-in-a-window

    async def recv(self) -> Packet:
        if not self.started:
            await self.go.wait()
            self.started = time.perf_counter()
        delay = self.started + (self.index - self.phase) / self.fps - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        data = self.clip[self.index % len(self.clip)]
        packet = Packet(data)
        packet.pts = self.index * 90_000 // self.fps
        packet.time_base = VIDEO_CLOCK
        now = time.perf_counter()
        self.sent_at[hash(data)] = now
        self.log.append(now)
        self.index += 1
        return packet


def vp8_only() -> list[Any]:
    codecs = RTCRtpSender.getCapabilities("video").codecs
    return [c for c in codecs if c.mimeType in FORWARDED_CODECS or c.mimeType == "video/rtx"]


async def connected(pc: RTCPeerConnection) -> None:
    up = asyncio.Event()

    def check() -> None:
        if pc.iceConnectionState in ("completed", "connected"):
            up.set()

    pc.on("iceconnectionstatechange", check)
    check()
    await up.wait()


@dataclass
class Client:
    attendee: dict[str, Any]
    meeting: dict[str, Any]
    signaling: SignalingClient = field(init=False)
    # max-bundle, as the SDK: all sections on one transport (under aiortc's default a later one never flows)
    pc: RTCPeerConnection = field(
        default_factory=lambda: RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
    )

    def __post_init__(self) -> None:
        self.signaling = SignalingClient(signaling_url(self.meeting), self.attendee["JoinToken"])

    async def subscribe(self, duplex: int, video: pb.SdkStreamDescriptor | None, wanted: list[int]) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        sub = frame(
            pb.SdkSignalFrame.SUBSCRIBE, "sub", duplex=duplex, sdp_offer=self.pc.localDescription.sdp,
            audio_host="127.0.0.1:3478", audio_checkin=False, audio_muted=True,
        )  # fmt: skip
        sub.sub.send_streams.add(
            media_type=pb.AUDIO, track_label="AmazonChimeExpressAudio", stream_id=1, group_id=1,
            attendee_id=self.attendee["AttendeeId"],
        )  # fmt: skip
        if video is not None:
            sub.sub.send_streams.append(video)
        sub.sub.receive_stream_ids.extend(wanted)
        await self.signaling.send(sub)
        ack = await self.signaling.recv_type(pb.SdkSignalFrame.SUBSCRIBE_ACK)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=ack.suback.sdp_answer, type="answer"))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.pc.close()
        with contextlib.suppress(Exception):
            await self.signaling.close()


class Publisher(Client):
    async def start(self, clip: list[bytes], p: Profile, go: asyncio.Event, phase: int) -> None:
        await self.signaling.connect()
        await self.signaling.join()
        # Every SDK client has audio: the mix comes down.
        self.pc.addTransceiver("audio", direction="recvonly")
        self.track = ClipTrack(clip, p.fps, go, phase)
        self.pc.addTransceiver(self.track, direction="sendonly").setCodecPreferences(vp8_only())
        video = pb.SdkStreamDescriptor(
            media_type=pb.VIDEO, track_label="AmazonChimeExpressVideo", stream_id=2, group_id=2,
            framerate=p.fps, max_bitrate_kbps=p.kbps, attendee_id=self.attendee["AttendeeId"],
        )  # fmt: skip
        await self.subscribe(pb.DUPLEX, video, [0])
        await connected(self.pc)


class Viewer(Client):
    async def start(self, publishers: list[Publisher]) -> None:
        await self.signaling.connect()
        _, index = await self.signaling.join()
        wanted = {p.attendee["AttendeeId"]: p for p in publishers}
        while True:  # until an INDEX lists every publisher's camera
            streams = {s.attendee_id: s.stream_id for s in index.index.sources if s.attendee_id in wanted}
            if len(streams) == len(wanted):
                break
            index = await self.signaling.recv_type(pb.SdkSignalFrame.INDEX)
        self.arrivals: list[list[tuple[float, float]]] = []  # per subscription: (arrival, latency)
        self.pc.addTransceiver("audio", direction="recvonly")
        by_mid: dict[str, int] = {}
        order = list(wanted)
        self.flowing = asyncio.Event()  # a first frame from every publisher
        for _ in order:
            self.pc.addTransceiver("video", direction="recvonly").setCodecPreferences(vp8_only())
            self.arrivals.append([])

        @self.pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind != "video":
                return
            transceiver = next(t for t in self.pc.getTransceivers() if t.receiver.track is track)
            slot = by_mid[transceiver.mid or ""]
            sent_at = wanted[order[slot]].track.sent_at
            arrivals = self.arrivals[slot]

            def on_frame(_codec: Any, encoded: Any) -> None:
                now = time.perf_counter()
                sent = sent_at.get(hash(encoded.data))
                arrivals.append((now, now - sent if sent is not None else float("nan")))
                if len(arrivals) == 1 and all(self.arrivals):
                    self.flowing.set()

            tap_encoded_frames(transceiver.receiver, on_frame)

        await self.pc.setLocalDescription(await self.pc.createOffer())
        video_mids = [t.mid for t in self.pc.getTransceivers() if t.kind == "video"]
        by_mid.update({mid or "": i for i, mid in enumerate(video_mids)})
        await self.subscribe(pb.RX, None, [streams[a] for a in order])
        await connected(self.pc)


@dataclass
class Result:
    label: str
    streams: int
    server_cores: float
    audio_cores: float
    client_cores: float
    delivery: float
    latencies: list[float]

    @property
    def per_stream_ms(self) -> float:
        return (self.server_cores - self.audio_cores) / self.streams * 1000 if self.streams else float("nan")

    @property
    def sustained(self) -> bool:
        return self.delivery >= 0.99 and pct(self.latencies, 99) < 0.2


async def run_step(
    server: ServerProcess, p: Profile, clip: list[bytes], publishers: int, viewers: int, seconds: float
) -> Result:
    chime = server.client()
    meeting = chime.create_meeting(ExternalMeetingId=f"video-{p.name}", MediaRegion="us-east-1")["Meeting"]
    attendees = [
        chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId=f"u{i}")["Attendee"]
        for i in range(publishers + viewers)
    ]
    go = asyncio.Event()
    pubs = [Publisher(a, meeting) for a in attendees[:publishers]]
    views = [Viewer(a, meeting) for a in attendees[publishers:]]
    assert server.proc is not None
    pid = server.proc.pid
    try:
        async with asyncio.timeout(60):
            # Publishers' keyframes (one a second) spread over the second, as independent cameras' are.
            await asyncio.gather(*(x.start(clip, p, go, i * p.fps // publishers) for i, x in enumerate(pubs)))
            await asyncio.gather(*(v.start(pubs) for v in views))
        await asyncio.sleep(2.0)
        # The same clients without video: presence, the mix and its Opus encoding per attendee.
        s0, c0, t0 = cpu_seconds(pid), time.process_time(), time.perf_counter()
        await asyncio.sleep(5.0)
        audio = (cpu_seconds(pid) - s0) / (time.perf_counter() - t0)
        go.set()
        async with asyncio.timeout(30):  # every subscription has started (at a keyframe)
            await asyncio.gather(*(v.flowing.wait() for v in views))
        await asyncio.sleep(1.0)
        s0, c0, t0 = cpu_seconds(pid), time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        s1, c1, t1 = cpu_seconds(pid), time.process_time(), time.perf_counter()
        await asyncio.sleep(0.5)  # the frames sent at the end of the window arrive
        # Delivery counts the frames *sent* in the window, wherever they arrive: arrival minus latency.
        sent = {id(x): sum(t0 <= t < t1 for t in x.track.log) for x in pubs}
        got = 0
        expected = 0
        latencies: list[float] = []
        for v in views:
            for slot, arrivals in enumerate(v.arrivals):
                window = [lat for at, lat in arrivals if lat == lat and t0 <= at - lat < t1]
                got += len(window)
                expected += sent[id(pubs[slot])]
                latencies += window
        return Result(
            label=f"{p.name} {publishers}x{viewers}",
            streams=publishers * viewers,
            server_cores=(s1 - s0) / (t1 - t0),
            audio_cores=audio,
            client_cores=(c1 - c0) / (t1 - t0),
            delivery=got / expected if expected else 0.0,
            latencies=latencies,
        )
    finally:
        await asyncio.gather(*(x.close() for x in [*pubs, *views]))
        with contextlib.suppress(Exception):
            chime.delete_meeting(MeetingId=meeting["MeetingId"])


def show(r: Result) -> None:
    print(
        f"{r.label:<16} {r.streams:>4} streams  server {r.server_cores:5.2f} cores"
        f" (audio-only {r.audio_cores:4.2f}; {r.per_stream_ms:5.1f} ms CPU/s per stream)"
        f"  clients {r.client_cores:4.2f}  delivered {r.delivery * 100:6.2f} %"
        f"  latency p50 {pct(r.latencies, 50) * 1000:5.1f} p95 {pct(r.latencies, 95) * 1000:5.1f}"
        f" p99 {pct(r.latencies, 99) * 1000:6.1f} ms  {'ok' if r.sustained else 'NOT SUSTAINED'}",
        flush=True,
    )


def ladder(text: str) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in (step.split("x") for step in text.split(","))]


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server = ServerProcess(
            root / "data",
            write_credentials(root / "credentials"),
            extra_args=["--media-address", "127.0.0.1", "--log-level", "warning"],
        ).start()
        try:
            summary: list[tuple[str, Result | None]] = []
            for name in args.profiles.split(","):
                p = PROFILES[name]
                started = time.perf_counter()
                clip = encode_clip(p)
                kbps = sum(map(len, clip)) * 8 / LOOP_S / 1000
                print(
                    f"\n== {p.name}: {p.width}x{p.height} at {p.fps} fps, clip {kbps:.0f} kbps"
                    f" (encoded in {time.perf_counter() - started:.1f} s) ==",
                    flush=True,
                )
                last: Result | None = None
                steps = args.ladder[name] if isinstance(args.ladder, dict) else args.ladder
                for publishers, viewers in ladder(steps):
                    result = await run_step(server, p, clip, publishers, viewers, args.seconds)
                    show(result)
                    if not result.sustained:
                        break
                    last = result
                summary.append((p.name, last))
            print("\n== largest sustained step per profile ==")
            for name, r in summary:
                print(f"{name:<8} {r.label + f' ({r.streams} streams)' if r else 'none'}")
            print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()}")
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profiles", default="360p15,720p30")
    parser.add_argument(
        "--ladder",
        default=None,
        help="publishers x viewers steps, e.g. 1x4,2x4,4x4 (default: a ladder per profile)",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window per step")
    args = parser.parse_args()
    if args.ladder is None:
        args.ladder = {"360p15": "1x4,2x4,4x4,4x8,8x8,8x12,12x12", "720p30": "1x4,2x4,4x4,4x8,8x8,8x12,12x12"}
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
