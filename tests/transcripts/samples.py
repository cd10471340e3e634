"""Shared sample events: a rich set covering every optional field and converter quirk."""

from __future__ import annotations

from parley.transcripts.events import (
    Transcript,
    TranscriptAlternative,
    TranscriptEntity,
    TranscriptEvent,
    TranscriptionStatus,
    TranscriptItem,
    TranscriptLanguageWithScore,
    TranscriptResult,
)

T0 = 1_795_500_000_000  # epoch ms, well above 2**32 so int64 encoding is exercised
CONFIG = '{"EngineTranscribeSettings":{"LanguageCode":"en-US","Region":"auto"}}'


def word(
    content: str,
    start: int,
    end: int,
    *,
    punct: bool = False,
    who: tuple[str, str] = ("att-1", "alice"),
    vfm: bool | None = None,
    confidence: float | None = None,
    stable: bool | None = None,
) -> TranscriptItem:
    return TranscriptItem(
        type="punctuation" if punct else "pronunciation",
        start_time_ms=T0 + start,
        end_time_ms=T0 + end,
        attendee_id=who[0],
        external_user_id=who[1],
        content=content,
        vocabulary_filter_match=vfm,
        confidence=confidence,
        stable=stable,
    )


def statuses() -> list[TranscriptionStatus]:
    """Every status type with a message, plus the no-message and empty-message cases."""
    out = [
        TranscriptionStatus(kind, T0 + i, "us-east-1", CONFIG, f"{kind} message")
        for i, kind in enumerate(("started", "interrupted", "resumed", "stopped", "failed"))
    ]
    out.append(TranscriptionStatus("started", T0 + 10, "eu-central-1", CONFIG))
    out.append(TranscriptionStatus("failed", T0 + 11, "", "", ""))
    return out


def partial_result() -> TranscriptResult:
    return TranscriptResult(
        result_id="5f0c8a8e-1111-4c2e-9d3f-000000000001",
        channel_id="ch_0",
        is_partial=True,
        start_time_ms=T0 + 1000,
        end_time_ms=T0 + 1800,
        alternatives=(
            TranscriptAlternative(
                items=(
                    word("the", 1000, 1200, stable=True),
                    word("quick", 1200, 1500, stable=True),
                    word("facts", 1500, 1800, stable=False),
                ),
                transcript="the quick facts",
            ),
        ),
    )


def final_result() -> TranscriptResult:
    return TranscriptResult(
        result_id="5f0c8a8e-1111-4c2e-9d3f-000000000001",
        channel_id="ch_0",
        is_partial=False,
        start_time_ms=T0 + 1000,
        end_time_ms=T0 + 2600,
        alternatives=(
            TranscriptAlternative(
                items=(
                    word("The", 1000, 1200, confidence=0.99, stable=True),
                    word("quick", 1200, 1500, confidence=0.1 + 0.2, stable=True),
                    word("fox", 1500, 1800, confidence=0.0, vfm=True),
                    word("***", 1800, 2200, confidence=1.0, vfm=False),
                    word(",", 2200, 2200, punct=True, confidence=0.0),
                    word("Zoë", 2200, 2500, confidence=0.87),
                    word(".", 2500, 2600, punct=True),
                ),
                transcript="The quick fox ***, Zoë.",
            ),
            TranscriptAlternative(items=(), transcript="the quick facts"),
        ),
        language_code="en-US",
    )


def entity_result() -> TranscriptResult:
    bob = ("att-2", "bob <b&b>")
    return TranscriptResult(
        result_id="r-entities",
        channel_id="ch_1",
        is_partial=False,
        start_time_ms=T0 + 3000,
        end_time_ms=T0 + 4000,
        alternatives=(
            TranscriptAlternative(
                items=(
                    word("my", 3000, 3200, who=bob, confidence=0.9),
                    word("name", 3200, 3400, who=bob, confidence=0.9),
                    word("is", 3400, 3500, who=bob, confidence=0.9),
                    word("[NAME]", 3500, 4000, who=bob, confidence=0.0),
                ),
                transcript="my name is [NAME]",
                entities=(
                    TranscriptEntity("PII", 0.98, "[NAME]", T0 + 3500, T0 + 4000, "NAME"),
                    TranscriptEntity("PHI", 0.5, "aspirin", T0 + 3500, T0 + 4000),
                    TranscriptEntity("PII", 0.25, "x", T0 + 3500, T0 + 4000, ""),
                ),
            ),
        ),
        language_code="",
    )


def language_id_result() -> TranscriptResult:
    return TranscriptResult(
        result_id="r-lid",
        channel_id="ch_0",
        is_partial=False,
        start_time_ms=T0 + 5000,
        end_time_ms=T0 + 6000,
        alternatives=(
            TranscriptAlternative(items=(word("bonjour", 5000, 6000, confidence=0.7),), transcript="bonjour"),
        ),
        language_code="fr-CA",
        language_identification=(
            TranscriptLanguageWithScore("fr-CA", 0.895),
            TranscriptLanguageWithScore("en-US", 0.102),
            TranscriptLanguageWithScore("ja-JP", 0.003),
        ),
    )


def rich_events() -> list[TranscriptEvent]:
    return [
        *statuses(),
        Transcript((partial_result(),)),
        Transcript((final_result(), entity_result())),
        Transcript((language_id_result(),)),
        Transcript(()),
    ]
