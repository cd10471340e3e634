"""Speech engines behind one seam (``Engine``), the bundled-model resolver and the shared scheduler.

Heavy imports (faster-whisper, CTranslate2) happen only when a ``WhisperEngine`` is constructed.
"""

from parley.engine.base import DecodeRequest, Engine, Hypothesis, WordTiming
from parley.engine.bundled import ModelError, resolve_model
from parley.engine.scheduler import Backlog, Scheduler

__all__ = [
    "Backlog",
    "DecodeRequest",
    "Engine",
    "Hypothesis",
    "ModelError",
    "Scheduler",
    "WordTiming",
    "resolve_model",
]
