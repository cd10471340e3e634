"""The WebRTC media side of a Chime SDK session: uplink → 16 kHz PCM for transcription, downlink mix.

Chime's media model is one uplink and one server-mixed downlink per client (the SDK binds a single
remote audio stream), so each receiver gets one outbound track that sums what the other attendees send.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame

from parley.audio.decode import PcmResampler

log = logging.getLogger(__name__)

MIX_RATE = 48_000
MIX_SAMPLES = 960  # 20 ms, the Opus frame the browser sends
MAX_BUFFERED_SAMPLES = MIX_RATE // 2  # a sender more than 0.5 s ahead of the mix loses its oldest audio
# Standing delay: audio arrives and leaves a sender's queue at the same 20 ms pace, so whatever piled up (a sender
# that started before this downlink did, a burst after an uplink stall) would stay as added delay for good
# (bench/media.py measured standing queues of 20-160 ms). Every DRAIN_TICKS the part of a queue that never went
# below SLACK_SAMPLES during that window is dropped: persistent delay goes, transient jitter is kept.
DRAIN_TICKS = 50  # 1 s
SLACK_SAMPLES = MIX_SAMPLES  # queued audio kept as jitter slack


def downmix_s16(frame: AudioFrame) -> np.ndarray:
    """One decoded frame as mono int16 (aiortc's Opus decoder yields packed s16 stereo)."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if frame.format.name != "s16" and frame.format.name != "s16p":
        raise ValueError(f"unexpected decoded sample format {frame.format.name}")
    if channels == 1:
        return data.reshape(-1).astype(np.int16, copy=False)
    if frame.format.is_planar:
        mixed = data.astype(np.int32).mean(axis=0)
    else:
        mixed = data.reshape(-1, channels).astype(np.int32).mean(axis=1)
    return mixed.astype(np.int16)


class UplinkPcm:
    """Turn an attendee's decoded uplink into the 16 kHz mono PCM16 the transcription path takes."""

    def __init__(self) -> None:
        self._resampler: PcmResampler | None = None

    def convert(self, frame: AudioFrame) -> tuple[np.ndarray, bytes]:
        """(mono int16 at the frame's rate, 16 kHz PCM16 bytes)."""
        mono = downmix_s16(frame)
        if self._resampler is None or self._resampler.rate != frame.sample_rate:
            self._resampler = PcmResampler(frame.sample_rate)
        return mono, self._resampler.feed(mono.tobytes())


SILENT_VOLUME = 127  # AUDIO_METADATA volume: attenuation in dB, 127 is the quietest (reference §4.3)


def volume_from_dbov(dbov: float | None) -> int:
    """The SDK's ``volume`` (positive attenuation, ``dB = -volume``); None (no audio) is the quietest."""
    if dbov is None or not math.isfinite(dbov):
        return SILENT_VOLUME
    return max(0, min(SILENT_VOLUME, round(-dbov)))


class LevelMeter:
    """RMS of an attendee's decoded uplink since the last reading, in dBov (full scale 32768)."""

    def __init__(self) -> None:
        self._energy = 0.0
        self._samples = 0

    def add(self, samples: np.ndarray) -> None:
        values = samples.astype(np.float64)
        self._energy += float(np.dot(values, values))
        self._samples += len(values)

    def take(self) -> float | None:
        """dBov of what was added since the previous call (-inf for digital silence); None if nothing."""
        energy, count = self._energy, self._samples
        self._energy, self._samples = 0.0, 0
        if count == 0:
            return None
        rms = math.sqrt(energy / count)
        return 20 * math.log10(rms / 32768) if rms > 0 else -math.inf


class MixTrack(MediaStreamTrack):
    """One receiver's downlink: the sum of the other attendees' uplinks, paced at 20 ms; silence if none.

    Senders push 48 kHz mono int16 into per-sender buffers; ``recv`` takes 20 ms from each and adds them
    with saturation. Continuous audio (silence included) also keeps the client's "no packets" monitor quiet.
    """

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._sources: dict[str, np.ndarray] = {}
        self._lowest: dict[str, int] = {}  # per sender, the shortest queue after a tick in this drain window
        self._ticks = 0
        self._start: float | None = None
        self._timestamp = 0

    def push(self, sender: str, samples: np.ndarray, rate: int) -> None:
        if rate != MIX_RATE:
            return  # Opus always decodes at 48 kHz; anything else is not ours to mix
        buffered = self._sources.get(sender)
        joined = samples if buffered is None else np.concatenate((buffered, samples))
        self._sources[sender] = joined[-MAX_BUFFERED_SAMPLES:]

    def forget(self, sender: str) -> None:
        self._sources.pop(sender, None)
        self._lowest.pop(sender, None)

    def _mix(self) -> np.ndarray:
        total = np.zeros(MIX_SAMPLES, dtype=np.int32)
        lowest = self._lowest
        for sender, buffered in list(self._sources.items()):
            if len(buffered) < MIX_SAMPLES:
                lowest[sender] = 0
                continue  # not enough yet: this sender is silent in this frame
            total += buffered[:MIX_SAMPLES]
            rest = buffered[MIX_SAMPLES:]
            self._sources[sender] = rest
            lowest[sender] = min(lowest.get(sender, len(rest)), len(rest))
        self._ticks += 1
        if self._ticks % DRAIN_TICKS == 0:
            for sender, low in lowest.items():
                if low > SLACK_SAMPLES and sender in self._sources:
                    self._sources[sender] = self._sources[sender][low - SLACK_SAMPLES :]  # the oldest
            lowest.clear()
        return np.clip(total, -32768, 32767).astype(np.int16)

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            self._timestamp += MIX_SAMPLES
            wait = self._start + self._timestamp / MIX_RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        frame = AudioFrame.from_ndarray(self._mix().reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = MIX_RATE
        frame.pts = self._timestamp
        frame.time_base = fractions.Fraction(1, MIX_RATE)
        return frame


async def consume_uplink(track: MediaStreamTrack, on_frame: Callable[[AudioFrame], None], name: str) -> None:
    """Read a remote audio track until it ends, handing each decoded frame to ``on_frame``."""
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        try:
            on_frame(frame)  # type: ignore[arg-type]
        except Exception:
            log.exception("uplink frame of %s dropped", name)


class HostAddresses:
    """Restrict the ICE host candidates aiortc offers to one address (``--media-address``).

    aioice never offers loopback addresses, so on a loopback-only host nothing can connect; pointing it
    at ``127.0.0.1`` (with Chromium's ``--allow-loopback-in-peer-connection``) fixes that. aioice reads
    ``aioice.ice.get_host_addresses`` at gathering time, so the override is a wrapper installed for the
    server's lifetime and removed on shutdown.
    """

    def __init__(self, address: str | None) -> None:
        self.address = address
        self._original: Any = None

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        if self.address is None:
            yield
            return
        import aioice.ice

        original = aioice.ice.get_host_addresses
        address = self.address
        ipv6 = ":" in address

        def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
            return [address] if (use_ipv6 if ipv6 else use_ipv4) else []

        aioice.ice.get_host_addresses = get_host_addresses
        try:
            yield
        finally:
            aioice.ice.get_host_addresses = original
