"""Auto-end, transcript retention, and the backend subscription socket (no speech needed)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from botocore.credentials import Credentials

from parley.client import presign_events_url, presign_transcript_url
from tests.live.client import AttendeeClient
from tests.support.server import IDENTITIES, ServerProcess, write_credentials


def creds(name: str = "alice") -> Credentials:
    key, secret, _ = IDENTITIES[name]
    return Credentials(key, secret)


@pytest.fixture(scope="module")
def fast_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("lifecycle")
    proc = ServerProcess(
        data_dir=root / "data",
        credentials=write_credentials(root / "credentials"),
        extra_args=[
            "--idle-timeout",
            "2",
            "--max-duration",
            "6",
            "--reap-interval",
            "0.5",
            "--transcript-retention",
            "60",
        ],
    ).start()
    yield proc
    proc.stop()


async def test_idle_meeting_ends_and_connected_meeting_stays(fast_server: ServerProcess) -> None:
    chime = fast_server.client()
    idle = chime.create_meeting(ExternalMeetingId="idle", MediaRegion="us-east-1")["Meeting"]["MeetingId"]
    busy = chime.create_meeting(ExternalMeetingId="busy", MediaRegion="us-east-1")["Meeting"]["MeetingId"]
    ann = chime.create_attendee(MeetingId=busy, ExternalUserId="ann")["Attendee"]
    client = await AttendeeClient(fast_server.endpoint, busy, ann["JoinToken"]).connect()
    await asyncio.sleep(4)
    with pytest.raises(chime.exceptions.NotFoundException):
        chime.get_meeting(MeetingId=idle)
    assert chime.get_meeting(MeetingId=busy)["Meeting"]["MeetingId"] == busy
    # Past --max-duration the meeting ends even with someone connected, and the socket hears 4410.
    assert await client.wait_closed(15) == 4410
    with pytest.raises(chime.exceptions.NotFoundException):
        chime.get_meeting(MeetingId=busy)


async def test_meeting_ends_after_last_attendee_leaves(fast_server: ServerProcess) -> None:
    chime = fast_server.client()
    mid = chime.create_meeting(ExternalMeetingId="leave", MediaRegion="us-east-1")["Meeting"]["MeetingId"]
    ann = chime.create_attendee(MeetingId=mid, ExternalUserId="ann")["Attendee"]
    client = await AttendeeClient(fast_server.endpoint, mid, ann["JoinToken"]).connect()
    await asyncio.sleep(1.5)
    await client.close()
    assert chime.get_meeting(MeetingId=mid)["Meeting"]["MeetingId"] == mid
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            chime.get_meeting(MeetingId=mid)
        except chime.exceptions.NotFoundException:
            return
        await asyncio.sleep(0.5)
    pytest.fail("meeting did not end after its last attendee left")


async def test_backend_subscription_sees_status_and_end(fast_server: ServerProcess) -> None:
    chime = fast_server.client()
    mid = chime.create_meeting(ExternalMeetingId="subscribe", MediaRegion="us-east-1")["Meeting"]["MeetingId"]
    url = presign_events_url(fast_server.endpoint, mid, creds())
    async with websockets.connect(url) as ws:
        await asyncio.to_thread(
            chime.start_meeting_transcription,
            MeetingId=mid,
            TranscriptionConfiguration={"EngineTranscribeSettings": {"LanguageCode": "en-US"}},
        )
        started = json.loads(await asyncio.wait_for(ws.recv(), 10))["events"][0]
        assert started["type"] == "status"
        assert started["status"]["type"] == "started"
        await asyncio.to_thread(chime.stop_meeting_transcription, MeetingId=mid)
        stopped = json.loads(await asyncio.wait_for(ws.recv(), 10))["events"][0]
        assert stopped["status"]["type"] == "stopped"
        # A second subscriber joining while it runs gets `started` first.
        await asyncio.to_thread(
            chime.start_meeting_transcription,
            MeetingId=mid,
            TranscriptionConfiguration={"EngineTranscribeSettings": {"IdentifyLanguage": True}},
        )
        failed = json.loads(await asyncio.wait_for(ws.recv(), 10))["events"][0]["status"]
        assert failed["type"] == "failed"
        assert "language options" in failed["message"]
        # PII identification is served (parley.pii): `started`, and Stop works.
        await asyncio.to_thread(
            chime.start_meeting_transcription,
            MeetingId=mid,
            TranscriptionConfiguration={
                "EngineTranscribeSettings": {
                    "LanguageCode": "en-US",
                    "ContentIdentificationType": "PII",
                }
            },
        )
        started = json.loads(await asyncio.wait_for(ws.recv(), 10))["events"][0]["status"]
        assert started["type"] == "started"
        await asyncio.to_thread(chime.stop_meeting_transcription, MeetingId=mid)
        stopped = json.loads(await asyncio.wait_for(ws.recv(), 10))["events"][0]
        assert stopped["status"]["type"] == "stopped"
        # Identification and redaction together is a combination Transcribe rejects: `failed`, with its reason.
        await asyncio.to_thread(
            chime.start_meeting_transcription,
            MeetingId=mid,
            TranscriptionConfiguration={
                "EngineTranscribeSettings": {
                    "LanguageCode": "en-US",
                    "ContentIdentificationType": "PII",
                    "ContentRedactionType": "PII",
                }
            },
        )
        failed = json.loads(await asyncio.wait_for(ws.recv(), 10))["events"][0]["status"]
        assert failed["type"] == "failed"
        assert "both ContentIdentificationType and ContentRedactionType" in failed["message"]
        with pytest.raises(chime.exceptions.UnprocessableEntityException):
            chime.stop_meeting_transcription(MeetingId=mid)
        await asyncio.to_thread(chime.delete_meeting, MeetingId=mid)
        await asyncio.wait_for(ws.wait_closed(), 10)
        assert ws.close_code == 4410


async def test_subscription_requires_a_valid_signature_and_own_meeting(fast_server: ServerProcess) -> None:
    chime = fast_server.client()
    mid = chime.create_meeting(ExternalMeetingId="private", MediaRegion="us-east-1")["Meeting"]["MeetingId"]
    url = presign_events_url(fast_server.endpoint, mid, creds())
    tampered = url.replace(mid, "00000000-0000-4000-8000-000000000000")
    with pytest.raises(websockets.InvalidStatus) as info:
        await websockets.connect(tampered)
    assert info.value.response.status_code == 403
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(fast_server.endpoint.replace("http", "ws") + f"/meetings/{mid}/events")
    other = presign_events_url(fast_server.endpoint, mid, creds("bob"))
    async with websockets.connect(other) as ws:
        await asyncio.wait_for(ws.wait_closed(), 10)
        assert ws.close_code == 4404


def test_presigned_transcript_export_and_retention(fast_server: ServerProcess, tmp_path: Path) -> None:
    chime = fast_server.client()
    mid = chime.create_meeting(ExternalMeetingId="retain", MediaRegion="us-east-1")["Meeting"]["MeetingId"]
    url = presign_transcript_url(fast_server.endpoint, mid, creds(), fmt="vtt")
    resp = httpx.get(url, timeout=10)
    assert resp.status_code == 200
    assert resp.text.startswith("WEBVTT")
    bad = httpx.get(presign_transcript_url(fast_server.endpoint, mid, creds(), fmt="docx"), timeout=10)
    assert bad.status_code == 400
    assert bad.headers["x-amzn-ErrorType"].startswith("BadRequestException")
    other = httpx.get(presign_transcript_url(fast_server.endpoint, mid, creds("bob"), fmt="vtt"), timeout=10)
    assert other.status_code == 404
    chime.delete_meeting(MeetingId=mid)
    # Nothing was transcribed, so nothing was retained: the export is gone with the meeting.
    assert httpx.get(url, timeout=10).status_code == 404
