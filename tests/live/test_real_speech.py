"""Real human speech through the real server: the audio socket, the bundled model, boto3 Start/Stop.

The proof of accuracy is on recordings of people (harness/devset.py: LibriVox readers, JFK's inaugural
address, spoken playing cards), never on synthesized speech. Each clip's live final text is compared with offline
Whisper base (faster-whisper ``transcribe``, 30 s windows, beam 5) on the same audio, the reference for what the
model can do. The bench (bench/asr.py --real) measures the tighter targets on the whole set in real time.

Bounds: a clip's live WER may exceed the offline WER by at most ``CLIP_MARGIN`` (15 points: one word in seven;
the cards clip is seven isolated 1-2 s phrases, and without the context a 30 s offline window gives, Whisper base
hears "clubs" as "clothes" in two or three of them) and the clips together by at most ``SET_MARGIN``. These are
regression bounds for the suite; the targets (streaming ≤ offline + 1.5 points) are measured by the bench and
recorded in docs/benchmarks.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.attendee import transcribe_clip
from harness.devset import Clip, load_clip, normalize_words, wer
from harness.server import ServerProcess
from parley.audio.frames import float32_to_pcm16
from parley.streaming import StreamPolicy

pytestmark = pytest.mark.model

CLIP_MARGIN = 0.15
SET_MARGIN = 0.08
#: clips streamed in make test (about 50 s of speech); bench/asr.py --real runs the whole set
CLIPS = ("jfk", "cards", "austen")
#: the audio socket is fed at this multiple of real time: finals never depend on the feed rate (the scheduler
#: never drops them), partials only become rarer — the test measures accuracy, not latency
SPEED = 2.0

CONFIGS = {
    "high": {
        "EngineTranscribeSettings": {
            "LanguageCode": "en-US",
            "EnablePartialResultsStabilization": True,
            "PartialResultsStability": "high",
        }
    },
    "off": {"EngineTranscribeSettings": {"LanguageCode": "en-US"}},
}


@pytest.fixture(scope="module")
def offline_text(bundled_model: Path) -> dict[str, str]:
    """Offline Whisper base on each whole clip: what the same model does with all the audio at once."""
    from faster_whisper import WhisperModel

    model = WhisperModel(str(bundled_model), device="cpu", compute_type="int8", cpu_threads=2)
    out = {}
    for name in CLIPS:
        segments, _ = model.transcribe(load_clip(name).samples, language="en", beam_size=5)
        out[name] = " ".join(s.text for s in segments)
    return out


async def speak(server: ServerProcess, clip: Clip, configuration: dict[str, Any]) -> list[dict[str, Any]]:
    """One speaker says ``clip`` into a fresh meeting; every result a listener received, in order."""
    pcm = float32_to_pcm16(clip.samples)
    return await transcribe_clip(server, pcm, configuration, trailing_silence_s=2.0, speed=SPEED)


def doubled(words: list[str], reference: list[str]) -> list[str]:
    """k-grams (k ≤ 3) said twice in a row in ``words`` but never in ``reference``: a re-emitted tail."""

    def pairs(seq: list[str]) -> set[tuple[str, ...]]:
        return {
            tuple(seq[i : i + k])
            for k in (1, 2, 3)
            for i in range(len(seq) - 2 * k + 1)
            if seq[i : i + k] == seq[i + k : i + 2 * k]
        }

    return [" ".join(g) for g in sorted(pairs(words) - pairs(reference))]


@pytest.mark.parametrize("level", ["high", "off"])
async def test_real_speech_matches_offline_whisper(
    model_server: ServerProcess, offline_text: dict[str, str], level: str
) -> None:
    limit = StreamPolicy().max_utterance_s
    live_total = offline_total = 0.0
    for name in CLIPS:
        clip = load_clip(name)
        results = await speak(model_server, clip, CONFIGS[level])
        finals = [r for r in results if not r["isPartial"]]
        text = " ".join(r["alternatives"][0]["transcript"] for r in finals)
        assert finals, f"{name}: nothing transcribed"
        live, offline = wer(clip.reference, text), wer(clip.reference, offline_text[name])
        assert live <= offline + CLIP_MARGIN, (
            f"{name} [{level}]: live {live:.1%} vs offline {offline:.1%}: {text}"
        )
        live_total += live * len(normalize_words(clip.reference))
        offline_total += offline * len(normalize_words(clip.reference))
        # No word emitted twice: neither a result's tail again at the head of the next, nor after silence.
        said = normalize_words(text)
        assert not doubled(said, normalize_words(clip.reference)), (
            f"{name}: repeated {doubled(said, said)}: {text}"
        )
        # Bounded results.
        for r in finals:
            assert r["endTimeMs"] - r["startTimeMs"] <= limit * 1000 + 50, (
                f"{name}: a {r} longer than {limit} s"
            )
    words = sum(len(normalize_words(load_clip(n).reference)) for n in CLIPS)
    assert live_total / words <= offline_total / words + SET_MARGIN, (
        live_total / words,
        offline_total / words,
    )


async def test_repeated_phrases_survive(model_server: ServerProcess) -> None:
    """JFK repeats "your country can do for you" / "you can do for your country"; the cards clip says "five
    five". Every repeat must come out, in partials (what people read live) and in finals."""
    for name, phrases in (
        ("jfk", ["ask not what your country can do for you", "ask what you can do for your country"]),
        ("cards", ["five five"]),
    ):
        results = await speak(model_server, load_clip(name), CONFIGS["high"])
        finals = " ".join(
            normalize_words(
                " ".join(r["alternatives"][0]["transcript"] for r in results if not r["isPartial"])
            )
        )
        for phrase in phrases:
            # "ask" is the word Whisper base most often hears as "is" in a live window: allow that one word
            wanted = " ".join(normalize_words(phrase))
            assert wanted in finals or wanted.replace("ask ", "", 1) in finals, (
                f"{name}: {phrase!r} lost: {finals}"
            )


async def test_a_digit_string_is_transcribed_in_full(model_server: ServerProcess) -> None:
    """Counting-like speech (a real TIDIGITS speaker: "two nine three four zero") loses no digit: number
    sequences are what an n-gram loop cut or an over-eager tail-loop check would eat."""
    clip = load_clip("digits")
    results = await speak(model_server, clip, CONFIGS["high"])
    finals = " ".join(r["alternatives"][0]["transcript"] for r in results if not r["isPartial"])
    assert normalize_words(finals) == normalize_words(clip.reference or ""), finals
