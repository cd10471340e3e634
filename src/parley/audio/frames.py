"""PCM16 ↔ float32 helpers and a preallocated ring buffer addressed by absolute sample index.

Why a ring buffer: a live stream appends 20 ms frames for hours. Appending with ``np.concatenate`` copies the
whole buffer on every frame (quadratic work, unbounded memory); here memory is fixed at construction and every
write is at most two slice copies. Readers address audio by *absolute* sample index since the stream started,
so timestamps never need rebasing when old audio falls out of the window.
"""

from __future__ import annotations

import threading

import numpy as np

SAMPLE_RATE = 16000


def pcm16_to_float32(data: bytes | bytearray | memoryview) -> np.ndarray:
    """Little-endian signed 16-bit mono PCM → float32 in [-1, 1)."""
    if len(data) % 2:
        raise ValueError("PCM16 data must have an even number of bytes")
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def float32_to_pcm16(samples: np.ndarray) -> bytes:
    """float32 in [-1, 1] → little-endian PCM16 bytes (clipped)."""
    clipped = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 32767.0 / 32768.0)
    return (clipped * 32768.0).astype("<i2").tobytes()


class RingBuffer:
    """Fixed-capacity buffer of the most recent samples of one stream.

    ``write`` may be called from the event loop while a worker thread ``read``s a window, so both take a lock
    (the critical sections are a couple of memcpy's).
    """

    def __init__(self, capacity: int, dtype: np.dtype | type = np.float32) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self._buf = np.zeros(capacity, dtype=dtype)
        self._capacity = capacity
        self._end = 0  # absolute index one past the newest sample
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def end(self) -> int:
        """Absolute index one past the newest sample (= samples written so far)."""
        return self._end

    @property
    def start(self) -> int:
        """Absolute index of the oldest sample still held."""
        return max(0, self._end - self._capacity)

    def write(self, samples: np.ndarray) -> None:
        samples = np.asarray(samples, dtype=self._buf.dtype)
        n = samples.shape[0]
        if n == 0:
            return
        with self._lock:
            if n >= self._capacity:
                # Only the newest `capacity` samples can survive anyway.
                samples = samples[-self._capacity :]
                self._end += n - self._capacity
                n = self._capacity
            pos = self._end % self._capacity
            first = min(n, self._capacity - pos)
            self._buf[pos : pos + first] = samples[:first]
            if first < n:
                self._buf[: n - first] = samples[first:]
            self._end += n

    def read(self, start: int, end: int | None = None) -> np.ndarray:
        """A copy of samples [start, end) by absolute index; raises if they are no longer (or not yet) held."""
        with self._lock:
            stop = self._end if end is None else end
            if start < self.start or stop > self._end or start > stop:
                raise IndexError(
                    f"samples [{start}, {stop}) not held (buffer holds [{self.start}, {self._end}))"
                )
            out = np.empty(stop - start, dtype=self._buf.dtype)
            n = stop - start
            if n == 0:
                return out
            pos = start % self._capacity
            first = min(n, self._capacity - pos)
            out[:first] = self._buf[pos : pos + first]
            if first < n:
                out[first:] = self._buf[: n - first]
            return out
