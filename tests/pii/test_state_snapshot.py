"""StartMeetingTranscription stores the PII/PHI settings with the transcription state, so every node applies
the same ones; invalid combinations still fail with Transcribe's message and store none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from parley.live.convert import engine_failure
from parley.live.messages import TranscriptionChanged, decode, encode
from parley.meetings.service import Caller, Limits, MeetingService
from parley.pii.settings import PiiSettings
from parley.store import Store

MEDICAL = {"LanguageCode": "en-US", "Specialty": "ONCOLOGY", "Type": "DICTATION"}


async def start(tmp_path: Path, config: dict[str, Any]) -> Any:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    await store.open()
    try:
        service = MeetingService(store, Limits(), engine_failure=engine_failure)
        caller = Caller("111122223333", "us-east-1")
        out = await service.create_meeting(
            caller, {"MediaRegion": "us-east-1", "ExternalMeetingId": "m"}, "http://h"
        )
        mid = out["Meeting"]["MeetingId"]
        await service.start_meeting_transcription(
            caller, {"MeetingId": mid, "TranscriptionConfiguration": config}
        )
        return await store.get_transcription(mid)
    finally:
        await store.close()


async def test_redaction_settings_travel_with_the_state(tmp_path: Path) -> None:
    state = await start(
        tmp_path,
        {
            "EngineTranscribeSettings": {
                "LanguageCode": "en-US",
                "ContentRedactionType": "PII",
                "PiiEntityTypes": "NAME, SSN",
            }
        },
    )
    assert state.status == "started"
    travelled = decode(encode(TranscriptionChanged("r", state))).state  # what the bus carries to every node
    assert PiiSettings.from_dict(travelled.extra["pii"]) == PiiSettings(
        "redact", "PII", frozenset({"NAME", "SSN"}), "en-US"
    )


async def test_phi_settings_travel_with_the_state(tmp_path: Path) -> None:
    state = await start(
        tmp_path, {"EngineTranscribeMedicalSettings": {**MEDICAL, "ContentIdentificationType": "PHI"}}
    )
    assert state.status == "started"
    assert state.extra["pii"]["category"] == "PHI"


async def test_invalid_combinations_fail_without_settings(tmp_path: Path) -> None:
    state = await start(
        tmp_path,
        {
            "EngineTranscribeSettings": {
                "LanguageCode": "en-US",
                "ContentIdentificationType": "PII",
                "ContentRedactionType": "PII",
            }
        },
    )
    assert state.status == "failed"
    assert "both ContentIdentificationType and ContentRedactionType" in state.extra["message"]
    assert "pii" not in state.extra


async def test_no_pii_no_snapshot(tmp_path: Path) -> None:
    state = await start(tmp_path, {"EngineTranscribeSettings": {"LanguageCode": "en-US"}})
    assert "pii" not in state.extra
