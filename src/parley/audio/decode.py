"""Attendee audio → PCM16 mono 16 kHz, incrementally (interim: PCM only; containers arrive next)."""

from __future__ import annotations

from typing import Protocol

import numpy as np

TARGET_RATE = 16000
MIN_RATE, MAX_RATE = 8000, 48000


class AudioFormatError(ValueError):
    """Audio that cannot be decoded, or a format/rate parley does not accept."""


class Decoder(Protocol):
    def feed(self, chunk: bytes) -> bytes: ...
    def flush(self) -> bytes: ...


class PcmResampler:
    """PCM16 LE mono at ``rate`` → 16 kHz, carrying odd bytes and filter state across calls."""

    def __init__(self, rate: int) -> None:
        if not MIN_RATE <= rate <= MAX_RATE:
            raise AudioFormatError(f"sampleRate must be between {MIN_RATE} and {MAX_RATE} Hz")
        self.rate = rate
        self._odd = b""
        self._stream = None
        if rate != TARGET_RATE:
            import soxr

            self._stream = soxr.ResampleStream(rate, TARGET_RATE, 1, dtype="int16")

    def feed(self, chunk: bytes) -> bytes:
        data = self._odd + chunk
        usable = len(data) - len(data) % 2
        self._odd = data[usable:]
        if self._stream is None:
            return data[:usable]
        samples = np.frombuffer(data[:usable], dtype="<i2")
        return self._stream.resample_chunk(samples).astype("<i2").tobytes()

    def flush(self) -> bytes:
        if self._stream is None:
            return b""
        return self._stream.resample_chunk(np.zeros(0, dtype="<i2"), last=True).astype("<i2").tobytes()


def make_decoder(fmt: str, sample_rate: int | None) -> Decoder:
    if fmt == "pcm16":
        if sample_rate is None:
            raise AudioFormatError("pcm16 needs a sampleRate")
        return PcmResampler(sample_rate)
    raise AudioFormatError(f"unsupported audio format {fmt!r}")
