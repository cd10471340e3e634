"""Language identification through the real server and audio socket: with IdentifyLanguage, a German clip
in a meeting that prefers English comes back as German, with scores for every option."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.live.client import AttendeeClient, clip_pcm16
from tests.support.server import ServerProcess

pytestmark = pytest.mark.model


async def results_for(server: ServerProcess, clip: str, settings: dict[str, Any]) -> list[dict[str, Any]]:
    chime = server.client()
    mid = chime.create_meeting(ExternalMeetingId="lang-id", MediaRegion="eu-central-1")["Meeting"][
        "MeetingId"
    ]
    speaker = chime.create_attendee(MeetingId=mid, ExternalUserId="speaker")["Attendee"]
    listener = chime.create_attendee(MeetingId=mid, ExternalUserId="listener")["Attendee"]
    chime.start_meeting_transcription(
        MeetingId=mid, TranscriptionConfiguration={"EngineTranscribeSettings": settings}
    )
    talk = await AttendeeClient(
        server.endpoint, mid, speaker["JoinToken"], audio={"format": "pcm16", "sampleRate": 16000}
    ).connect()
    hear = await AttendeeClient(server.endpoint, mid, listener["JoinToken"], events="protobuf").connect()
    await hear.wait_for(lambda: "started" in hear.statuses(), 30)
    await talk.stream(clip_pcm16(clip))
    await talk.silence(1.5)
    chime.stop_meeting_transcription(MeetingId=mid)
    await hear.wait_for(lambda: "stopped" in hear.statuses(), 90)
    await asyncio.gather(talk.close(), hear.close())
    chime.delete_meeting(MeetingId=mid)
    return hear.transcripts()


async def test_identifies_the_non_preferred_language(model_server: ServerProcess) -> None:
    results = await results_for(
        model_server,
        "de_meeting",
        {"IdentifyLanguage": True, "LanguageOptions": "en-US,de-DE", "PreferredLanguage": "en-US"},
    )
    finals = [r for r in results if not r["isPartial"]]
    assert finals
    for result in finals:
        assert result["languageCode"] == "de-DE"
        scores = {s["languageCode"]: s["score"] for s in result["languageIdentification"]}
        assert set(scores) == {"en-US", "de-DE"}
        assert scores["de-DE"] > scores["en-US"]
        assert all(0 <= s <= 1 for s in scores.values())
    text = " ".join(r["alternatives"][0]["transcript"] for r in finals).lower()
    assert "budget" in text or "morgen" in text  # transcribed as German, not translated
