"""Shared pieces for the PII tests: one detector per session (loading spaCy costs about a second). Results
built from plain text are in ``harness/pii_results.py``."""

from __future__ import annotations

import pytest

from parley.pii.detector import Detector


@pytest.fixture(scope="session")
def detector() -> Detector:
    from parley.pii.model import load_pipeline

    return Detector(load_pipeline())
