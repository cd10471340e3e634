from __future__ import annotations

import os
from pathlib import Path

import pytest

from parley.digests import sha256_file
from parley.engine.bundled import (
    BUNDLED_DIGESTS,
    ModelError,
    bundled_model_dir,
    ensure_bundled,
    resolve_model,
    verify_bundled,
)


def test_bundled_model_is_assembled_and_matches_pinned_digests(model_dir: Path) -> None:
    assert sorted(p.name for p in model_dir.iterdir() if not p.name.startswith(".")) == sorted(
        BUNDLED_DIGESTS
    )
    assert model_dir.name == "whisper-base"
    assert model_dir.parent.name == "models"
    _, sha = BUNDLED_DIGESTS["config.json"]
    assert sha256_file(model_dir / "config.json") == sha
    assert (model_dir / "model.bin").stat().st_size == BUNDLED_DIGESTS["model.bin"][0]
    verify_bundled(model_dir)  # full check of all four files
    # Resolving again reuses the cache (no rebuild: same inode).
    inode = (model_dir / "model.bin").stat().st_ino
    again = resolve_model(model_dir.parent.parent, None)
    assert again == model_dir
    assert (model_dir / "model.bin").stat().st_ino == inode


def test_verify_rejects_a_tampered_file(model_dir: Path, tmp_path: Path) -> None:
    for name in BUNDLED_DIGESTS:
        os.symlink(model_dir / name, tmp_path / name)
    (tmp_path / "config.json").unlink()
    text = (model_dir / "config.json").read_text()
    (tmp_path / "config.json").write_text(text.replace("5", "6", 1))
    with pytest.raises(ModelError, match=r"config\.json.*SHA-256"):
        verify_bundled(tmp_path)
    (tmp_path / "config.json").unlink()
    os.symlink(model_dir / "config.json", tmp_path / "config.json")
    verify_bundled(tmp_path)  # restored: passes
    (tmp_path / "vocabulary.txt").unlink()
    with pytest.raises(ModelError, match="missing"):
        verify_bundled(tmp_path)


def test_corrupted_cache_is_rebuilt(tmp_path: Path) -> None:
    target = ensure_bundled(tmp_path)
    assert target == bundled_model_dir(tmp_path)
    with (target / "tokenizer.json").open("ab") as fh:
        fh.write(b" ")
    assert ensure_bundled(tmp_path) == target
    verify_bundled(target)
    assert not [p for p in tmp_path.joinpath("models").iterdir() if p.name.startswith(".")]  # no temp left


def test_model_option_accepts_only_local_ctranslate2_directories(model_dir: Path, tmp_path: Path) -> None:
    assert resolve_model(tmp_path / "unused", model_dir) == model_dir.resolve()
    assert not (tmp_path / "unused").exists()  # an explicit --model never assembles the bundle
    with pytest.raises(ModelError, match="not a directory"):
        resolve_model(tmp_path, Path("openai/whisper-base"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match=r"model\.bin"):
        resolve_model(tmp_path, tmp_path / "empty")
