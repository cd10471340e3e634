"""PII/PHI detection benchmark: precision and recall per entity type, and the latency the PII step adds.

Usage (from the repository root)::

    .venv/bin/python bench/pii.py            # the figures in docs/benchmarks.md
    .venv/bin/python bench/pii.py --errors   # also list every miss and false alarm

The labelled set (``bench/data/pii_utterances.jsonl``) was written by hand for this benchmark, before the
figures were looked at: 80 call-centre and meeting utterances for Transcribe's PII types (5-8 per type,
some with several entities, 10 with none, including a Luhn-invalid card number) and 14 clinical ones for
Transcribe Medical's PHI. The text is in the form Whisper emits: punctuation attached to words, numbers
mostly as digits with Whisper's groupings ("206-555-0134", "4012-8888-8888-1881") and some read out digit by
digit or in pairs ("four two five, eight one three, ...", "forty five thirty two, ..."), e-mail addresses
both written and spelled ("maria dot garcia at gmail dot com"). A few are deliberately hard (a lowercase
name, "underscore" in an address, a CVV introduced only by "three digit code").

Each utterance becomes a final TranscriptResult deterministically (one word every 500 ms, punctuation as
separate items, as the recognizer splits them) and goes through ``PiiService`` exactly as the live runtime
calls it (worker thread included). A predicted entity counts as correct when its type and its content
(the original text of the span) equal a label's; PHI entities have no type in Chime's output, so PHI is
scored on the content alone, with recall also shown per labelled kind.

Latency is the wall time of each result step the live runtime runs on a final result, after a warm-up:
``await PiiService.apply`` for none (no PII configured: the runtime skips the step), identification,
redaction and PHI; ``apply_vocabularies`` for a vocabulary filter (mask, six words) and a custom vocabulary's
DisplayAs (two phrases). A custom vocabulary's other cost, the hotword prompt, is paid in recognition
(bench/asr.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.pii_results import result_of  # noqa: E402
from parley.pii.service import PiiService  # noqa: E402
from parley.pii.settings import PHI_TYPES, PII_TYPES, PiiSettings  # noqa: E402
from parley.store import VocabularyRecord  # noqa: E402
from parley.transcripts.events import TranscriptResult  # noqa: E402
from parley.vocabularies.apply import apply_vocabularies, snapshot  # noqa: E402

DATA = ROOT / "bench" / "data" / "pii_utterances.jsonl"


def load() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]


def pct(n: int, d: int) -> str:
    return f"{100 * n / d:5.1f} %" if d else "    –"


def score(
    rows: list[dict[str, Any]], predicted: list[list[tuple[str | None, str]]], *, typed: bool, errors: bool
) -> None:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for row, found in zip(rows, predicted, strict=True):
        gold = [(e["type"], e["text"]) for e in row["entities"]]
        pending = list(gold)
        for kind, content in found:
            match = next((g for g in pending if g[1] == content and (not typed or g[0] == kind)), None)
            if match is not None:
                pending.remove(match)
                tp[match[0]] += 1
            else:
                fp[kind or "PHI"] += 1
                if errors:
                    print(f"  false alarm  {kind or 'PHI'}: {content!r}  in  {row['text']!r}")
        for kind, content in pending:
            fn[kind] += 1
            if errors:
                print(f"  missed       {kind}: {content!r}  in  {row['text']!r}")
    kinds = sorted(set(tp) | set(fn) | (set(fp) if typed else set()))
    print(f"  {'type':<22} {'labels':>6} {'found':>6} {'precision':>10} {'recall':>8}")
    for kind in kinds:
        labels = tp[kind] + fn[kind]
        if typed:
            print(
                f"  {kind:<22} {labels:>6} {tp[kind] + fp[kind]:>6} {pct(tp[kind], tp[kind] + fp[kind]):>10} {pct(tp[kind], labels):>8}"
            )
        else:
            print(f"  {kind:<22} {labels:>6} {'':>6} {'':>10} {pct(tp[kind], labels):>8}")
    t, f, n = sum(tp.values()), sum(fp.values()), sum(fn.values())
    print(f"  {'overall':<22} {t + n:>6} {t + f:>6} {pct(t, t + f):>10} {pct(t, t + n):>8}")


async def run(
    rows: list[dict[str, Any]], settings: PiiSettings | None, service: PiiService
) -> tuple[list[TranscriptResult], list[float]]:
    out: list[TranscriptResult] = []
    times: list[float] = []
    for i, row in enumerate(rows):
        result = result_of(row["text"], result_id=f"r{i}")
        t0 = time.perf_counter()
        checked = result if settings is None else await service.apply(result, settings)
        times.append((time.perf_counter() - t0) * 1000)
        assert checked is not None
        out.append(checked)
    return out, times


def vocabulary_times(rows: list[dict[str, Any]], snap: dict[str, Any]) -> list[float]:
    """Milliseconds of ``apply_vocabularies`` per final result (it runs on the event loop)."""
    times: list[float] = []
    for i, row in enumerate(rows):
        result = result_of(row["text"], result_id=f"r{i}")
        t0 = time.perf_counter()
        apply_vocabularies(result, snap)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def record(kind: str, entries: list[Any]) -> VocabularyRecord:
    return VocabularyRecord(kind, "000000000000", kind, "en-US", entries, last_modified=0.0)


def entities_of(results: list[TranscriptResult]) -> list[list[tuple[str | None, str]]]:
    return [[(e.type, e.content) for e in r.alternatives[0].entities] for r in results]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--errors", action="store_true", help="list every miss and false alarm")
    args = parser.parse_args()
    rows = load()
    pii_rows = [r for r in rows if r["set"] == "pii"]
    phi_rows = [r for r in rows if r["set"] == "phi"]
    service = PiiService()
    t0 = time.perf_counter()
    await service.apply(
        result_of("warm up with John Smith", result_id="r0"),
        PiiSettings("identify", "PII", frozenset(PII_TYPES), "en-US"),
    )
    load_s = time.perf_counter() - t0
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(
        f"set: {len(pii_rows)} PII utterances ({sum(len(r['entities']) for r in pii_rows)} labels), "
        f"{len(phi_rows)} PHI utterances ({sum(len(r['entities']) for r in phi_rows)} labels)"
    )
    print(f"detector load (first call): {load_s:.2f} s")

    identify = PiiSettings("identify", "PII", frozenset(PII_TYPES), "en-US")
    redact = PiiSettings("redact", "PII", frozenset(PII_TYPES), "en-US")
    phi = PiiSettings("identify", "PHI", frozenset(PHI_TYPES), "en-US")
    identified, t_identify = await run(pii_rows, identify, service)
    redacted, t_redact = await run(pii_rows, redact, service)
    phi_results, t_phi = await run(phi_rows, phi, service)
    _, t_none = await run(pii_rows, None, service)
    words = ["card", "number", "account", "name", "phone", "email"]
    t_filter = vocabulary_times(pii_rows, snapshot([], [record("filter", words)], "mask", "en-US"))
    phrases = [
        {"phrase": "card number", "display_as": "CardNumber"},
        {"phrase": "my name", "display_as": "MyName"},
    ]
    t_display = vocabulary_times(pii_rows, snapshot([record("vocabulary", phrases)], [], None, "en-US"))

    print("\nPII identification (type and content must match)")
    score(pii_rows, entities_of(identified), typed=True, errors=args.errors)
    leaks = sum(
        1
        for row, r in zip(pii_rows, redacted, strict=True)
        for e in row["entities"]
        if e["text"] in r.alternatives[0].transcript
    )
    print(
        f"  redaction: {leaks} of {sum(len(r['entities']) for r in pii_rows)} labelled spans still readable in the transcript"
    )
    print("\nPHI identification (content must match; recall per labelled kind)")
    score(phi_rows, entities_of(phi_results), typed=False, errors=args.errors)

    print("\nadded latency per final result (ms)")
    print(f"  {'setting':<16} {'n':>4} {'median':>8} {'p90':>8}")
    for name, times in (
        ("none", t_none),
        ("identification", t_identify),
        ("redaction", t_redact),
        ("PHI", t_phi),
        ("filter (mask)", t_filter),
        ("DisplayAs", t_display),
    ):
        p90 = statistics.quantiles(times, n=10)[-1]
        print(f"  {name:<16} {len(times):>4} {statistics.median(times):>8.2f} {p90:>8.2f}")
    service.close()


if __name__ == "__main__":
    asyncio.run(main())
