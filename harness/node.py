"""Node.js for the tests that run JavaScript SDKs (the AWS SDK v3, amazon-chime-sdk-js): a missing tool fails the
test rather than skipping it, so the proof cannot silently disappear from CI."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def tool(name: str, purpose: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not on PATH; Node 20 is required for {purpose}")
    return path


def npm_ci(project: Path, installed: str, purpose: str) -> None:
    """``npm ci`` in ``project`` unless ``node_modules/<installed>`` is there (repeated runs stay offline)."""
    if not (project / "node_modules" / installed).is_dir():
        subprocess.run(
            [tool("npm", purpose), "ci", "--no-audit", "--no-fund"], cwd=project, check=True, timeout=300
        )
