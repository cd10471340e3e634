"""Stateful, streaming Silero VAD (the ONNX model bundled inside faster-whisper).

Why hand-written: faster-whisper's ``SileroVADModel.__call__`` and ``get_speech_timestamps`` start from zeroed
LSTM state and look at the whole clip at once, which is right for files but wrong for a live stream fed 20 ms
at a time. Here the LSTM state (h, c), the 64-sample context that Silero v5/v6 prepends to every 512-sample
window, and the not-yet-full window are carried between calls, so feeding 20 ms or 2 s chunks gives the same
decisions. One ``VadModel`` (one ONNX session; ``run`` is thread-safe) is shared by all streams; each stream owns a
cheap ``StreamingVad`` with its own state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from parley.audio.frames import SAMPLE_RATE

WINDOW = 512  # samples per Silero decision at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous window the v5/v6 model expects in front of each window


def default_vad_path() -> Path:
    from faster_whisper.utils import get_assets_path

    return Path(get_assets_path()) / "silero_vad_v6.onnx"


class VadModel:
    """The shared ONNX session. Construct once per process (the app owns it)."""

    def __init__(self, path: Path | None = None) -> None:
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        # One thread: a VAD step is ~0.1 ms of work, thread hand-off would cost more than it saves.
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.enable_cpu_mem_arena = False
        opts.log_severity_level = 4
        self.session = onnxruntime.InferenceSession(
            os.fspath(path or default_vad_path()), providers=["CPUExecutionProvider"], sess_options=opts
        )

    def run(
        self, windows: np.ndarray, h: np.ndarray, c: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``windows``: (n, CONTEXT + WINDOW) float32, processed in order; returns (probs[n], h, c)."""
        probs, h, c = self.session.run(None, {"input": windows, "h": h, "c": c})
        return np.asarray(probs, dtype=np.float32).reshape(-1), h, c


@dataclass(frozen=True, slots=True)
class VadEvent:
    kind: Literal["start", "end"]
    sample: int  # absolute sample index: speech onset (start) or end of speech incl. padding (end)


@dataclass(frozen=True, slots=True)
class VadConfig:
    threshold: float = 0.5
    neg_threshold: float | None = None  # default threshold - 0.15, as in Silero's own iterator
    min_silence_s: float = 0.5  # silence that ends an utterance (drives latency of the final result)
    speech_pad_s: float = 0.2  # audio kept before onset / after the last speech window


class StreamingVad:
    """Per-stream VAD state machine; ``process`` returns the onset/offset events found in the new samples."""

    def __init__(self, model: VadModel, config: VadConfig | None = None) -> None:
        self.model = model
        self.config = config or VadConfig()
        self._neg = (
            self.config.neg_threshold
            if self.config.neg_threshold is not None
            else max(0.01, self.config.threshold - 0.15)
        )
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._pending = np.zeros(WINDOW, dtype=np.float32)
        self._n_pending = 0
        self._pos = 0  # absolute sample index of the first pending sample
        self.speaking = False
        self._silence_start: int | None = None
        self.last_prob = 0.0
        self._pad = int(self.config.speech_pad_s * SAMPLE_RATE)
        self._min_silence = int(self.config.min_silence_s * SAMPLE_RATE)

    @property
    def silence_start(self) -> int | None:
        """Where the current run of non-speech inside an utterance began (absolute sample), if one is running:
        a pause too short to end the utterance, which the stream may still use to close a long result."""
        return self._silence_start if self.speaking else None

    @property
    def position(self) -> int:
        """Samples consumed so far (absolute index of the next sample)."""
        return self._pos + self._n_pending

    def process(self, samples: np.ndarray) -> list[VadEvent]:
        samples = np.asarray(samples, dtype=np.float32)
        events: list[VadEvent] = []
        i = 0
        n = samples.shape[0]
        # Complete the partial window left over from the previous call.
        if self._n_pending:
            take = min(WINDOW - self._n_pending, n)
            self._pending[self._n_pending : self._n_pending + take] = samples[:take]
            self._n_pending += take
            i = take
            if self._n_pending < WINDOW:
                return events
            self._run(self._pending[None, :].copy(), events)
            self._n_pending = 0
        full = (n - i) // WINDOW
        if full:
            self._run(samples[i : i + full * WINDOW].reshape(full, WINDOW), events)
            i += full * WINDOW
        rest = n - i
        if rest:
            self._pending[:rest] = samples[i:]
            self._n_pending = rest
        return events

    def _run(self, windows: np.ndarray, events: list[VadEvent]) -> None:
        count = windows.shape[0]
        batch = np.empty((count, CONTEXT + WINDOW), dtype=np.float32)
        batch[:, CONTEXT:] = windows
        batch[0, :CONTEXT] = self._context
        if count > 1:
            batch[1:, :CONTEXT] = windows[:-1, -CONTEXT:]
        self._context = windows[-1, -CONTEXT:].copy()
        probs, self._h, self._c = self.model.run(batch, self._h, self._c)
        for k, prob in enumerate(probs):
            self._decide(float(prob), self._pos + k * WINDOW, events)
        self._pos += count * WINDOW
        self.last_prob = float(probs[-1])

    def _decide(self, prob: float, at: int, events: list[VadEvent]) -> None:
        if prob >= self.config.threshold:
            self._silence_start = None
            if not self.speaking:
                self.speaking = True
                events.append(VadEvent("start", max(0, at - self._pad)))
        elif self.speaking and prob < self._neg:
            if self._silence_start is None:
                self._silence_start = at
            if at + WINDOW - self._silence_start >= self._min_silence:
                self.speaking = False
                events.append(VadEvent("end", self._silence_start + self._pad))
                self._silence_start = None
        elif self.speaking:
            # Between the two thresholds: neither confirms speech nor counts as silence (hysteresis).
            pass
