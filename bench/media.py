"""Media-plane cost of Chime SDK meetings: Opus uplinks decoded for transcription, mixed Opus downlinks.

Two parts, so that the end-to-end figures can be attributed:

* **micro** (in-process, no sockets): the exact per-frame work of ``parley.signaling.media`` on 20 s of speech.
  *Uplink*: aiortc's Opus decoder (what runs in each receiver's decoder thread) plus ``UplinkPcm.convert``
  (downmix to mono, soxr resample to 16 kHz PCM for the recognizer). *Downlink*: ``MixTrack.push`` from the
  other attendees, ``MixTrack.recv`` (mix of N-1 sources, frame build), aiortc's RFC 6465 audio level (computed
  by ``RTCRtpSender`` on the event loop for every audio frame) and aiortc's Opus encoder. Figures are CPU
  seconds per second of audio per stream (thread CPU time, so other processes do not inflate them).
* **e2e**: the real server (a subprocess, instrumented from the outside by wrapping ``MixTrack`` and
  ``UplinkPcm`` methods) and aiortc clients on loopback that speak the SDK's signaling and send speech from
  ``tests/data/speech`` as Opus in real time, every attendee talking. Ladders: attendees in one meeting without
  transcription (pure media), attendees in one transcribed meeting, and transcribed meetings of
  ``--meeting-size`` attendees. A ladder stops at its first unsustained step. CPU and lateness are taken over
  the steady part of each step (ICE/DTLS set-up and tear-down excluded), server CPU also per thread role.

*Sustained* (one step, ``--seconds`` of audio): mixer tick lateness p99 < 20 ms (how late ``MixTrack.recv``
returns a 20 ms frame against its real-time schedule), no audio dropped (no mixer-buffer overflow, uplink frames
decoded = frames sent, allowing the 5 frames per stream the receiver's jitter buffer may still hold when the
sender stops, and no RTP loss on the downlinks), and with transcription on, word commit latency p90 < 2.5 s
(first ``stable``/final appearance of a word at a listener, minus the moment the audio holding the word's end was
sent; as in bench/live.py). Also printed, not judged: the audio queued in a mix before each tick ("mix queue",
delay the mix adds) and the standing delay the mix drained (``MixTrack`` drops persistent backlog, by design).

The clients run in this process on the same machine, so their own Opus encode/decode and SRTP compete with the
server for the CPU; their CPU is printed next to the server's.

Video forwarding (publishers × viewers at 640×360/15 and 1280×720/30) is ``bench/video.py``, also run by
``--parts video``.

    .venv/bin/python bench/media.py                          # audio: micro and e2e, at most about 6 minutes
    .venv/bin/python bench/media.py --parts micro            # microbenchmarks only (~10 s)
    .venv/bin/python bench/media.py --parts e2e --media-ladder 2,6,10 --asr-ladder 2,4 --meeting-ladder 1,2
    .venv/bin/python bench/media.py --parts video            # video forwarding (bench/video.py, ~5 minutes)

``PARLEY_BENCH_PROFILE=FILE`` additionally writes a cProfile of the server's event loop thread (a debug aid).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.mediastreams import MediaStreamError  # noqa: E402
from av import AudioFrame  # noqa: E402

from harness.media import clip_48k  # noqa: E402
from harness.server import free_port, write_credentials  # noqa: E402
from harness.signaling import SignalingClient, frame, signaling_url  # noqa: E402
from parley.proto import chime_signaling_pb2 as pb  # noqa: E402
from parley.signaling import media  # noqa: E402
from parley.transcripts.events import Transcript  # noqa: E402
from parley.transcripts.wire import TRANSCRIPTION_TOPIC, from_sdk_transcript_frame  # noqa: E402

RATE = media.MIX_RATE
SAMPLES = media.MIX_SAMPLES
CLIPS = ("en_us_budget", "en_gb_two")  # English: the meetings are transcribed as en-US
LATE_BUCKETS = 1000  # 1 ms buckets for mixer tick lateness; the last one collects everything later
JITTER_RESIDUE_FRAMES = 5  # what aiortc's audio jitter buffer (prefetch 4) may hold back when a sender stops
LATENESS_P99_MAX_S = 0.020
COMMIT_P90_MAX_S = 2.5
TRANSCRIBE = {
    "EngineTranscribeSettings": {
        "LanguageCode": "en-US",
        "EnablePartialResultsStabilization": True,
        "PartialResultsStability": "high",
    }
}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@functools.cache
def _clip(name: str) -> np.ndarray:
    return clip_48k(name)


def speech_48k(seconds: float, rotate: int = 0) -> np.ndarray:
    """The English clips back to back (rotated per talker so meetings are not in unison), ``seconds`` long."""
    clips = [_clip(name) for name in CLIPS]
    clips = clips[rotate % len(clips) :] + clips[: rotate % len(clips)]
    one = np.concatenate(clips)
    one = np.roll(one, -(rotate * RATE * 3) % len(one))  # and shifted by 3 s per talker
    reps = int(np.ceil(seconds * RATE / len(one)))
    return np.tile(one, reps)[: int(seconds * RATE)]


def mono_frame(samples: np.ndarray, pts: int) -> AudioFrame:
    out = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    out.sample_rate = RATE
    out.pts = pts
    out.time_base = fractions.Fraction(1, RATE)
    return out


# -- microbenchmarks ----------------------------------------------------------------------------------


@contextlib.contextmanager
def thread_cpu(into: list[float]) -> Iterator[None]:
    start = time.thread_time()
    yield
    into.append(time.thread_time() - start)


def micro_uplink(streams: int, seconds: float) -> dict[str, float]:
    """Decode ``streams`` Opus uplinks of ``seconds`` speech, as the server does per attendee."""
    from aiortc.codecs.opus import OpusDecoder, OpusEncoder
    from aiortc.jitterbuffer import JitterFrame

    packets: list[list[bytes]] = []
    for s in range(streams):
        encoder = OpusEncoder()
        audio = speech_48k(seconds, rotate=s)
        stream: list[bytes] = []
        for i in range(len(audio) // SAMPLES):
            payloads, _ = encoder.encode(mono_frame(audio[i * SAMPLES : (i + 1) * SAMPLES], i * SAMPLES))
            stream += payloads
        packets.append(stream)
    decode_cpu: list[float] = []
    convert_cpu: list[float] = []
    pcm_bytes = 0
    for stream in packets:
        decoder = OpusDecoder()
        uplink = media.UplinkPcm()
        decoded: list[Any] = []
        with thread_cpu(decode_cpu):
            for i, data in enumerate(stream):
                decoded += decoder.decode(JitterFrame(data, i * SAMPLES))
        with thread_cpu(convert_cpu):
            for f in decoded:
                pcm_bytes += len(uplink.convert(f)[1])
    audio_s = seconds * streams
    assert pcm_bytes > 0.99 * audio_s * 32000, "the uplink path lost audio"
    return {
        "decode": sum(decode_cpu) / audio_s,
        "convert": sum(convert_cpu) / audio_s,
    }


async def micro_downlink(size: int, seconds: float) -> dict[str, float]:
    """One meeting of ``size`` talkers: every tick each uplink frame is pushed into the other ``size - 1``
    mixes (as ``Connection._uplink_frame`` does), then each receiver's ``MixTrack.recv`` builds its frame
    and aiortc's Opus encoder encodes it (``RTCRtpSender`` runs that in an executor thread)."""
    from aiortc import rtp
    from aiortc.codecs.opus import OpusEncoder

    talkers = [f"attendee-{i}" for i in range(size)]
    audio = {t: speech_48k(seconds, rotate=i) for i, t in enumerate(talkers)}
    mixes = {t: media.MixTrack() for t in talkers}
    encoders = {t: OpusEncoder() for t in talkers}
    for mix in mixes.values():
        mix._start = time.time() - 10 * seconds  # far behind schedule: recv never sleeps
    push_cpu: list[float] = []
    mix_cpu: list[float] = []
    encode_cpu: list[float] = []
    level_cpu: list[float] = []
    ticks = int(seconds * RATE) // SAMPLES
    for i in range(ticks):
        with thread_cpu(push_cpu):
            for sender in talkers:
                chunk = audio[sender][i * SAMPLES : (i + 1) * SAMPLES]
                for receiver in talkers:
                    if receiver != sender:
                        mixes[receiver].push(sender, chunk, RATE)
        frames: dict[str, AudioFrame] = {}
        with thread_cpu(mix_cpu):
            for receiver in talkers:
                frames[receiver] = await mixes[receiver].recv()
        with thread_cpu(level_cpu):  # RTCRtpSender does this on the event loop for every audio frame
            for receiver in talkers:
                rtp.compute_audio_level_dbov(frames[receiver])
        with thread_cpu(encode_cpu):
            for receiver in talkers:
                encoders[receiver].encode(frames[receiver])
    for mix in mixes.values():
        mix.stop()
    audio_s = seconds * size
    return {
        "push": sum(push_cpu) / audio_s,
        "mix": sum(mix_cpu) / audio_s,
        "encode": sum(encode_cpu) / audio_s,
        "level": sum(level_cpu) / audio_s,
    }


def run_micro(seconds: float, streams: int, sizes: list[int]) -> None:
    print(
        f"\n== micro: CPU s per audio s per stream ({seconds:.0f} s of speech; thread CPU time) ==",
        flush=True,
    )
    up = micro_uplink(streams, seconds)
    total = up["decode"] + up["convert"]
    print(
        f"uplink ({streams} streams)  opus decode {up['decode']:.4f}  downmix+resample {up['convert']:.4f}  "
        f"total {total:.4f}  -> {1 / total:.0f} uplinks per core",
        flush=True,
    )
    for size in sizes:
        down = asyncio.run(micro_downlink(size, seconds))
        total = down["push"] + down["mix"] + down["encode"] + down["level"]
        print(
            f"downlink (meeting of {size:>2}: {size - 1:>2} sources)  push {down['push']:.4f}  "
            f"mix+frame {down['mix']:.4f}  aiortc audio level {down['level']:.4f}  "
            f"opus encode {down['encode']:.4f}  total {total:.4f}  -> {1 / total:.0f} downlinks per core",
            flush=True,
        )


# -- the instrumented server ------------------------------------------------------------------------------


def serve_instrumented(stats_path: Path, argv: list[str]) -> int:
    """``parley serve`` with counters around the media code, written to ``stats_path`` every 0.5 s.

    Wrapping class attributes reaches every connection (endpoint.py uses these classes); the counters are a
    histogram and a few integers, so the instrumentation costs next to nothing.
    """
    hist = [0] * LATE_BUCKETS
    depth = [0] * LATE_BUCKETS  # audio waiting in a mix per tick (deepest source), 1 ms buckets
    counters = {"uplink_frames": 0, "overflow_samples": 0, "drained_samples": 0, "ticks": 0}
    recv, push, mix, convert = (
        media.MixTrack.recv,
        media.MixTrack.push,
        media.MixTrack._mix,
        media.UplinkPcm.convert,
    )

    # Debug aid: PARLEY_BENCH_PROFILE=FILE profiles the event loop thread from the first mixed frame for
    # PARLEY_BENCH_PROFILE_TICKS frames (all receivers together) and writes cProfile stats to FILE.
    profile_path = os.environ.get("PARLEY_BENCH_PROFILE")
    profile_ticks = int(os.environ.get("PARLEY_BENCH_PROFILE_TICKS", "3000"))
    profiler: Any = None

    async def timed_recv(self: media.MixTrack) -> AudioFrame:
        nonlocal profiler
        if profile_path and profiler is None:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        elif profile_path and counters["ticks"] == profile_ticks:
            profiler.disable()
            profiler.dump_stats(profile_path)
        out = await recv(self)
        assert self._start is not None
        late = time.time() - (self._start + self._timestamp / RATE)
        hist[min(LATE_BUCKETS - 1, max(0, int(late * 1000)))] += 1
        counters["ticks"] += 1
        return out

    def counted_push(self: media.MixTrack, sender: str, samples: np.ndarray, rate: int) -> None:
        buffered = self._sources.get(sender)
        over = (0 if buffered is None else len(buffered)) + len(samples) - media.MAX_BUFFERED_SAMPLES
        if rate == RATE and over > 0:
            counters["overflow_samples"] += over
        push(self, sender, samples, rate)

    def measured_mix(self: media.MixTrack) -> np.ndarray:
        before = {sender: len(b) for sender, b in self._sources.items()}
        depth[min(LATE_BUCKETS - 1, max(before.values(), default=0) * 1000 // RATE)] += 1
        out = mix(self)
        for sender, queued in before.items():
            played = SAMPLES if queued >= SAMPLES else 0
            counters["drained_samples"] += queued - played - len(self._sources.get(sender, ()))
        return out

    def counted_convert(self: media.UplinkPcm, f: AudioFrame) -> tuple[np.ndarray, bytes]:
        counters["uplink_frames"] += 1
        return convert(self, f)

    media.MixTrack.recv = timed_recv  # type: ignore[method-assign]
    media.MixTrack.push = counted_push  # type: ignore[method-assign]
    media.MixTrack._mix = measured_mix  # type: ignore[method-assign]
    media.UplinkPcm.convert = counted_convert  # type: ignore[method-assign]

    def write() -> None:
        while True:
            times = os.times()
            snapshot = {
                **counters,
                "hist": hist,
                "depth": depth,
                "cpu": times.user + times.system,
                "threads": thread_cpu_by_role(),
                "at": time.time(),
            }
            tmp = stats_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(snapshot))
            tmp.replace(stats_path)
            time.sleep(0.5)

    threading.Thread(target=write, daemon=True, name="bench-stats").start()
    from parley.cli import main

    return main(argv)


def thread_cpu_by_role() -> dict[str, float]:
    """CPU seconds of this process's live threads, grouped by role (Linux ``/proc``; empty elsewhere).

    aiortc decodes each uplink in an ``audio-decoder`` thread and encodes downlinks in the event loop's default
    executor (``uvloop_N`` threads under uvloop); everything else on the loop (RTP/SRTP, ICE, the mix) is the
    main thread.
    """
    tick = os.sysconf("SC_CLK_TCK")
    names = {t.native_id: t.name for t in threading.enumerate()}  # Python 3.11 does not name OS threads
    roles: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for task in Path("/proc/self/task").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (task / "stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                cpu = (int(fields[11]) + int(fields[12])) / tick
                name = names.get(int(task.name), "")
                if task.name == str(os.getpid()):
                    role = "loop"
                elif name.startswith("audio-decoder"):
                    role = "opus decode"
                elif name.startswith(("asyncio_", "uvloop_", "ThreadPoolExecutor-")):
                    role = "executor (opus encode)"  # the event loop's default executor
                elif name.startswith("parley-asr"):
                    role = "speech"
                else:
                    role = "other (CTranslate2 inference, ...)"
                roles[role] = roles.get(role, 0.0) + cpu
    return roles


@dataclass
class Server:
    """The instrumented server process; ``stats()`` is its latest counter snapshot."""

    root: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stats_path(self) -> Path:
        return self.root / "media-stats.json"

    def start(self, timeout: float = 180.0) -> Server:
        creds = write_credentials(self.root / "credentials")
        argv = ["serve", "--port", str(self.port), "--data-dir", str(self.root / "data"), "--api-rate", "0"]
        argv += ["--credentials", str(creds), "--media-address", "127.0.0.1", "--log-level", "warning"]
        log = (self.root / "server.log").open("ab")
        cmd = [sys.executable, __file__, "--serve-instrumented", str(self.stats_path), "--", *argv]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.root / "server.log").read_text(errors="replace"))
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.endpoint}/ping", timeout=1) as r,
            ):
                if r.status == 200 and self.stats_path.exists():
                    return self
            time.sleep(0.2)
        raise RuntimeError("server did not start")

    async def stats(self) -> dict[str, Any]:
        """A snapshot taken after this call (the writer runs every 0.5 s)."""
        asked = time.time()
        while True:
            with contextlib.suppress(OSError, ValueError):
                snapshot: dict[str, Any] = json.loads(self.stats_path.read_text())
                if snapshot["at"] > asked:
                    return snapshot
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        from harness.server import IDENTITIES

        key, secret, _ = IDENTITIES["alice"]
        return boto3.client(
            "chime-sdk-meetings",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=Config(retries={"total_max_attempts": 1}),
        )


# -- the clients --------------------------------------------------------------------------------------------


class SpeechTrack(MediaStreamTrack):
    """Plays ``samples`` in real time and ends; ``started`` is the wall time of the first frame, ``sent``
    the frames handed to the encoder."""

    kind = "audio"

    def __init__(self, samples: np.ndarray) -> None:
        super().__init__()
        self.samples = samples
        self.started: float | None = None
        self.sent = 0
        self.playing = asyncio.Event()
        self.done = asyncio.Event()

    async def recv(self) -> AudioFrame:
        pos = self.sent * SAMPLES
        if pos + SAMPLES > len(self.samples):
            self.done.set()
            self.stop()
            raise MediaStreamError
        if self.started is None:
            self.started = time.time()
            self.playing.set()
        else:
            wait = self.started + pos / RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        self.sent += 1
        return mono_frame(self.samples[pos : pos + SAMPLES], pos)


class Talker:
    """One attendee: signaling socket, a peer connection sending speech, a downlink counted and dropped."""

    def __init__(self, meeting: dict[str, Any], attendee: dict[str, Any], samples: np.ndarray) -> None:
        self.meeting = meeting
        self.attendee = attendee
        self.signaling = SignalingClient(signaling_url(meeting), attendee["JoinToken"])
        self.track = SpeechTrack(samples)
        self.pc = RTCPeerConnection()
        self.pc.addTransceiver(self.track, direction="sendrecv")
        self.origin_ms = 0
        self.received = 0
        self.transcripts: list[tuple[float, Any]] = []  # (arrival wall time, result)
        self._tasks: list[asyncio.Task[None]] = []

        @self.pc.on("track")
        def on_track(track: Any) -> None:
            self._tasks.append(asyncio.get_running_loop().create_task(self._drain(track)))

    async def _drain(self, track: Any) -> None:
        while True:
            try:
                await track.recv()
            except Exception:
                return
            self.received += 1

    async def join(self) -> None:
        await self.signaling.connect()
        ack, _ = await self.signaling.join()
        # The transcriber's origin (its result times are origin + audio offset) is set during the join,
        # just before JOIN_ACK is stamped.
        self.origin_ms = ack.timestamp_ms
        await self.pc.setLocalDescription(await self.pc.createOffer())
        sub = frame(
            pb.SdkSignalFrame.SUBSCRIBE, "sub", duplex=pb.RX, sdp_offer=self.pc.localDescription.sdp,
            audio_host="127.0.0.1:3478", audio_checkin=False, audio_muted=False,
        )  # fmt: skip
        sub.sub.send_streams.add(
            media_type=pb.AUDIO, track_label="AmazonChimeExpressAudio", stream_id=1, group_id=1,
            attendee_id=self.attendee["AttendeeId"],
        )  # fmt: skip
        sub.sub.receive_stream_ids.append(0)
        await self.signaling.send(sub)
        ack = await self.signaling.recv_type(pb.SdkSignalFrame.SUBSCRIBE_ACK)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=ack.suback.sdp_answer, type="answer"))
        self._tasks.append(asyncio.get_running_loop().create_task(self._read_signaling()))

    async def _read_signaling(self) -> None:
        while True:
            try:
                data = await self.signaling.ws.recv()
            except Exception:
                return
            message = pb.SdkSignalFrame.FromString(data[1:])
            if message.type != pb.SdkSignalFrame.DATA_MESSAGE:
                continue
            now = time.time()
            for payload in message.data_message.messages:
                if payload.topic != TRANSCRIPTION_TOPIC:
                    continue
                for event in from_sdk_transcript_frame(payload.data):
                    if isinstance(event, Transcript):
                        self.transcripts += [(now, r) for r in event.results]

    async def downlink_lost(self) -> int:
        report = await self.pc.getStats()
        return sum(int(getattr(s, "packetsLost", 0) or 0) for s in report.values() if s.type == "inbound-rtp")

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await self.pc.close()
        with contextlib.suppress(Exception):
            await self.signaling.close()


def commit_latencies(talkers: list[Talker]) -> list[float]:
    """Per word: first stable/final appearance at one listener per meeting minus when its end was sent."""
    by_attendee = {t.attendee["AttendeeId"]: t for t in talkers}
    listeners: dict[str, Talker] = {}
    for t in talkers:
        listeners.setdefault(t.meeting["MeetingId"], t)
    latencies: list[float] = []
    for listener in listeners.values():
        committed: set[tuple[str, int]] = set()
        for arrived, result in listener.transcripts:
            for k, item in enumerate(result.alternatives[0].items):
                speaker = by_attendee.get(item.attendee_id or "")
                if item.type != "pronunciation" or speaker is None or speaker.track.started is None:
                    continue
                if not (item.stable or not result.is_partial) or (result.result_id, k) in committed:
                    continue
                committed.add((result.result_id, k))
                sent = speaker.track.started + (item.end_time_ms - speaker.origin_ms) / 1000
                latencies.append(arrived - sent)
    return latencies


@dataclass
class Step:
    label: str
    attendees: int
    window_s: float  # the steady part of the step, where CPU and lateness are measured
    lateness_p99_ms: float
    lateness_max_ms: float
    depth_p50_ms: float  # audio queued in a mix before its tick (added downlink delay), deepest source
    depth_p99_ms: float
    uplink_dropped: int
    overflow_samples: int
    drained_samples: int  # standing delay the mixes dropped in the steady window (DRAIN_TICKS; not a loss)
    downlink_lost: int
    server_cpu: float
    client_cpu: float
    roles: dict[str, float] = field(default_factory=dict)  # server CPU seconds by thread role
    load: float = 0.0  # 1-minute load average at the end of the steady window (other work on the machine)
    commit_p50: float | None = None
    commit_p90: float | None = None

    @property
    def sustained(self) -> bool:
        ok = self.lateness_p99_ms < LATENESS_P99_MAX_S * 1000 and self.uplink_dropped == 0
        ok = ok and self.overflow_samples == 0 and self.downlink_lost == 0
        if self.commit_p90 is not None:
            ok = ok and self.commit_p90 < COMMIT_P90_MAX_S
        return ok

    def line(self) -> str:
        commit = (
            f"  commit p50/p90 {self.commit_p50:.2f}/{self.commit_p90:.2f} s"
            if self.commit_p90 is not None
            else ""
        )
        cores = self.server_cpu / self.window_s
        per = cores / self.attendees
        return (
            f"{self.label:<26} load {self.load:4.1f}  late p99 {self.lateness_p99_ms:5.1f} ms (max {self.lateness_max_ms:5.0f})  "
            f"mix queue p50/p99 {self.depth_p50_ms:.0f}/{self.depth_p99_ms:.0f} ms  "
            f"uplink dropped {self.uplink_dropped}  overflow {self.overflow_samples}  "
            f"delay drained {self.drained_samples * 1000 // RATE} ms  "
            f"downlink lost {self.downlink_lost}  server {cores:.2f} cores "
            f"({per:.4f} per attendee)  clients {self.client_cpu / self.window_s:.2f} cores{commit}  "
            f"-> {'sustained' if self.sustained else 'NOT sustained'}\n"
            + " " * 27
            + "server threads (cores): "
            + ", ".join(f"{role} {cpu / self.window_s:.2f}" for role, cpu in sorted(self.roles.items()))
        )


def hist_quantile(hist: list[int], q: float) -> float:
    total = sum(hist)
    if total == 0:
        return float("nan")
    seen = 0
    for ms, count in enumerate(hist):
        seen += count
        if seen >= q * total:
            return float(ms + 1)  # upper edge of the bucket
    return float(len(hist))


async def run_step(
    server: Server, label: str, meetings: int, size: int, seconds: float, transcribe: bool
) -> Step:
    chime = server.client()
    talkers: list[Talker] = []
    n = 0
    for m in range(meetings):
        meeting = chime.create_meeting(ExternalMeetingId=f"bench-{label}-{m}", MediaRegion="us-east-1")
        meeting = meeting["Meeting"]
        if transcribe:
            chime.start_meeting_transcription(
                MeetingId=meeting["MeetingId"], TranscriptionConfiguration=TRANSCRIBE
            )
        for a in range(size):
            attendee = chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId=f"talker-{m}-{a}")
            talkers.append(Talker(meeting, attendee["Attendee"], speech_48k(seconds, rotate=n)))
            n += 1
    try:
        before = await server.stats()
        await asyncio.gather(*(t.join() for t in talkers))
        # The steady window (CPU, lateness): from 1.5 s after the last talker's first frame to 1.5 s before the
        # first talker's audio ends; ICE/DTLS set-up and tear-down stay outside it.
        async with asyncio.timeout(30):
            await asyncio.gather(*(t.track.playing.wait() for t in talkers))
        starts = [t.track.started or 0.0 for t in talkers]
        await asyncio.sleep(max(0.0, max(starts) + 1.5 - time.time()))
        steady0, cpu0 = await server.stats(), sum(os.times()[:2])
        await asyncio.sleep(max(0.0, min(starts) + seconds - 1.5 - time.time()))
        steady1, cpu1 = await server.stats(), sum(os.times()[:2])
        load = os.getloadavg()[0]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await asyncio.gather(*(t.track.done.wait() for t in talkers))
        await asyncio.sleep(2.0 if not transcribe else 4.0)  # in-flight frames; the last finals
        after = await server.stats()
        lost = sum([await t.downlink_lost() for t in talkers])
    finally:
        await asyncio.gather(*(t.close() for t in talkers))
    hist = [b - a for a, b in zip(steady0["hist"], steady1["hist"], strict=True)]
    depth = [b - a for a, b in zip(steady0["depth"], steady1["depth"], strict=True)]
    sent = sum(t.track.sent for t in talkers)
    decoded = after["uplink_frames"] - before["uplink_frames"]
    dropped = max(0, sent - decoded - JITTER_RESIDUE_FRAMES * len(talkers))
    step = Step(
        label=label,
        attendees=len(talkers),
        window_s=steady1["at"] - steady0["at"],
        lateness_p99_ms=hist_quantile(hist, 0.99),
        lateness_max_ms=float(max((ms for ms, c in enumerate(hist) if c), default=0) + 1),
        depth_p50_ms=hist_quantile(depth, 0.5),
        depth_p99_ms=hist_quantile(depth, 0.99),
        uplink_dropped=dropped,
        overflow_samples=after["overflow_samples"] - before["overflow_samples"],
        drained_samples=steady1["drained_samples"] - steady0["drained_samples"],
        downlink_lost=lost,
        server_cpu=steady1["cpu"] - steady0["cpu"],
        roles={role: cpu - steady0["threads"].get(role, 0.0) for role, cpu in steady1["threads"].items()},
        client_cpu=cpu1 - cpu0,
        load=load,
    )
    if transcribe:
        latencies = commit_latencies(talkers)
        step.commit_p50, step.commit_p90 = pct(latencies, 0.5), pct(latencies, 0.9)
    print(step.line(), flush=True)
    return step


async def ladder(
    server: Server,
    name: str,
    values: list[int],
    make: Callable[[int], tuple[str, int, int, bool]],
    seconds: float,
    steps: list[Step],
) -> int | None:
    """Run steps in order until one is not sustained; the last sustained value (None if none was)."""
    print(f"\n== e2e: {name} ({seconds:.0f} s of audio per step) ==", flush=True)
    best: int | None = None
    for value in values:
        label, meetings, size, transcribe = make(value)
        step = await run_step(server, label, meetings, size, seconds, transcribe)
        steps.append(step)
        if not step.sustained:
            break
        best = value
        await asyncio.sleep(2.0)  # let the closed peer connections go
    print(f"-> sustained up to: {best}", flush=True)
    return best


def cpu_ceiling(steps: list[Step], idle: float) -> None:
    """What the media plane alone costs per attendee, and where CPU alone would stop a server process.

    From the largest media-only step: the event loop is one thread (RTP/SRTP, ICE, the mix, the audio level),
    so it caps one process at ``1 / loop-per-attendee``; the whole process at ``cores / server-per-attendee``.
    The idle server's own CPU (``idle``, cores) is taken out of the per-attendee total.
    """
    if not steps:
        return
    step = max(steps, key=lambda s: s.attendees)
    per = {role: cpu / step.window_s / step.attendees for role, cpu in step.roles.items()}
    total = max(0.0, step.server_cpu / step.window_s - idle) / step.attendees
    loop = per.get("loop", float("nan"))
    parts = ", ".join(f"{role} {value:.4f}" for role, value in sorted(per.items()) if value >= 0.0005)
    print(
        f"media plane per talking attendee ({step.label}): server {total:.4f} cores beyond idle "
        f"(by thread, idle included: {parts})"
    )
    print(
        f"CPU-bound ceiling: event loop thread full at ~{1 / loop:.0f} attendees per process; "
        f"{os.cpu_count()} cores full at ~{(os.cpu_count() or 1) / total:.0f} (server alone, no transcription)"
    )


async def run_e2e(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        server = Server(Path(tmp)).start()
        print(f"\nserver answers /ping after {time.monotonic() - started:.0f} s", flush=True)
        # /ping answers before the speech model has loaded (in the executor): wait until the server is quiet.
        async with asyncio.timeout(120):
            before = await server.stats()
            while True:
                await asyncio.sleep(1.0)
                now = await server.stats()
                if (now["cpu"] - before["cpu"]) / (now["at"] - before["at"]) < 0.05:
                    break
                before = now
        print(f"server quiet after {time.monotonic() - started:.0f} s", flush=True)
        idle0 = await server.stats()
        await asyncio.sleep(3.0)
        idle1 = await server.stats()
        idle = (idle1["cpu"] - idle0["cpu"]) / (idle1["at"] - idle0["at"])
        span = idle1["at"] - idle0["at"]
        roles = ", ".join(
            f"{role} {(cpu - idle0['threads'].get(role, 0.0)) / span:.3f}"
            for role, cpu in sorted(idle1["threads"].items())
        )
        print(f"server idle: {idle:.3f} cores ({roles})", flush=True)
        try:
            results: dict[str, int | None] = {}
            media_steps: list[Step] = []
            steps: list[Step] = []
            if args.media_ladder:
                results["attendees, media only"] = await ladder(
                    server,
                    "talking attendees in one meeting, no transcription",
                    args.media_ladder,
                    lambda n: (f"1 meeting x {n} talking", 1, n, False),
                    args.seconds,
                    media_steps,
                )
            if args.asr_ladder:
                results["attendees, transcribed"] = await ladder(
                    server,
                    "talking attendees in one transcribed meeting",
                    args.asr_ladder,
                    lambda n: (f"1 meeting x {n} talking +T", 1, n, True),
                    args.seconds,
                    steps,
                )
            if args.meeting_ladder:
                size = args.meeting_size
                results[f"meetings of {size}, transcribed"] = await ladder(
                    server,
                    f"transcribed meetings of {size} talking attendees",
                    args.meeting_ladder,
                    lambda m: (f"{m} meetings x {size} +T", m, size, True),
                    args.seconds,
                    steps,
                )
            print("\n== summary (sustained: last passing step of each ladder) ==")
            for name, value in results.items():
                print(f"{name:<32} {value}")
            cpu_ceiling(media_steps, idle)
            print(f"e2e wall time {time.monotonic() - started:.0f} s; load average {os.getloadavg()}")
        finally:
            server.stop()


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--serve-instrumented":
        rest = sys.argv[3:]
        raise SystemExit(serve_instrumented(Path(sys.argv[2]), rest[1:] if rest[:1] == ["--"] else rest))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--parts",
        default="micro,e2e",
        help="micro, e2e (default: both), video (bench/video.py, its defaults)",
    )
    parser.add_argument("--micro-seconds", type=float, default=20.0, help="audio per microbenchmark stream")
    parser.add_argument("--micro-streams", type=int, default=4, help="uplinks decoded in the microbenchmark")
    parser.add_argument(
        "--micro-sizes", type=ints, default=[2, 5, 10], help="meeting sizes for the mix bench"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="audio per e2e step")
    parser.add_argument(
        "--media-ladder", type=ints, default=[2, 4, 8, 12], help="attendees, no transcription"
    )
    parser.add_argument("--asr-ladder", type=ints, default=[2, 3, 4], help="attendees, transcribed meeting")
    parser.add_argument("--meeting-ladder", type=ints, default=[1, 2, 3], help="transcribed meetings")
    parser.add_argument(
        "--meeting-size", type=int, default=2, help="talking attendees per meeting (ladder 3)"
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    started = time.monotonic()
    print(f"bench/media.py  {time.strftime('%Y-%m-%d %H:%M')}  cpus {os.cpu_count()}  load {os.getloadavg()}")
    if "micro" in parts:
        run_micro(args.micro_seconds, args.micro_streams, args.micro_sizes)
    if "e2e" in parts:
        asyncio.run(run_e2e(args))
    if "video" in parts:
        subprocess.run([sys.executable, str(ROOT / "bench" / "video.py")], check=True)
    print(f"\ntotal {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
