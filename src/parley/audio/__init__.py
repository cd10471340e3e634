"""Audio plumbing shared by the speech core: PCM16 conversion and a bounded ring buffer of samples."""

from parley.audio.frames import SAMPLE_RATE, RingBuffer, float32_to_pcm16, pcm16_to_float32

__all__ = ["SAMPLE_RATE", "RingBuffer", "float32_to_pcm16", "pcm16_to_float32"]
