"""The real bundled model on short espeak-ng clips (tests/data/speech, references in the .txt files).

Bounds are normalized WER (lower-case, punctuation stripped). Synthetic voices are harder than real speech
for Whisper base (docs/speech.md), so bounds are loose enough for espeak-ng yet fail on garbage.
"""

from __future__ import annotations

import pytest

from parley.engine.base import DecodeRequest
from parley.engine.scheduler import Scheduler
from parley.streaming import AttendeeStream, StreamConfig
from tests.speech.conftest import check_result_protocol, load_clip, run_stream, wer

pytestmark = pytest.mark.model

OFFLINE_WER_BOUND = 0.15
STREAMING_WER_BOUND = 0.25


@pytest.fixture(scope="module")
def scheduler(whisper_engine):
    s = Scheduler(whisper_engine)
    yield s
    s.close()


@pytest.mark.parametrize("clip", ["en_us_budget", "en_gb_two"])
def test_offline_decode_recognizes_the_words(whisper_engine, clip: str) -> None:
    samples, reference = load_clip(clip)
    (hyp,) = whisper_engine.decode_batch([DecodeRequest(samples, language="en", beam_size=5, final=True)])
    assert wer(reference, hyp.text) <= OFFLINE_WER_BOUND, hyp.text
    duration = samples.shape[0] / 16000
    assert hyp.words
    for a, b in zip(hyp.words, hyp.words[1:], strict=False):
        assert a.start_s <= a.end_s <= b.start_s + 1e-6
    assert hyp.words[0].start_s >= 0
    assert hyp.words[-1].end_s <= duration
    assert all(0.0 < w.probability <= 1.0 for w in hyp.words)


def test_short_windows_are_batched_across_streams(whisper_engine) -> None:
    a, ref_a = load_clip("en_us_budget")
    b, _ = load_clip("en_gb_two")
    hyps = whisper_engine.decode_batch(
        [DecodeRequest(a, language="en", offset_s=10.0), DecodeRequest(b[: 16000 * 3], language="en")]
    )
    assert wer(ref_a, hyps[0].text) <= OFFLINE_WER_BOUND
    assert hyps[0].words[0].start_s >= 10.0  # offsets are applied per request
    assert wer("we should move the design meeting to next week", hyps[1].text) <= 0.25


async def test_streaming_partials_then_finals_with_stable_words(scheduler, vad_model) -> None:
    samples, reference = load_clip("en_gb_two")
    config = StreamConfig(
        language_code="en-GB", enable_partial_results_stabilization=True, partial_results_stability="high"
    )
    results = await run_stream(AttendeeStream(scheduler, vad_model, config), samples, speed=1.0)
    groups = check_result_protocol(results)
    assert len(groups) == 2  # two sentences separated by a 1.2 s pause
    finals = [rs[-1] for rs in groups.values()]
    transcript = " ".join(f.transcript for f in finals)
    assert wer(reference, transcript) <= STREAMING_WER_BOUND, transcript
    assert all(f.language_code == "en-GB" for f in finals)
    assert any(r.is_partial for r in results)
    assert any(i.stable for r in results if r.is_partial for i in r.items)
    # Final items of the stabilized stream are all stable and carry confidences.
    for f in finals:
        assert all(i.stable for i in f.items)
        assert all(i.confidence is not None for i in f.items if i.type == "pronunciation")


async def test_flush_mid_sentence_emits_a_final(scheduler, vad_model) -> None:
    samples, _ = load_clip("en_us_budget")
    stream = AttendeeStream(scheduler, vad_model, StreamConfig(language_code="en-US"))
    results = await run_stream(stream, samples[: int(16000 * 3.0)], speed=2.0)
    groups = check_result_protocol(results)
    assert len(groups) == 1
    final = next(iter(groups.values()))[-1]
    assert "budget" in final.transcript.lower()


@pytest.mark.parametrize(
    ("clip", "options", "expected"),
    [
        ("es_weather", ("en-US", "es-US", "de-DE"), "es-US"),
        ("de_meeting", ("en-US", "es-US", "de-DE"), "de-DE"),
        ("en_us_budget", ("fr-FR", "en-US"), "en-US"),
    ],
)
async def test_language_identification_among_options(scheduler, vad_model, clip, options, expected) -> None:
    samples, _ = load_clip(clip)
    config = StreamConfig(language_code=None, identify_language=True, language_options=options)
    results = await run_stream(AttendeeStream(scheduler, vad_model, config), samples, speed=2.0)
    check_result_protocol(results)
    final = [r for r in results if not r.is_partial][-1]
    assert final.language_code == expected
    scores = dict(final.language_identification)
    assert set(scores) == set(options)
    assert max(scores, key=scores.get) == expected
    assert sum(scores.values()) == pytest.approx(1.0, abs=1e-3)


async def test_identification_never_leaves_the_options(scheduler, vad_model) -> None:
    samples, _ = load_clip("de_meeting")  # German, but German is not an option
    config = StreamConfig(language_code=None, identify_language=True, language_options=("ja-JP", "ko-KR"))
    results = await run_stream(AttendeeStream(scheduler, vad_model, config), samples, speed=2.0)
    assert results
    assert {r.language_code for r in results} <= {"ja-JP", "ko-KR"}
    assert {c for r in results for c, _ in r.language_identification} <= {"ja-JP", "ko-KR"}
