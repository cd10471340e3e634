"""Speech fixtures: clips with reference texts, the VAD model, and the real engine loaded once per session."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "speech"


def load_clip(name: str) -> tuple[np.ndarray, str]:
    """16 kHz mono float32 samples and the reference text of a clip under tests/data/speech."""
    import av

    with av.open(str(DATA / f"{name}.flac")) as container:
        stream = container.streams.audio[0]
        assert stream.rate == 16000
        chunks = [frame.to_ndarray().reshape(-1) for frame in container.decode(stream)]
    samples = np.concatenate(chunks).astype(np.float32) / 32768.0
    return samples, (DATA / f"{name}.txt").read_text().strip()


def normalize_text(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]+", " ", text.casefold()).split())


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    return float(jiwer.wer(normalize_text(reference), normalize_text(hypothesis) or "<empty>"))


@pytest.fixture(scope="session")
def vad_model():
    from parley.streaming.vad import VadModel

    return VadModel()


@pytest.fixture(scope="session")
def model_dir(bundled_model: Path) -> Path:
    return bundled_model


@pytest.fixture(scope="session")
def whisper_engine(model_dir: Path) -> Iterator[object]:
    from parley.engine.whisper import WhisperEngine

    engine = WhisperEngine(model_dir, cpu_threads=2)
    yield engine
    engine.close()


async def run_stream(
    stream, samples: np.ndarray, *, speed: float = 1.0, frame: int = 320, flush: bool = True
):
    """Feed ``samples`` as PCM16 frames at ``speed`` × real time and collect every result, then close."""
    import asyncio
    import time

    from parley.audio.frames import float32_to_pcm16

    results = []

    async def consume() -> None:
        async for result in stream.results():
            results.append(result)

    consumer = asyncio.create_task(consume())
    t0 = time.monotonic()
    for i in range(0, samples.shape[0], frame):
        due = t0 + (i + frame) / 16000 / speed
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        stream.feed(float32_to_pcm16(samples[i : i + frame]))
    if flush:
        await stream.close()
        await consumer
    else:
        consumer.cancel()
    return results


def check_result_protocol(results) -> dict[str, list]:
    """Assert Transcribe's result protocol and return results grouped by ResultId (in arrival order).

    Per ResultId: zero or more partials, then exactly one final, nothing after it; items marked stable
    are never retracted or changed by a later result of the same ResultId.
    """
    groups: dict[str, list] = {}
    for r in results:
        groups.setdefault(r.result_id, []).append(r)
    for rid, rs in groups.items():
        assert [r.is_partial for r in rs] == [True] * (len(rs) - 1) + [False], (
            f"{rid}: bad partial/final order"
        )
        stable_before: list[tuple[str, str]] = []
        for r in rs:
            now = [(i.content, i.type) for i in r.items]
            assert now[: len(stable_before)] == stable_before, f"{rid}: stable items retracted"
            stable = [(i.content, i.type) for i in r.items if i.stable]
            assert r.items[: len(stable)] == [i for i in r.items if i.stable], "stable items must be a prefix"
            stable_before = stable
        # times are inside the result and ordered
        for r in rs:
            assert r.start_s <= r.end_s
            for a, b in zip(r.items, r.items[1:], strict=False):
                assert a.start_s <= b.start_s + 1e-6
    return groups
