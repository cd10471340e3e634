"""The PII service runs detection on its own worker thread and withholds redacted partials; the spaCy
pipeline is refused unless its weights match the pinned digests."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from harness.pii_results import result_of
from parley.pii.detector import Finding
from parley.pii.model import DIGESTS, PiiModelError, pipeline_dir, verify
from parley.pii.service import PiiService
from parley.pii.settings import PII_TYPES, PiiSettings

ALL = frozenset(PII_TYPES)


class RecordingFinder:
    def __init__(self) -> None:
        self.threads: list[str] = []

    def find(self, text: str, types: frozenset[str]) -> list[Finding]:
        self.threads.append(threading.current_thread().name)
        start = text.index("Smith")
        return [Finding(start, start + 5, "NAME", 0.5)]


async def test_service_works_off_the_event_loop_and_withholds_redacted_partials() -> None:
    service = PiiService()
    finder = RecordingFinder()
    service._detector = finder  # type: ignore[assignment]  # no model needed to check the plumbing
    try:
        redact = PiiSettings("redact", "PII", ALL, "en-US")
        assert await service.apply(result_of("I am Smith.", partial=True), redact) is None
        identify = PiiSettings("identify", "PII", ALL, "en-US")
        partial = result_of("I am Smith.", partial=True)
        assert await service.apply(partial, identify) is partial
        assert finder.threads == []  # partials are never analysed
        final = await service.apply(result_of("I am Smith."), redact)
        assert final is not None
        assert final.alternatives[0].transcript == "I am [NAME]."
        assert finder.threads
        assert all(name.startswith("pii") for name in finder.threads)
        assert threading.current_thread().name not in finder.threads
    finally:
        service.close()


def test_installed_pipeline_verifies() -> None:
    verify(pipeline_dir())


def test_tampered_weights_are_refused(tmp_path: Path) -> None:
    for name in DIGESTS:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pipeline_dir() / name, tmp_path / name)
    verify(tmp_path)
    path = tmp_path / "ner" / "model"
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(PiiModelError, match="SHA-256"):
        verify(tmp_path)
    path.unlink()
    with pytest.raises(PiiModelError, match="missing"):
        verify(tmp_path)
