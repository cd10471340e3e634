"""Streaming uplink decode: real Opus WebM/Ogg made with PyAV at test time, fed in random-sized chunks."""

from __future__ import annotations

import gc
import io
import random
import threading
from pathlib import Path

import av
import numpy as np
import pytest

from parley.audio.decode import (
    AudioFormatError,
    ContainerDecoder,
    Decoder,
    PcmResampler,
    make_decoder,
)

SPEECH = Path(__file__).resolve().parent.parent / "data" / "speech" / "en_us_budget.flac"
RATE = 16000
SLACK = int(0.020 * RATE)  # ±20 ms


def speech_16k() -> np.ndarray:
    with av.open(str(SPEECH)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        frames = [f for frame in container.decode(stream) for f in resampler.resample(frame)]
        frames += resampler.resample(None)
    return np.concatenate([f.to_ndarray().reshape(-1) for f in frames])


def sweep(rate: int, seconds: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    freq = np.linspace(200.0, 3000.0, t.size)
    return (0.5 * 32767 * np.sin(2 * np.pi * np.cumsum(freq) / rate)).astype(np.int16)


def encode(pcm: np.ndarray, rate: int, container: str) -> bytes:
    """What MediaRecorder would send: a mono Opus (48 kHz) stream in a WebM or Ogg container."""
    out = io.BytesIO()
    with av.open(out, "w", format=container) as muxer:
        stream = muxer.add_stream("libopus", rate=48000, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            muxer.mux(packet)
        for packet in stream.encode(None):
            muxer.mux(packet)
    return out.getvalue()


def feed_chunked(decoder: Decoder, data: bytes, rng: random.Random, max_chunk: int = 64 * 1024) -> bytes:
    out: list[bytes] = []
    i = 0
    while i < len(data):
        # Mostly small frames, some large: 1 byte to 64 KiB.
        n = rng.randint(1, 64) if rng.random() < 0.5 else rng.randint(1, max_chunk)
        out.append(decoder.feed(data[i : i + n]))
        i += n
    out.append(decoder.flush())
    return b"".join(out)


def feed_all(decoder: Decoder, chunks: list[bytes]) -> None:
    for chunk in chunks:
        decoder.feed(chunk)


def pcm(data: bytes) -> np.ndarray:
    assert len(data) % 2 == 0
    return np.frombuffer(data, dtype="<i2").astype(np.float64)


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[int(np.argmax(spectrum))])


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return speech_16k()


@pytest.mark.parametrize("container", ["webm", "ogg"])
@pytest.mark.parametrize("source", ["speech", "sweep"])
def test_container_chunked_decode_matches_one_shot(container: str, source: str, speech: np.ndarray) -> None:
    audio = speech if source == "speech" else sweep(RATE, 3.0)
    data = encode(audio, RATE, container)
    one_shot_decoder = make_decoder(f"{container}-opus", None)
    one_shot = pcm(one_shot_decoder.feed(data) + one_shot_decoder.flush())
    for seed in range(3):
        chunked = pcm(feed_chunked(make_decoder(f"{container}-opus", None), data, random.Random(seed)))
        assert abs(chunked.size - one_shot.size) <= SLACK
        n = min(chunked.size, one_shot.size)
        assert np.corrcoef(chunked[:n], one_shot[:n])[0, 1] > 0.99
    # And both are the source audio: duration within 20 ms (+ the codec's padding) and a clear match.
    assert abs(one_shot.size - audio.size) <= SLACK + int(0.0065 * RATE)
    n = min(one_shot.size, audio.size)
    lag = best_lag(audio[:n].astype(np.float64), one_shot[:n])
    aligned = one_shot[lag:n] if lag >= 0 else np.concatenate([np.zeros(-lag), one_shot[: n + lag]])
    assert np.corrcoef(audio[: aligned.size].astype(np.float64), aligned)[0, 1] > 0.9


def best_lag(reference: np.ndarray, decoded: np.ndarray, max_lag: int = 800) -> int:
    """Codec delay compensation: the lag (samples) maximizing correlation over the first seconds."""
    ref = reference[: RATE * 2]
    best, best_c = 0, -2.0
    for lag in range(0, max_lag, 4):
        seg = decoded[lag : lag + ref.size]
        c = float(np.corrcoef(ref[: seg.size], seg)[0, 1])
        if c > best_c:
            best, best_c = lag, c
    return best


@pytest.mark.parametrize("container", ["webm", "ogg"])
def test_container_output_is_incremental(container: str, speech: np.ndarray) -> None:
    """Audio comes out while the stream is still arriving, not only at flush()."""
    data = encode(speech, RATE, container)
    decoder = make_decoder(container, None)
    first_half = b"".join(decoder.feed(data[i : i + 1000]) for i in range(0, len(data) // 2, 1000))
    assert len(first_half) // 2 > RATE  # > 1 s of the ~7.8 s clip before the second half was sent
    decoder.close()


@pytest.mark.parametrize("container", ["webm", "ogg"])
def test_truncated_stream_ends_without_hanging(container: str, speech: np.ndarray) -> None:
    data = encode(speech, RATE, container)
    full = make_decoder(container, None)
    full_len = len(full.feed(data) + full.flush())
    decoder = make_decoder(container, None)
    cut = data[: int(len(data) * 0.6)]
    got = feed_chunked(decoder, cut, random.Random(7))
    assert 0.3 * full_len < len(got) < 0.8 * full_len


@pytest.mark.parametrize("container", ["webm", "ogg"])
def test_truncated_header_is_an_error_not_a_hang(container: str, speech: np.ndarray) -> None:
    data = encode(speech, RATE, container)
    decoder = make_decoder(container, None)
    assert decoder.feed(data[:20]) == b""
    with pytest.raises(AudioFormatError):
        decoder.flush()


@pytest.mark.parametrize("container", ["webm", "ogg"])
@pytest.mark.parametrize(
    "garbage",
    [
        random.Random(3).randbytes(200_000),
        b"GET / HTTP/1.1\r\nHost: example\r\n\r\n" * 2000,
        b"\x00" * 100_000,
    ],
    ids=["random", "text", "zeros"],
)
def test_garbage_raises_audio_format_error(container: str, garbage: bytes) -> None:
    decoder = make_decoder(container, None)
    with pytest.raises(AudioFormatError):
        feed_chunked(decoder, garbage, random.Random(5))
    with pytest.raises(AudioFormatError):  # dead after an error, not resurrected by more input
        decoder.feed(b"more")


@pytest.mark.parametrize("container", ["webm", "ogg"])
def test_undecodable_bytes_are_capped(container: str, speech: np.ndarray) -> None:
    """A valid header followed by endless junk must not buffer or spin forever."""
    data = encode(speech, RATE, container)
    decoder = ContainerDecoder(container, max_undecoded=64 * 1024)  # type: ignore[arg-type]
    header = data[:200]
    decoder.feed(header)
    junk = random.Random(11).randbytes(1024)
    with pytest.raises(AudioFormatError):
        feed_all(decoder, [junk] * 2048)  # 2 MiB: far past the cap


def test_not_opus_is_rejected() -> None:
    out = io.BytesIO()
    with av.open(out, "w", format="ogg") as muxer:  # Ogg Vorbis: the right container, the wrong codec
        stream = muxer.add_stream("vorbis", rate=48000, layout="stereo")
        stream.codec_context.options = {"strict": "experimental"}
        tone = np.sin(np.linspace(0, 2 * np.pi * 440, 48000, dtype=np.float32))
        frame = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
        frame.sample_rate = 48000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            muxer.mux(packet)
    decoder = make_decoder("ogg", None)
    with pytest.raises(AudioFormatError, match="Opus"):
        feed_chunked(decoder, out.getvalue(), random.Random(1))


def test_close_and_drop_end_the_demuxer_thread(speech: np.ndarray) -> None:
    data = encode(speech, RATE, "webm")
    closed = ContainerDecoder("webm")
    closed.feed(data[: len(data) // 2])
    thread = closed._worker._thread
    assert thread is not None
    assert thread.is_alive()  # blocked waiting for more input
    closed.close()
    thread.join(10)
    assert not thread.is_alive()
    with pytest.raises(AudioFormatError):
        closed.feed(data[len(data) // 2 :])

    dropped = ContainerDecoder("webm")
    dropped.feed(data[: len(data) // 2])
    thread = dropped._worker._thread
    assert thread is not None
    assert thread.is_alive()
    del dropped
    gc.collect()
    thread.join(10)
    assert not thread.is_alive()
    assert not [t for t in threading.enumerate() if t is thread]


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
def test_pcm_resampled_to_16k_keeps_frequency_and_duration(rate: int) -> None:
    seconds, hz = 2.0, 440.0
    t = np.arange(int(rate * seconds)) / rate
    tone = (0.4 * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes()
    decoder = make_decoder("pcm16", rate)
    out = pcm(feed_chunked(decoder, tone, random.Random(rate), max_chunk=4097))
    assert abs(out.size - int(seconds * RATE)) <= SLACK
    assert abs(dominant_hz(out, RATE) - hz) < 2.0
    # Level preserved (no gain change), away from the filter's edges.
    middle = out[RATE // 4 : -RATE // 4]
    assert 0.35 * 32767 < np.sqrt(2 * np.mean(middle**2)) < 0.45 * 32767


def test_pcm_chunking_does_not_change_the_output() -> None:
    tone = sweep(44100, 1.0).tobytes()
    whole = PcmResampler(44100)
    reference = whole.feed(tone) + whole.flush()
    odd = PcmResampler(44100)
    pieces = b"".join(odd.feed(tone[i : i + 3]) for i in range(0, len(tone), 3)) + odd.flush()
    assert abs(len(pieces) - len(reference)) <= 2 * SLACK
    n = min(len(pieces), len(reference)) // 2
    assert np.corrcoef(pcm(pieces[: 2 * n]), pcm(reference[: 2 * n]))[0, 1] > 0.999


def test_pcm_16k_is_passthrough_across_odd_splits() -> None:
    data = sweep(RATE, 0.5).tobytes()
    decoder = PcmResampler(RATE)
    out = b"".join(decoder.feed(data[i : i + 7]) for i in range(0, len(data), 7)) + decoder.flush()
    assert out == data


def test_pcm_trailing_half_sample_is_dropped() -> None:
    decoder = PcmResampler(RATE)
    assert decoder.feed(b"\x01") == b""
    assert decoder.feed(b"\x02\x03") == b"\x01\x02"
    assert decoder.flush() == b""
    with pytest.raises(AudioFormatError):
        decoder.feed(b"\x00\x00")


@pytest.mark.parametrize(
    ("fmt", "rate", "kind"),
    [
        ("pcm16", 48000, PcmResampler),
        ("PCM16", 8000, PcmResampler),
        ("webm-opus", None, ContainerDecoder),
        ("ogg-opus", 48000, ContainerDecoder),
        ("audio/webm;codecs=opus", None, ContainerDecoder),
        ("audio/ogg; codecs=opus", None, ContainerDecoder),
    ],
)
def test_make_decoder_accepts(fmt: str, rate: int | None, kind: type) -> None:
    decoder = make_decoder(fmt, rate)
    assert isinstance(decoder, kind)
    decoder.close()


@pytest.mark.parametrize(
    ("fmt", "rate"),
    [
        ("pcm16", None),
        ("pcm16", 7999),
        ("pcm16", 48001),
        ("pcm16", 16000.0),
        ("pcm16", True),
        ("mp3", 44100),
        ("webm-vorbis", None),
        ("audio/webm;codecs=vorbis", None),
        ("ogg-opus", 96000),
        ("", None),
    ],
)
def test_make_decoder_rejects(fmt: str, rate: object) -> None:
    with pytest.raises(AudioFormatError):
        make_decoder(fmt, rate)  # type: ignore[arg-type]
