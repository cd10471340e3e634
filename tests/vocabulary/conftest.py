"""A real server process (no speech model) for the vocabulary API tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from harness.server import ServerProcess, write_credentials


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("vocabulary")
    proc = ServerProcess(data_dir=root / "data", credentials=write_credentials(root / "credentials")).start()
    yield proc
    proc.stop()


@pytest.fixture
def transcribe(server: ServerProcess) -> Any:
    return server.client(service="transcribe")


@pytest.fixture
def chime(server: ServerProcess) -> Any:
    return server.client()
