"""With the real model: each vocabulary filter method changes what participants receive, and DisplayAs
changes a recognized spelling (clip text: "The quarterly budget review is scheduled for Thursday afternoon,
so please bring the updated sales figures.")."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.live.client import AttendeeClient, clip_pcm16
from tests.support.server import ServerProcess

pytestmark = pytest.mark.model


async def final_items(server: ServerProcess, settings: dict[str, Any]) -> list[dict[str, Any]]:
    """Stream the budget clip into a fresh meeting; the items of every final result a listener received."""
    chime = server.client()
    mid = chime.create_meeting(ExternalMeetingId="vocab-live", MediaRegion="us-east-1")["Meeting"][
        "MeetingId"
    ]
    speaker = chime.create_attendee(MeetingId=mid, ExternalUserId="speaker")["Attendee"]
    listener = chime.create_attendee(MeetingId=mid, ExternalUserId="listener")["Attendee"]
    chime.start_meeting_transcription(
        MeetingId=mid,
        TranscriptionConfiguration={"EngineTranscribeSettings": {"LanguageCode": "en-US", **settings}},
    )
    talk = await AttendeeClient(
        server.endpoint, mid, speaker["JoinToken"], audio={"format": "pcm16", "sampleRate": 16000}
    ).connect()
    hear = await AttendeeClient(server.endpoint, mid, listener["JoinToken"]).connect()
    await hear.wait_for(lambda: "started" in hear.statuses(), 30)
    await talk.stream(clip_pcm16("en_us_budget"))
    await talk.silence(1.5)
    chime.stop_meeting_transcription(MeetingId=mid)
    await hear.wait_for(lambda: "stopped" in hear.statuses(), 90)
    await asyncio.gather(talk.close(), hear.close())
    chime.delete_meeting(MeetingId=mid)
    return [i for r in hear.transcripts() if not r["isPartial"] for i in r["alternatives"][0]["items"]]


def words(items: list[dict[str, Any]]) -> list[str]:
    return [i["content"].lower() for i in items if i["type"] == "pronunciation"]


async def test_filter_methods_change_what_participants_receive(model_server: ServerProcess) -> None:
    transcribe = model_server.client(service="transcribe")
    transcribe.create_vocabulary_filter(
        VocabularyFilterName="no-budget", LanguageCode="en-US", Words=["Budget"]
    )
    plain = await final_items(model_server, {})
    assert "budget" in words(plain)
    masked = await final_items(
        model_server, {"VocabularyFilterName": "no-budget", "VocabularyFilterMethod": "mask"}
    )
    assert "***" in words(masked)
    assert "budget" not in words(masked)
    removed = await final_items(
        model_server, {"VocabularyFilterName": "no-budget", "VocabularyFilterMethod": "remove"}
    )
    assert "budget" not in words(removed)
    assert "***" not in words(removed)
    assert "review" in words(removed)
    tagged = await final_items(
        model_server, {"VocabularyFilterName": "no-budget", "VocabularyFilterMethod": "tag"}
    )
    assert [i["content"].lower() for i in tagged if i.get("vocabularyFilterMatch")] == ["budget"]


async def test_display_as_changes_the_spelling(model_server: ServerProcess) -> None:
    folder = model_server.data_dir / "vocabulary-files" / "team"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "budget.txt").write_text(
        "Phrase\tIPA\tSoundsLike\tDisplayAs\nsales-figures\t\t\tSalesFigures\n"
    )
    transcribe = model_server.client(service="transcribe")
    transcribe.create_vocabulary(
        VocabularyName="team", LanguageCode="en-US", VocabularyFileUri="s3://team/budget.txt"
    )
    items = await final_items(model_server, {"VocabularyName": "team"})
    assert "salesfigures" in words(items)
