"""The engine seam: what the streaming core asks of a speech model, and what it gets back.

The scheduler batches ``DecodeRequest``s from many attendees into one ``Engine.decode_batch`` call made on a
worker thread; engines are therefore called from one thread at a time per worker and never from the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(slots=True)
class DecodeRequest:
    audio: np.ndarray  # float32 mono 16 kHz, the window to decode
    offset_s: float = 0.0  # stream time of audio[0]; added to every word time
    language: str | None = None  # Whisper code ("en"); None → detect
    language_options: tuple[str, ...] = ()  # Whisper codes detection may choose from (empty: any)
    beam_size: int = 1
    context: str | None = None  # previous text (Whisper's <|startofprev|> prompt)
    initial_prompt: str | None = None
    hotwords: str | None = None
    final: bool = False  # a final (careful) decode; the scheduler never drops these
    min_window_s: float = 0.0  # pad the encoder window to at least this (30.0 = Whisper's full window)


@dataclass(slots=True)
class WordTiming:
    text: str  # may carry attached punctuation, e.g. "afternoon,"
    start_s: float  # stream time
    end_s: float
    probability: float


@dataclass(slots=True)
class Hypothesis:
    words: list[WordTiming]
    text: str
    language: str | None  # Whisper code used for decoding
    language_probs: dict[str, float] = field(
        default_factory=dict
    )  # Whisper code → probability (when detected)
    no_speech_prob: float = 0.0
    avg_logprob: float = 0.0
    audio_s: float = 0.0  # seconds of audio decoded (excluding padding)


@runtime_checkable
class Engine(Protocol):
    def decode_batch(self, requests: Sequence[DecodeRequest]) -> list[Hypothesis]:
        """Decode every request; results in the same order. Called from a worker thread."""
        ...

    def close(self) -> None: ...
