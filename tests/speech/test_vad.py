from __future__ import annotations

import numpy as np

from parley.streaming.vad import StreamingVad, VadConfig
from tests.speech.conftest import load_clip


def run(vad: StreamingVad, samples: np.ndarray, step: int) -> list[tuple[str, int]]:
    events = []
    for i in range(0, samples.shape[0], step):
        events += [(e.kind, e.sample) for e in vad.process(samples[i : i + step])]
    return events


def test_silence_has_no_speech(vad_model) -> None:
    vad = StreamingVad(vad_model)
    assert run(vad, np.zeros(16000 * 3, dtype=np.float32), 320) == []
    assert not vad.speaking
    assert vad.position == 16000 * 3


def test_two_sentences_give_two_utterances(vad_model) -> None:
    samples, _ = load_clip("en_gb_two")  # 0.4 s lead, sentence, 1.2 s pause, sentence, 0.8 s tail
    events = run(StreamingVad(vad_model, VadConfig(min_silence_s=0.5)), samples, 320)
    assert [k for k, _ in events] == ["start", "end", "start", "end"]
    starts = [s / 16000 for k, s in events if k == "start"]
    ends = [s / 16000 for k, s in events if k == "end"]
    assert 0.1 <= starts[0] <= 0.5
    assert ends[0] < starts[1] < ends[1] <= samples.shape[0] / 16000
    assert starts[1] - ends[0] > 0.5  # the 1.2 s pause minus padding


def test_state_carries_across_calls_whatever_the_chunking(vad_model) -> None:
    samples, _ = load_clip("en_us_budget")
    by_frame = run(StreamingVad(vad_model), samples, 320)  # 20 ms frames, never a whole 512 window
    by_second = run(StreamingVad(vad_model), samples, 16000)
    odd = run(StreamingVad(vad_model), samples, 777)
    assert by_frame == by_second == odd
    assert by_frame
    assert by_frame[0][0] == "start"


def test_longer_min_silence_merges_utterances(vad_model) -> None:
    samples, _ = load_clip("en_gb_two")
    events = run(StreamingVad(vad_model, VadConfig(min_silence_s=2.0)), samples, 320)
    assert [k for k, _ in events] == ["start"]  # the 0.8 s tail is not enough silence to close it either
