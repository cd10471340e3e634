"""AttendeeStream with the real VAD and a scripted engine: the streaming protocol without the model."""

from __future__ import annotations

import numpy as np
import pytest

from parley.engine.fake import FakeEngine
from parley.engine.scheduler import Scheduler
from parley.streaming import AttendeeStream, StreamConfig, StreamPolicy
from parley.streaming.attendee_stream import WORD_EDGE_S
from tests.speech.conftest import check_result_protocol, load_clip, run_stream

SENTENCES = [
    (0.45, 2.85, "We should move the design meeting to next week."),
    (4.55, 7.45, "The team is still testing the new release on every platform."),
]


def script() -> list[tuple[str, float, float]]:
    words = []
    for start, end, text in SENTENCES:
        parts = text.split()
        step = (end - start) / len(parts)
        words += [(w, start + i * step, start + (i + 1) * step) for i, w in enumerate(parts)]
    return words


@pytest.fixture
def scheduler():
    s = Scheduler(FakeEngine(script=script(), delay_s=0.01))
    yield s
    s.close()


def stabilized(level: str | None = "high") -> StreamConfig:
    return StreamConfig(
        language_code="en-US", enable_partial_results_stabilization=True, partial_results_stability=level
    )


async def test_partials_then_one_final_per_utterance(scheduler, vad_model) -> None:
    samples, _ = load_clip("en_gb_two")
    stream = AttendeeStream(scheduler, vad_model, stabilized())
    results = await run_stream(stream, samples, speed=4.0)
    groups = check_result_protocol(results)
    finals = [rs[-1] for rs in groups.values()]
    assert [f.transcript for f in finals] == [t for _, _, t in SENTENCES]
    assert all(len(rs) > 1 for rs in groups.values()), "each utterance had partials before its final"
    # Items: words are pronunciations with confidence, the trailing "." a punctuation item without.
    last = finals[0].items[-1]
    assert (last.content, last.type, last.confidence) == (".", "punctuation", None)
    assert all(i.confidence is not None for i in finals[0].items if i.type == "pronunciation")
    assert finals[0].language_code == "en-US"
    assert finals[0].language_identification == []
    assert finals[0].start_s < 0.5 < finals[0].end_s <= 3.2 < finals[1].start_s


async def test_stable_flags_only_with_stabilization(scheduler, vad_model) -> None:
    samples, _ = load_clip("en_gb_two")
    plain = await run_stream(AttendeeStream(scheduler, vad_model, StreamConfig()), samples, speed=4.0)
    assert plain
    assert all(i.stable is None for r in plain for i in r.items)
    stable = await run_stream(AttendeeStream(scheduler, vad_model, stabilized()), samples, speed=4.0)
    partial_flags = [i.stable for r in stable if r.is_partial for i in r.items]
    assert True in partial_flags
    assert False in partial_flags


async def test_lower_stability_commits_later(vad_model) -> None:
    samples, _ = load_clip("en_gb_two")

    # Count how many words were stable in partials (before the final) at each level.
    async def stable_in_partials(level: str) -> int:
        sched = Scheduler(FakeEngine(script=script()))
        try:
            stream = AttendeeStream(sched, vad_model, stabilized(level), StreamPolicy(partial_step_s=0.3))
            results = await run_stream(stream, samples[: 16000 * 3], speed=2.0)
        finally:
            sched.close()
        return max((sum(1 for i in r.items if i.stable) for r in results if r.is_partial), default=0)

    high, low = await stable_in_partials("high"), await stable_in_partials("low")
    assert high > low


async def test_flush_finalizes_the_utterance_in_flight(scheduler, vad_model) -> None:
    samples, _ = load_clip("en_gb_two")
    stream = AttendeeStream(scheduler, vad_model, stabilized())
    results = await run_stream(stream, samples[: int(16000 * 2.0)], speed=4.0)  # cut mid-sentence
    groups = check_result_protocol(results)
    assert len(groups) == 1
    final = next(iter(groups.values()))[-1]
    assert not final.is_partial
    assert final.transcript.startswith("We should move")


async def test_silence_produces_nothing(scheduler, vad_model) -> None:
    stream = AttendeeStream(scheduler, vad_model, stabilized())
    assert await run_stream(stream, np.zeros(16000 * 2, dtype=np.float32), speed=8.0) == []


async def test_long_speech_is_split_into_bounded_utterances(vad_model) -> None:
    samples, _ = load_clip("en_gb_two")
    continuous = np.concatenate([samples[int(0.4 * 16000) : int(2.9 * 16000)]] * 6)  # 15 s, no pauses
    words = [(f"w{i}", 0.05 + i * 0.3, 0.05 + (i + 1) * 0.3) for i in range(49)]
    sched = Scheduler(FakeEngine(script=words))
    try:
        policy = StreamPolicy(max_utterance_s=5.0, buffer_s=8.0)
        results = await run_stream(
            AttendeeStream(sched, vad_model, stabilized(), policy), continuous, speed=6.0
        )
    finally:
        sched.close()
    groups = check_result_protocol(results)
    finals = [rs[-1] for rs in groups.values()]
    assert len(finals) >= 3
    assert all(f.end_s - f.start_s <= 5.5 for f in finals)
    # Nothing lost or duplicated across the cuts.
    said = [i.content for f in finals for i in f.items]
    assert said == [w for w, _, end in words if end <= continuous.shape[0] / 16000 - 0.05][: len(said)]
    assert len(said) >= 40


async def test_feed_after_close_is_an_error(scheduler, vad_model) -> None:
    stream = AttendeeStream(scheduler, vad_model, stabilized())
    await stream.close()
    with pytest.raises(RuntimeError, match="closed"):
        stream.feed(b"\x00\x00" * 320)


async def test_language_identification_picks_among_options(scheduler, vad_model) -> None:
    samples, _ = load_clip("en_gb_two")
    config = StreamConfig(
        language_code=None,
        identify_language=True,
        language_options=("es-US", "de-DE"),
        preferred_language="de-DE",
    )
    results = await run_stream(AttendeeStream(scheduler, vad_model, config), samples, speed=4.0)
    final = [r for r in results if not r.is_partial][-1]
    # The fake says en 0.9, es 0.06, de 0.04: English is not an option, so Spanish wins.
    assert final.language_code == "es-US"
    codes = [c for c, _ in final.language_identification]
    assert codes == ["es-US", "de-DE"]
    assert sum(s for _, s in final.language_identification) == pytest.approx(1.0, abs=1e-3)


def test_stream_config_validation() -> None:
    with pytest.raises(ValueError, match="two"):
        StreamConfig(language_code=None, identify_language=True, language_options=("en-US",))
    with pytest.raises(ValueError, match="unsupported"):
        StreamConfig(language_code="xx-XX")
    with pytest.raises(ValueError, match="preferred"):
        StreamConfig(
            language_code=None,
            identify_language=True,
            language_options=("en-US", "de-DE"),
            preferred_language="fr-FR",
        )


async def test_the_previous_final_text_prompts_finals_only_when_asked(vad_model) -> None:
    samples, _ = load_clip("en_gb_two")

    async def requests(policy: StreamPolicy) -> list:
        engine = FakeEngine(script=script())
        sched = Scheduler(engine)
        try:
            await run_stream(AttendeeStream(sched, vad_model, stabilized(), policy), samples, speed=4.0)
        finally:
            sched.close()
        return [r for c in engine.calls for r in c.requests]

    def second(reqs: list) -> list:
        return [r for r in reqs if r.offset_s > 4.0]

    # Off by default: on real speech the prompt carried errors forward (docs/speech.md).
    reqs = await requests(StreamPolicy())
    assert [r.context for r in second(reqs) if r.final] == [None]

    reqs = await requests(StreamPolicy(condition_on_previous=True))
    finals = [r for r in second(reqs) if r.final]
    assert len(finals) == 1
    assert finals[0].context == SENTENCES[0][2]  # the final of the first sentence
    assert all(
        r.context is None for r in second(reqs) if not r.final
    )  # greedy partials: no prompt by default
    first = [r for r in reqs if r.offset_s + r.audio.shape[0] / 16000 < 3.5]
    assert first
    assert all(r.context is None for r in first)

    reqs = await requests(StreamPolicy(condition_on_previous=True, condition_partials=True))
    assert second(reqs)
    assert all(r.context == SENTENCES[0][2] for r in second(reqs))

    # The prompt can be switched off (ablation).
    reqs = await requests(StreamPolicy(condition_on_previous=False, condition_partials=True))
    assert all(r.context is None for r in reqs)


class _Pressure:
    """Stands in for the scheduler where only its load matters."""

    def __init__(self, value: float) -> None:
        self.value = value

    def pressure(self) -> float:
        return self.value


def test_partial_step_adapts_to_scheduler_pressure(vad_model) -> None:
    policy = StreamPolicy(partial_step_s=0.5, partial_step_min_s=0.3, partial_step_max_s=1.2)
    load = _Pressure(0.0)
    stream = AttendeeStream(load, vad_model, stabilized(), policy)  # type: ignore[arg-type]
    assert stream._step() == 0.3  # an idle worker: decode often
    load.value = 1.0
    assert stream._step() == 0.5
    load.value = 2.0
    assert stream._step() == 1.0  # twice as many jobs as workers: half as many requests
    load.value = 10.0
    assert stream._step() == 1.2
    fixed = AttendeeStream(load, vad_model, stabilized(), StreamPolicy(adaptive_step=False))  # type: ignore[arg-type]
    assert fixed._step() == 0.5


async def test_partials_use_beam_search_only_while_the_engine_has_room(vad_model) -> None:
    """The beam of a partial is chosen when a worker builds it: beam 5 while at most half a job per worker is
    queued or running (this one included), greedy above that; finals are beam 5 either way."""
    samples, _ = load_clip("en_gb_two")

    async def beams(workers: int) -> tuple[set[int], set[int]]:
        engine = FakeEngine(script=script())
        sched = Scheduler(engine, workers=workers)
        try:
            await run_stream(
                AttendeeStream(sched, vad_model, stabilized(), StreamPolicy()), samples, speed=4.0
            )
        finally:
            sched.close()
        reqs = [r for c in engine.calls for r in c.requests]
        return {r.beam_size for r in reqs if not r.final}, {r.beam_size for r in reqs if r.final}

    # Two workers, one stream: its own partial is half a job per worker, so every partial has room.
    assert await beams(2) == ({5}, {5})
    # One worker: a partial's own job is already a full worker's load, so partials stay greedy.
    assert await beams(1) == ({1}, {5})


def test_a_forced_cut_never_falls_inside_a_heard_word(vad_model) -> None:
    """At max_utterance_s the cut goes to the quietest 10 ms of the last two seconds, but not inside a word the
    latest hypothesis aligned (a quiet stop consonant in "view|est" was chosen once, and both halves were lost)."""
    stream = AttendeeStream(_Pressure(0.0), vad_model, stabilized(), StreamPolicy())  # type: ignore[arg-type]
    t = np.arange(32000) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    audio[8000:8160] = 0.0  # the quietest 10 ms, at 0.5 s: inside a word heard from 0.3 to 0.8 s
    audio[20000:20160] = 0.01  # the next quietest, at 1.25 s: between words
    stream._ring.write(audio)
    assert abs(stream._quietest(0.0, 2.0) - 8080) <= 160
    cut = stream._quietest(0.0, 2.0, avoid=[(0.3 + WORD_EDGE_S, 0.8 - WORD_EDGE_S)])
    assert abs(cut - 20080) <= 160
    # Inside words everywhere: the quietest point after all (a cut is needed).
    assert abs(stream._quietest(0.0, 2.0, avoid=[(0.0, 2.0)]) - 8080) <= 160
