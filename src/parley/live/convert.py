"""From the speech core's results and the stored transcription state to Chime-shaped events."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from parley.meetings.configuration import EngineSettings
from parley.meetings.configuration import parse as parse_configuration
from parley.pii.settings import PiiSettings
from parley.store import TranscriptionState
from parley.streaming.results import RecognitionResult, StreamConfig
from parley.transcripts.events import (
    TranscriptAlternative,
    TranscriptionStatus,
    TranscriptItem,
    TranscriptLanguageWithScore,
    TranscriptResult,
)
from parley.vocabularies.apply import hotwords


class UnsupportedConfiguration(Exception):
    """A configuration the engine cannot honour; reported to participants as a `failed` status."""


def now_ms() -> int:
    return int(time.time() * 1000)


def configuration_json(configuration: dict[str, Any]) -> str:
    """The request's TranscriptionConfiguration as a JSON string with its PascalCase keys, as Chime sends it."""
    return json.dumps(configuration, separators=(",", ":"), sort_keys=False)


def status_event(
    state: TranscriptionState, status: str | None = None, message: str | None = None
) -> TranscriptionStatus:
    return TranscriptionStatus(
        type=status or state.status,  # type: ignore[arg-type]
        event_time_ms=now_ms(),
        transcription_region=state.region,
        transcription_configuration=configuration_json(state.configuration),
        message=message if message is not None else state.extra.get("message"),
    )


@dataclass(frozen=True, slots=True)
class LiveTranscription:
    """What the live side needs of a stored TranscriptionState, typed once when the state reaches a node.

    The state crosses the store and the bus as the request's JSON (status events echo it to clients); this is
    its one parse on arrival, so recognizers and the per-result filters never read the dicts again.
    """

    state: TranscriptionState
    settings: EngineSettings
    vocabularies: dict[str, Any] | None  # the snapshot StartMeetingTranscription stored (vocabularies.apply)
    pii: PiiSettings | None

    @classmethod
    def of(cls, state: TranscriptionState) -> LiveTranscription:
        pii = state.extra.get("pii")
        return cls(
            state=state,
            settings=parse_configuration(state.configuration),
            vocabularies=state.extra.get("vocabularies"),
            pii=PiiSettings.from_dict(pii) if pii else None,
        )


def stream_config(e: EngineSettings, vocabularies: dict[str, Any] | None = None) -> StreamConfig:
    """Map EngineTranscribeSettings (or the medical settings) onto the speech core's StreamConfig.

    ``vocabularies`` is the snapshot StartMeetingTranscription stored (``parley.vocabularies.apply``): its
    phrases bias recognition through the engine's hotword prompt.
    """
    if e.medical:
        # PHI identification (ContentIdentificationType) is applied to results by parley.pii, not the engine.
        # Transcribe Medical is US English; parley serves it with the same speech model as Transcribe
        # (operations.md "Transcribe Medical"). A medical vocabulary biases it like a custom vocabulary.
        language = e.language_code or "en-US"
        return StreamConfig(language_code=language, hotwords=hotwords(vocabularies, (language,)))
    # ContentIdentificationType/ContentRedactionType/PiiEntityTypes act on results (parley.pii), not here.
    try:
        return StreamConfig(
            language_code=e.language_code,
            identify_language=e.identify_language,
            language_options=e.language_options,
            preferred_language=e.preferred_language,
            enable_partial_results_stabilization=e.stabilization,
            partial_results_stability=e.stability,  # type: ignore[arg-type]
            hotwords=hotwords(vocabularies, e.languages),
        )
    except ValueError as exc:
        raise UnsupportedConfiguration(str(exc)) from None


def engine_failure(settings: EngineSettings) -> str | None:
    """Why the speech engine cannot honour this configuration (None if it can)."""
    try:
        stream_config(settings)
    except UnsupportedConfiguration as exc:
        return str(exc)
    return None


def transcript_result(
    result: RecognitionResult, *, origin_ms: int, attendee_id: str, external_user_id: str, channel_id: str
) -> TranscriptResult:
    """Seconds from the stream's start become epoch milliseconds; every item is attributed to its speaker."""

    def ms(seconds: float) -> int:
        return origin_ms + round(seconds * 1000)

    items = tuple(
        TranscriptItem(
            type=item.type,
            start_time_ms=ms(item.start_s),
            end_time_ms=ms(item.end_s),
            attendee_id=attendee_id,
            external_user_id=external_user_id,
            content=item.content,
            confidence=item.confidence,
            stable=item.stable,
        )
        for item in result.items
    )
    return TranscriptResult(
        result_id=result.result_id,
        channel_id=channel_id,
        is_partial=result.is_partial,
        start_time_ms=ms(result.start_s),
        end_time_ms=ms(result.end_s),
        alternatives=(TranscriptAlternative(items=items, transcript=result.transcript),),
        language_code=result.language_code,
        language_identification=tuple(
            TranscriptLanguageWithScore(language_code=code, score=score)
            for code, score in result.language_identification
        ),
    )
