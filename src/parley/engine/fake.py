"""A scripted engine for fast, deterministic tests of the streaming and scheduling policy.

``FakeEngine(script)``: the script is the "true" word timeline of the audio (stream time). A decode of the
window [offset, offset + len(audio)) returns the script words that lie inside it and have been fully heard;
a word still being spoken at the window's end is returned as ``partial_guess(word)`` (a wrong guess), which is
what makes LocalAgreement wait. ``delay_s`` simulates inference time; every call is recorded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from parley.engine.base import DecodeRequest, Hypothesis, WordTiming

SAMPLE_RATE = 16000


@dataclass(slots=True)
class FakeCall:
    thread: str
    requests: list[DecodeRequest]
    started: float
    finished: float = 0.0


def _default_guess(word: str) -> str:
    return word[: max(1, len(word) // 2)] + "-"


@dataclass
class FakeEngine:
    script: Sequence[tuple[str, float, float]] = ()
    delay_s: float = 0.0
    language: str = "en"
    language_probs: dict[str, float] = field(default_factory=lambda: {"en": 0.9, "es": 0.06, "de": 0.04})
    partial_guess: Callable[[str], str] = _default_guess
    final_suffix: str = ""  # appended to the last word of finals ("." for punctuation tests)
    gate: threading.Event | None = None  # when set by a test, calls block until it is set
    calls: list[FakeCall] = field(default_factory=list)
    closed: bool = False

    def decode_batch(self, requests: Sequence[DecodeRequest]) -> list[Hypothesis]:
        call = FakeCall(threading.current_thread().name, list(requests), time.monotonic())
        self.calls.append(call)
        if self.gate is not None:
            self.gate.wait()
        if self.delay_s:
            time.sleep(self.delay_s)
        out = [self._decode(r) for r in requests]
        call.finished = time.monotonic()
        return out

    def _decode(self, req: DecodeRequest) -> Hypothesis:
        begin = req.offset_s
        end = begin + req.audio.shape[0] / SAMPLE_RATE
        words: list[WordTiming] = []
        for text, ws, we in self.script:
            if we <= begin + 0.05 or ws >= end:
                continue
            if we <= end or req.final:
                words.append(WordTiming(text, ws, min(we, end), 0.9))
            else:
                words.append(WordTiming(self.partial_guess(text), ws, end, 0.4))
                break
        if req.final and words and self.final_suffix:
            last = words[-1]
            words[-1] = WordTiming(last.text + self.final_suffix, last.start_s, last.end_s, last.probability)
        language = req.language or (
            max(req.language_options, key=lambda c: self.language_probs.get(c, 0.0))
            if req.language_options
            else self.language
        )
        return Hypothesis(
            words=words,
            text=" ".join(w.text for w in words),
            language=language,
            language_probs=dict(self.language_probs) if req.language is None else {},
            audio_s=end - begin,
        )

    def close(self) -> None:
        self.closed = True
