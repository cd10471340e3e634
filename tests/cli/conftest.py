"""CLI fixtures: run the real ``parley`` entry point as a subprocess, isolated from the user's AWS setup."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.server import IDENTITIES, ServerProcess


@dataclass
class Cli:
    """``parley …`` with a private HOME and AWS files; ``env`` holds alice's keys unless a test drops them."""

    endpoint: str
    env: dict[str, str]

    def run(
        self,
        *args: str,
        check: bool = True,
        env: dict[str, str] | None = None,
        drop: tuple[str, ...] = (),
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """``env`` adds to (or overrides) the test environment, ``drop`` removes variables from it."""
        merged = {k: v for k, v in {**self.env, **(env or {})}.items() if k not in drop}
        result = subprocess.run(
            [sys.executable, "-m", "parley", *args],
            env=merged,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check:
            assert result.returncode == 0, f"parley {' '.join(args)} failed:\n{result.stderr}"
        assert "Traceback" not in result.stderr, result.stderr
        return result


def make_cli(root: Path, endpoint: str) -> Cli:
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    config = root / "aws-config"
    config.write_text("[default]\nregion = us-east-1\n")
    key, secret, _ = IDENTITIES["alice"]
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PARLEY_"))}
    env = {
        **keep,
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(root / "no-credentials"),
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_ENDPOINT_URL": endpoint,
        "PYTHONUNBUFFERED": "1",
    }
    return Cli(endpoint, env)


@pytest.fixture(scope="module")
def cli(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return make_cli(tmp_path_factory.mktemp("cli"), server.endpoint)


@pytest.fixture(scope="module")
def model_cli(model_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return make_cli(tmp_path_factory.mktemp("cli-live"), model_server.endpoint)


def json_out(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    import json

    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data
