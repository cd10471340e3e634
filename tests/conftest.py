"""Shared fixtures: real parley server processes (one with the speech model per session, API-only ones per
test module), and boto3 clients for them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.server import ServerProcess, start_model_server, write_credentials


@pytest.fixture(scope="session")
def bundled_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled Whisper model, assembled and verified once per test session."""
    from parley.engine.bundled import resolve_model

    return resolve_model(tmp_path_factory.mktemp("model-cache"), None)


@pytest.fixture(scope="session")
def model_server(tmp_path_factory: pytest.TempPathFactory, bundled_model: Path) -> Iterator[ServerProcess]:
    """A real server with the real speech model loaded at start, shared by the whole session (loading the model
    is the expensive part; every test makes its own meetings, so tests do not see each other's state)."""
    proc = start_model_server(tmp_path_factory.mktemp("model-server"), bundled_model)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("parley")
    proc = ServerProcess(data_dir=root / "data", credentials=write_credentials(root / "credentials")).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def chime(server: ServerProcess) -> Any:
    return server.client("alice")


@pytest.fixture(scope="module")
def chime_other_account(server: ServerProcess) -> Any:
    return server.client("bob")


@pytest.fixture
def meeting(chime: Any) -> dict[str, Any]:
    return chime.create_meeting(MediaRegion="us-east-1", ExternalMeetingId="fixture-meeting")["Meeting"]


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
