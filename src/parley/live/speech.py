"""The shared speech engine of a process: loaded once, in the background, so the API is up at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from parley.config import SpeechSettings
from parley.engine.scheduler import Scheduler
from parley.streaming.vad import VadModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Speech:
    scheduler: Scheduler
    vad: VadModel


class SpeechService:
    """Loads the model on a worker thread at start-up; transcription waits for ``ready()``."""

    def __init__(
        self,
        data_dir: Path,
        settings: SpeechSettings,
        on_decode: Callable[[str, float], None] | None = None,
    ) -> None:
        self._data_dir = data_dir
        self._settings = settings
        self._on_decode = on_decode
        self._task: asyncio.Task[Speech] | None = None

    @property
    def preload(self) -> bool:
        return self._settings.preload

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(asyncio.to_thread(self._load))

    async def ready(self) -> Speech:
        self.start()
        assert self._task is not None
        return await asyncio.shield(self._task)

    async def settled(self) -> None:
        """Wait until loading has finished, either way (a failure is reported by readiness and by ``ready``)."""
        self.start()
        assert self._task is not None
        await asyncio.wait([self._task])

    @property
    def failed(self) -> BaseException | None:
        """Why loading failed, once it has (readiness reports it)."""
        task = self._task
        if task is None or not task.done() or task.cancelled():
            return None
        return task.exception()

    def loaded(self) -> Speech | None:
        """The engine if it finished loading (None while loading or if loading failed)."""
        task = self._task
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return None
        return task.result()

    def _load(self) -> Speech:
        from parley.engine.bundled import resolve_model
        from parley.engine.whisper import WhisperEngine

        s = self._settings
        model_dir = resolve_model(self._data_dir, s.model_path)
        device = s.device
        if device == "auto":
            import ctranslate2

            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        # One scheduler worker per concurrent engine call (the engine's num_workers: one single-threaded worker
        # per core on a CPU, up to 4; one on a GPU), as bench/asr.py measures the speech core.
        engine = WhisperEngine(
            model_dir,
            device=device,
            compute_type=s.compute_type,
            cpu_threads=s.cpu_threads,
            num_workers=s.workers,
        )
        log.info("speech model loaded from %s (%d workers)", model_dir, engine.num_workers)
        return Speech(scheduler=Scheduler(engine, on_decode=self._on_decode), vad=VadModel())

    async def close(self) -> None:
        if self._task is None:
            return
        if not self._task.done():
            self._task.cancel()
            return
        if not self._task.cancelled() and self._task.exception() is None:
            speech = self._task.result()
            speech.scheduler.close()
            speech.scheduler.engine.close()
