"""Live-path fixtures: a server with the real bundled model, assembled once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ServerProcess, write_credentials


@pytest.fixture(scope="session")
def bundled_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from parley.engine.bundled import resolve_model

    return resolve_model(tmp_path_factory.mktemp("model-cache"), None)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory, bundled_model: Path) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("live")
    proc = ServerProcess(
        data_dir=root / "data",
        credentials=write_credentials(root / "credentials"),
        extra_args=["--model", str(bundled_model)],
        lazy_model=False,
    ).start()
    yield proc
    proc.stop()
