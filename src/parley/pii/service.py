"""The process's PII engine: built once, lazily, on a worker thread, and shared by every meeting.

Loading spaCy and Presidio costs about a second and analysing a final result tens of milliseconds of CPU,
so neither may run on the event loop. One single-threaded executor does both: the first job builds the
detector, later jobs reuse it, and spaCy is never called from two threads at once.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from parley.pii.apply import apply_pii, withheld
from parley.pii.detector import Detector
from parley.pii.settings import PiiSettings
from parley.transcripts.events import TranscriptResult

log = logging.getLogger(__name__)


class PiiService:
    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pii")
        self._detector: Detector | None = None

    def _load(self) -> Detector:
        if self._detector is None:
            from parley.pii.model import load_pipeline

            self._detector = Detector(load_pipeline())
            log.info("PII detector loaded")
        return self._detector

    def warm(self) -> None:
        """Start loading now (a transcription with PII began), so the first final result does not wait."""
        if self._detector is None:
            self._executor.submit(self._load)

    async def apply(self, result: TranscriptResult, settings: PiiSettings) -> TranscriptResult | None:
        """The result to store and send, or None if it must not be sent (a partial under redaction)."""
        if withheld(result, settings):
            return None
        if result.is_partial or not settings.applies_to(result.language_code):
            return result
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._apply, result, settings)

    def _apply(self, result: TranscriptResult, settings: PiiSettings) -> TranscriptResult:
        return apply_pii(result, settings, self._load())

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
