"""The product end to end: boto3 starts transcription, attendees stream speech over the audio socket,
everyone receives Chime-shaped partial and final transcripts, Stop flushes then says `stopped`, and the
stored transcript exports as JSON lines, WebVTT and SRT."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from harness.attendee import AttendeeClient, clip_pcm16, clip_text, finals, text_of
from harness.server import ServerProcess
from harness.signing import signed_request
from tests.speech.conftest import normalize_text, wer

pytestmark = pytest.mark.model

EN_STABLE = {
    "EngineTranscribeSettings": {
        "LanguageCode": "en-US",
        "EnablePartialResultsStabilization": True,
        "PartialResultsStability": "high",
    }
}


def signed_get(server: ServerProcess, path: str) -> httpx.Response:
    return signed_request(server.endpoint, "GET", path)


async def test_live_transcription_end_to_end(model_server: ServerProcess) -> None:
    chime = model_server.client()
    meeting = chime.create_meeting(ExternalMeetingId="live-e2e", MediaRegion="us-east-1")["Meeting"]
    mid = meeting["MeetingId"]
    speaker = chime.create_attendee(MeetingId=mid, ExternalUserId="Sam Speaker")["Attendee"]
    listener = chime.create_attendee(MeetingId=mid, ExternalUserId="Lee Listener")["Attendee"]
    chime.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration=EN_STABLE)

    talk = await AttendeeClient(
        model_server.endpoint,
        mid,
        speaker["JoinToken"],
        events="protobuf",
        audio={"format": "pcm16", "sampleRate": 16000},
    ).connect()
    hear = await AttendeeClient(model_server.endpoint, mid, listener["JoinToken"]).connect()
    assert talk.ready is not None
    assert talk.ready["attendeeId"] == speaker["AttendeeId"]
    # Late joiners get the current status, with the region and the configuration as a JSON string.
    await hear.wait_for(lambda: "started" in hear.statuses(), 30)
    started = next(e["status"] for e in hear.received if e["type"] == "status")
    assert started["transcriptionRegion"] == "us-east-1"
    assert json.loads(started["transcriptionConfiguration"]) == EN_STABLE
    assert started["eventTimeMs"] > 0

    # Utterance 1, at real-time pace, then a pause so the VAD ends it.
    reference = clip_text("en_us_budget")
    await talk.stream(clip_pcm16("en_us_budget"))
    await talk.silence(1.5)
    for client in (talk, hear):
        await client.wait_for(
            lambda c=client: len(finals(c)) >= 1 and not any(r["isPartial"] for r in c.transcripts()[-1:]), 60
        )

    for client in (talk, hear):
        results = client.transcripts()
        first_final = finals(client)[0]
        partials = [r for r in results if r["isPartial"] and r["resultId"] == first_final["resultId"]]
        assert partials, "partials arrive before the final, under the same ResultId"
        assert results.index(partials[0]) < results.index(first_final)
        # Stable words are never retracted: every stable prefix is a prefix of later partials and the final.
        stable_seen: list[str] = []
        for r in [*partials, first_final]:
            words = [i["content"] for i in r["alternatives"][0]["items"]]
            assert words[: len(stable_seen)] == stable_seen
            stable_seen = [i["content"] for i in r["alternatives"][0]["items"] if i.get("stable")]
        for item in first_final["alternatives"][0]["items"]:
            assert item["attendee"] == {"attendeeId": speaker["AttendeeId"], "externalUserId": "Sam Speaker"}
            assert item["startTimeMs"] > 1_700_000_000_000
            assert item["endTimeMs"] >= item["startTimeMs"]
        assert first_final["startTimeMs"] > 1_700_000_000_000
        assert first_final["channelId"] == "ch_0"
    heard = text_of(finals(hear))
    assert wer(reference, heard) < 0.35, heard
    assert {"budget", "thursday"} <= set(normalize_text(heard).split())

    # Utterance 2: Stop lands mid-utterance. The API answers at once; the in-flight utterance is
    # finalized and delivered; then `stopped`; then nothing, even though audio keeps coming.
    second = clip_pcm16("en_gb_two")
    finals_before = len(finals(hear))
    streaming = asyncio.ensure_future(talk.stream(second[: len(second) // 2]))
    await streaming
    resp = await asyncio.to_thread(chime.stop_meeting_transcription, MeetingId=mid)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    await talk.stream(second[len(second) // 2 :])
    await hear.wait_for(lambda: "stopped" in hear.statuses(), 60)
    stopped_at = next(
        i for i, e in enumerate(hear.received) if e["type"] == "status" and e["status"]["type"] == "stopped"
    )
    flushed = [
        r
        for e in hear.received[:stopped_at]
        if e["type"] == "transcript"
        for r in e["transcript"]["results"]
        if not r["isPartial"]
    ]
    assert len(flushed) > finals_before, "the utterance in flight at Stop was finalized before `stopped`"
    count = len(hear.received)
    await talk.silence(0.5)
    await talk.stream(clip_pcm16("en_us_budget")[: 16000 * 2 * 2])
    await talk.silence(1.5)
    await asyncio.sleep(2)
    assert len(hear.received) == count, "no events after `stopped`"

    # Export: every final, in all three formats.
    all_finals = [r for r in finals(hear)]
    jsonl = signed_get(model_server, f"/meetings/{mid}/transcript?format=jsonl")
    assert jsonl.status_code == 200
    assert jsonl.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in jsonl.text.splitlines() if line]
    exported = [r for line in lines for r in line["transcript"]["results"]]
    assert [r["resultId"] for r in exported] == [r["resultId"] for r in all_finals]
    vtt = signed_get(model_server, f"/meetings/{mid}/transcript?format=vtt")
    assert vtt.status_code == 200
    assert vtt.text.startswith("WEBVTT")
    assert "<v Sam Speaker>" in vtt.text
    assert "-->" in vtt.text
    srt = signed_get(model_server, f"/meetings/{mid}/transcript?format=srt")
    assert srt.status_code == 200
    assert srt.text.startswith("1\n")
    assert "budget" in srt.text.lower()
    await talk.close()
    await hear.close()

    # The transcript outlives its meeting (D36) until its owner deletes it.
    chime.delete_meeting(MeetingId=mid)
    kept = signed_get(model_server, f"/meetings/{mid}/transcript?format=jsonl")
    assert kept.status_code == 200
    assert kept.text == jsonl.text
