"""Transcription configuration rules (Transcribe's checks reported as `failed`), regions and limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from parley.errors import ServiceError
from parley.meetings.configuration import parse
from parley.meetings.service import Caller, Limits, MeetingService
from parley.meetings.transcription import check_engines, transcribe_failure, transcription_region
from parley.store import Store


def ets(**settings: Any) -> dict[str, Any]:
    return {"EngineTranscribeSettings": settings}


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        (ets(LanguageCode="en-US", ContentIdentificationType="PII", ContentRedactionType="PII"), "both ContentIdentificationType"),
        (ets(LanguageCode="en-US", PiiEntityTypes="NAME"), "PiiEntityTypes requires"),
        (ets(LanguageCode="en-US", ContentRedactionType="PII", PiiEntityTypes="NAME,TOOTH"), "TOOTH"),
        (ets(), "either LanguageCode or IdentifyLanguage"),
        (ets(LanguageCode="en-US", IdentifyLanguage=True, LanguageOptions="en-US,de-DE"), "both LanguageCode and IdentifyLanguage"),
        (ets(IdentifyLanguage=True, PreferredLanguage="en-US"), "at least two language options"),
        (ets(LanguageCode="en-US", LanguageOptions="en-US,de-DE"), "LanguageOptions requires IdentifyLanguage"),
        (ets(IdentifyLanguage=True, LanguageOptions="en-US,en-GB"), "one dialect per language"),
        (ets(IdentifyLanguage=True, LanguageOptions="en-US,de-DE", PreferredLanguage="fr-FR"), "PreferredLanguage must be one"),
        (ets(IdentifyLanguage=True, LanguageOptions="en-US,de-DE", ContentRedactionType="PII"), "content redaction"),
        (ets(IdentifyLanguage=True, LanguageOptions="en-US,de-DE", LanguageModelName="clm"), "custom language model"),
        (ets(IdentifyLanguage=True, LanguageOptions="en-US,de-DE", VocabularyName="v"), "VocabularyNames"),
        (ets(LanguageCode="en-US", VocabularyNames="a,b"), "only be used with IdentifyLanguage"),
        (ets(LanguageCode="en-US", PartialResultsStability="high"), "EnablePartialResultsStabilization"),
        (ets(LanguageCode="en-US", VocabularyFilterMethod="mask"), "vocabulary filter name"),
        (ets(LanguageCode="de-DE", ContentIdentificationType="PII"), "aren't supported for language de-DE"),
        (ets(LanguageCode="en-US", LanguageModelName="clm"), "language model clm couldn't be found"),
        (ets(LanguageCode="en-US", VocabularyName="medical-terms"), "vocabulary medical-terms couldn't be found"),
        (ets(LanguageCode="en-US", VocabularyFilterName="bad-words"), "vocabulary filter bad-words couldn't be found"),
    ],
)  # fmt: skip
def test_transcribe_rejects_combinations(config: dict[str, Any], fragment: str) -> None:
    message = transcribe_failure(parse(config))
    assert message is not None
    assert fragment in message


@pytest.mark.parametrize(
    "config",
    [
        ets(LanguageCode="en-US"),
        ets(LanguageCode="en-GB", ContentRedactionType="PII", PiiEntityTypes="NAME, PHONE"),
        ets(LanguageCode="en-US", EnablePartialResultsStabilization=True, PartialResultsStability="low"),
        ets(IdentifyLanguage=True, LanguageOptions="en-US,de-DE,fr-FR", PreferredLanguage="de-DE"),
        {
            "EngineTranscribeMedicalSettings": {
                "LanguageCode": "en-US",
                "Specialty": "UROLOGY",
                "Type": "DICTATION",
            }
        },
    ],
)
def test_valid_configurations_pass(config: dict[str, Any]) -> None:
    assert transcribe_failure(parse(config)) is None


def test_existing_vocabularies_resolve() -> None:
    config = ets(
        LanguageCode="en-US",
        VocabularyName="terms",
        VocabularyFilterName="words",
        VocabularyFilterMethod="tag",
    )
    assert (
        transcribe_failure(
            parse(config),
            vocabulary_exists=lambda n: n == "terms",
            vocabulary_filter_exists=lambda n: n == "words",
        )
        is None
    )


def test_exactly_one_engine() -> None:
    check_engines(ets(LanguageCode="en-US"))
    for bad in (
        {},
        {**ets(LanguageCode="en-US"), "EngineTranscribeMedicalSettings": {"LanguageCode": "en-US"}},
    ):
        with pytest.raises(ServiceError) as info:
            check_engines(bad)
        assert info.value.code == "BadRequestException"


@pytest.mark.parametrize(
    ("config", "media_region", "expected"),
    [
        (ets(LanguageCode="en-US"), "us-east-1", ("us-east-1", None)),
        (ets(LanguageCode="en-US", Region="eu-west-2"), "us-east-1", ("eu-west-2", None)),
        (ets(LanguageCode="en-US", Region="auto"), "us-west-1", ("us-west-2", None)),
        (ets(LanguageCode="en-US", Region="auto"), "ap-south-1", ("eu-west-2", None)),
        (ets(LanguageCode="en-US", Region="auto"), "eu-north-1", ("eu-central-1", None)),
        (ets(LanguageCode="en-US", Region="auto"), "eu-west-1", ("eu-west-1", None)),
        ({"EngineTranscribeMedicalSettings": {"Region": "auto"}}, "us-west-1", ("us-west-2", None)),
    ],
)
def test_transcription_region(
    config: dict[str, Any], media_region: str, expected: tuple[str, str | None]
) -> None:
    assert transcription_region(parse(config), media_region) == expected


def test_no_transcribe_in_media_region_fails() -> None:
    region, failure = transcription_region(parse(ets(LanguageCode="en-US")), "eu-north-1")
    assert region is None
    assert failure is not None
    assert "eu-north-1" in failure


async def test_transcribing_meetings_limit(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    await store.open()
    try:
        service = MeetingService(store, Limits(max_transcriptions=1))
        caller = Caller("111122223333", "us-east-1")
        ids = []
        for i in range(2):
            out = await service.create_meeting(
                caller, {"MediaRegion": "us-east-1", "ExternalMeetingId": f"m{i}"}, "http://h"
            )
            ids.append(out["Meeting"]["MeetingId"])
        config = ets(LanguageCode="en-US")
        await service.start_meeting_transcription(
            caller, {"MeetingId": ids[0], "TranscriptionConfiguration": config}
        )
        # Updating the running one is fine; a second meeting is over the limit.
        await service.start_meeting_transcription(
            caller, {"MeetingId": ids[0], "TranscriptionConfiguration": config}
        )
        with pytest.raises(ServiceError) as info:
            await service.start_meeting_transcription(
                caller, {"MeetingId": ids[1], "TranscriptionConfiguration": config}
            )
        assert info.value.code == "LimitExceededException"
        await service.stop_meeting_transcription(caller, {"MeetingId": ids[0]})
        await service.start_meeting_transcription(
            caller, {"MeetingId": ids[1], "TranscriptionConfiguration": config}
        )
        # A failed configuration does not count as transcribing.
        state = await store.get_transcription(ids[1])
        assert state is not None
        assert state.status == "started"
    finally:
        await store.close()
