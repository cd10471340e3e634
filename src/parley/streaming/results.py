"""Recognition results in the shape of Amazon Transcribe streaming results (times in seconds from stream start).

The live pipeline converts these to the Chime ``SdkTranscriptResult`` (epoch milliseconds); keeping seconds
here keeps the speech core free of wall-clock concerns.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

ItemType = Literal["pronunciation", "punctuation"]
Stability = Literal["low", "medium", "high"]


@dataclass(slots=True)
class Item:
    content: str
    start_s: float
    end_s: float
    type: ItemType = "pronunciation"
    confidence: float | None = None
    stable: bool | None = None  # None unless EnablePartialResultsStabilization


@dataclass(slots=True)
class RecognitionResult:
    result_id: str
    is_partial: bool
    start_s: float
    end_s: float
    items: list[Item]
    transcript: str
    language_code: str | None = None
    language_identification: list[tuple[str, float]] = field(default_factory=list)


def new_result_id() -> str:
    return str(uuid.uuid4())


@dataclass(slots=True)
class StreamConfig:
    """Per-stream transcription settings, mirroring Chime's EngineTranscribeSettings."""

    language_code: str | None = "en-US"
    identify_language: bool = False
    language_options: tuple[str, ...] = ()
    preferred_language: str | None = None
    enable_partial_results_stabilization: bool = False
    partial_results_stability: Stability | None = None
    # Hooks for custom vocabularies (a later issue): passed through to the engine untouched.
    hotwords: str | None = None
    initial_prompt: str | None = None

    def __post_init__(self) -> None:
        from parley.streaming.languages import to_whisper

        self.language_options = tuple(self.language_options)
        if self.identify_language:
            if len(self.language_options) < 2:
                raise ValueError("identify_language needs at least two language_options")
            for code in self.language_options:
                to_whisper(code)
            if self.preferred_language is not None and self.preferred_language not in self.language_options:
                raise ValueError("preferred_language must be one of language_options")
        else:
            if self.language_code is None:
                raise ValueError("language_code is required unless identify_language is set")
            to_whisper(self.language_code)
        if self.partial_results_stability not in (None, "low", "medium", "high"):
            raise ValueError(f"bad partial_results_stability {self.partial_results_stability!r}")
