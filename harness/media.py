"""A WebRTC peer for tests that behaves like the SDK's audio transceiver: one sendrecv Opus m-line,
a full non-trickle offer carried in SUBSCRIBE, the answer taken from SUBSCRIBE_ACK."""

from __future__ import annotations

import asyncio
import fractions
import time
from pathlib import Path
from typing import Any

import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from av import AudioFrame

from harness.signaling import SignalingClient, frame
from parley.proto import chime_signaling_pb2 as pb

RATE = 48_000
SAMPLES = 960
SPEECH = Path(__file__).resolve().parents[1] / "tests" / "data" / "speech"


def clip_48k(name: str) -> np.ndarray:
    """A test clip as 48 kHz mono int16 (what a browser microphone would send)."""
    import av

    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    chunks: list[np.ndarray] = []
    with av.open(str(SPEECH / f"{name}.flac")) as container:
        for f in container.decode(container.streams.audio[0]):
            chunks += [r.to_ndarray().reshape(-1) for r in resampler.resample(f)]
        chunks += [r.to_ndarray().reshape(-1) for r in resampler.resample(None)]
    return np.concatenate(chunks).astype(np.int16)


def devset_48k(name: str) -> np.ndarray:
    """A real-speech development-set clip (harness/devset.py) as 48 kHz mono int16."""
    import soxr

    from harness.devset import load_clip_samples

    samples, _reference = load_clip_samples(name)  # float32, 16 kHz
    upsampled = soxr.resample(samples, 16_000, RATE, quality="HQ")
    return np.round(np.clip(upsampled, -1.0, 1.0) * 32767).astype(np.int16)


def tone(seconds: float, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (np.sin(2 * np.pi * hz * t) * 12000).astype(np.int16)


class PcmTrack(MediaStreamTrack):
    """Plays ``samples`` in real time (20 ms frames), then silence."""

    kind = "audio"

    def __init__(self, samples: np.ndarray) -> None:
        super().__init__()
        self.samples = samples
        self._start: float | None = None
        self._pos = 0

    async def recv(self) -> AudioFrame:
        if self._start is None:
            self._start = time.time()
        else:
            wait = self._start + self._pos / RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        chunk = self.samples[self._pos : self._pos + SAMPLES]
        if len(chunk) < SAMPLES:
            chunk = np.concatenate([chunk, np.zeros(SAMPLES - len(chunk), dtype=np.int16)])
        out = AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        out.sample_rate = RATE
        out.pts = self._pos
        out.time_base = fractions.Fraction(1, RATE)
        self._pos += SAMPLES
        return out


class MediaPeer:
    """The client's peer connection; ``loudest`` tracks the largest sample heard on the downlink."""

    def __init__(self, samples: np.ndarray, configuration: RTCConfiguration | None = None) -> None:
        self.pc = RTCPeerConnection(configuration)
        self.pc.addTransceiver(PcmTrack(samples), direction="sendrecv")
        self.loudest = 0
        self.heard = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

        @self.pc.on("track")
        def on_track(track: Any) -> None:
            self._tasks.append(asyncio.get_running_loop().create_task(self._listen(track)))

    async def _listen(self, track: Any) -> None:
        while True:
            try:
                received = await track.recv()
            except Exception:
                return
            self.loudest = max(self.loudest, int(np.abs(received.to_ndarray().astype(np.int32)).max()))
            if self.loudest > 1000:
                self.heard.set()

    async def subscribe(self, client: SignalingClient, attendee_id: str) -> Any:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        sub = frame(
            pb.SdkSignalFrame.SUBSCRIBE,
            "sub",
            duplex=pb.RX,
            sdp_offer=self.pc.localDescription.sdp,
            audio_host="127.0.0.1:3478",
            audio_checkin=False,
            audio_muted=False,
        )
        sub.sub.send_streams.add(
            media_type=pb.AUDIO, track_label="AmazonChimeExpressAudio", stream_id=1, group_id=1,
            attendee_id=attendee_id,
        )  # fmt: skip
        sub.sub.receive_stream_ids.append(0)
        await client.send(sub)
        ack = await client.recv_type(pb.SdkSignalFrame.SUBSCRIBE_ACK)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=ack.suback.sdp_answer, type="answer"))
        return ack

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()
