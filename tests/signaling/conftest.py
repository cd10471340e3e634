"""Signaling fixtures: a server with the real bundled speech model, for transcription over WebRTC."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ServerProcess, write_credentials


@pytest.fixture(scope="module")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    from parley.engine.bundled import resolve_model

    root = tmp_path_factory.mktemp("signaling-live")
    model: Path = resolve_model(tmp_path_factory.mktemp("model-cache"), None)
    proc = ServerProcess(
        data_dir=root / "data",
        credentials=write_credentials(root / "credentials"),
        extra_args=["--model", str(model)],
        lazy_model=False,
    ).start(timeout=120)
    yield proc
    proc.stop()
