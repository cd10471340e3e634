from __future__ import annotations

import numpy as np
import pytest

from parley.audio.frames import RingBuffer, float32_to_pcm16, pcm16_to_float32


def test_pcm16_round_trip() -> None:
    samples = np.array([0.0, 0.5, -0.5, -1.0, 0.999], dtype=np.float32)
    back = pcm16_to_float32(float32_to_pcm16(samples))
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, samples, atol=1 / 32768)


def test_pcm16_rejects_odd_length() -> None:
    with pytest.raises(ValueError, match="even"):
        pcm16_to_float32(b"\x00\x01\x02")


def test_ring_buffer_wraps_and_keeps_absolute_indices() -> None:
    ring = RingBuffer(10)
    data = np.arange(25, dtype=np.float32)
    for start in range(0, 25, 3):  # writes straddle the wrap point
        ring.write(data[start : start + 3])
    assert ring.end == 25
    assert ring.start == 15
    np.testing.assert_array_equal(ring.read(15, 25), data[15:25])
    np.testing.assert_array_equal(ring.read(18, 21), data[18:21])
    with pytest.raises(IndexError):
        ring.read(14, 20)  # fell out of the buffer
    with pytest.raises(IndexError):
        ring.read(20, 26)  # not written yet


def test_ring_buffer_oversized_write_keeps_newest() -> None:
    ring = RingBuffer(4)
    ring.write(np.arange(3, dtype=np.float32))
    ring.write(np.arange(10, 20, dtype=np.float32))
    assert ring.end == 13
    np.testing.assert_array_equal(ring.read(9, 13), [16, 17, 18, 19])


def test_ring_buffer_memory_is_bounded() -> None:
    ring = RingBuffer(1600)
    before = ring._buf  # the one preallocated array
    for _ in range(1000):
        ring.write(np.ones(320, dtype=np.float32))
    assert ring._buf is before
    assert ring._buf.shape == (1600,)
    assert ring.read(ring.start).shape == (1600,)
