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

from harness.attendee import AttendeeClient
from harness.server import IDENTITIES, ServerProcess, write_credentials
from harness.signing import signed_request
from parley.client import presign_events_url, presign_transcript_url


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


def signed(
    server: ServerProcess, method: str, path: str, who: str = "alice", query: str = ""
) -> httpx.Response:
    """A call to parley's transcript API signed as the AWS SDKs sign (SigV4, service ``chime``)."""
    return signed_request(server.endpoint, method, path + (f"?{query}" if query else ""), identity=who)


def listed(server: ServerProcess, who: str = "alice") -> dict[str, dict[str, Any]]:
    response = signed(server, "GET", "/transcripts", who)
    assert response.status_code == 200
    return {t["MeetingId"]: t for t in response.json()["Transcripts"]}


def assert_aws_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.headers["x-amzn-ErrorType"].split(":")[0] == code
    assert response.headers["x-amzn-RequestId"]
    assert response.json()["Message"]


EN = {"EngineTranscribeSettings": {"LanguageCode": "en-US"}}


def test_an_auto_ended_meeting_keeps_its_transcript_for_its_account(fast_server: ServerProcess) -> None:
    chime = fast_server.client()
    mid = chime.create_meeting(ExternalMeetingId="kept", MediaRegion="us-east-1")["Meeting"]["MeetingId"]
    chime.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration=EN)
    deadline = time.monotonic() + 15
    while mid not in listed(fast_server) or "MeetingEndedAt" not in listed(fast_server)[mid]:
        assert time.monotonic() < deadline, "the idle meeting did not end"
        time.sleep(0.5)
    with pytest.raises(chime.exceptions.NotFoundException):
        chime.get_meeting(MeetingId=mid)
    kept = listed(fast_server)[mid]
    assert kept["ExternalMeetingId"] == "kept"
    assert kept["ResultCount"] == 0
    assert "ExpiresAt" in kept  # this server runs with --transcript-retention 60

    # Its account exports it, in every format; another account neither sees nor exports nor deletes it.
    url = presign_transcript_url(fast_server.endpoint, mid, creds(), fmt="vtt")
    assert httpx.get(url, timeout=10).text.startswith("WEBVTT")
    assert signed(fast_server, "GET", f"/meetings/{mid}/transcript", query="format=srt").status_code == 200
    assert mid not in listed(fast_server, "bob")
    assert_aws_error(
        signed(fast_server, "GET", f"/meetings/{mid}/transcript", "bob"), 404, "NotFoundException"
    )
    assert_aws_error(
        signed(fast_server, "DELETE", f"/meetings/{mid}/transcript", "bob"), 404, "NotFoundException"
    )
    bad = signed(fast_server, "GET", f"/meetings/{mid}/transcript", query="format=docx")
    assert_aws_error(bad, 400, "BadRequestException")

    # Its owner deletes it: gone from the export and from the list.
    deleted = signed(fast_server, "DELETE", f"/meetings/{mid}/transcript")
    assert deleted.status_code == 204
    assert deleted.headers["x-amzn-RequestId"]
    assert_aws_error(httpx.get(url, timeout=10), 404, "NotFoundException")
    assert mid not in listed(fast_server)
    assert_aws_error(signed(fast_server, "DELETE", f"/meetings/{mid}/transcript"), 404, "NotFoundException")


def test_a_meeting_never_transcribed_leaves_no_transcript(fast_server: ServerProcess) -> None:
    chime = fast_server.client()
    mid = chime.create_meeting(ExternalMeetingId="silent", MediaRegion="us-east-1")["Meeting"]["MeetingId"]
    # While it runs, its (empty) transcript exports; once it is deleted there is nothing to keep.
    assert signed(fast_server, "GET", f"/meetings/{mid}/transcript", query="format=vtt").text.startswith(
        "WEBVTT"
    )
    chime.delete_meeting(MeetingId=mid)
    assert_aws_error(signed(fast_server, "GET", f"/meetings/{mid}/transcript"), 404, "NotFoundException")
    assert mid not in listed(fast_server)


def test_transcript_list_pages_and_refuses_bad_input(fast_server: ServerProcess) -> None:
    chime = fast_server.client()
    ids = []
    for n in range(3):
        mid = chime.create_meeting(ExternalMeetingId=f"page-{n}", MediaRegion="us-east-1")["Meeting"][
            "MeetingId"
        ]
        chime.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration=EN)
        chime.delete_meeting(MeetingId=mid)
        ids.append(mid)
    seen: list[str] = []
    query = "max-results=1"
    while True:
        page = signed(fast_server, "GET", "/transcripts", query=query).json()
        assert len(page["Transcripts"]) <= 1
        seen += [t["MeetingId"] for t in page["Transcripts"]]
        if "NextToken" not in page:
            break
        query = f"max-results=1&next-token={page['NextToken']}"
    assert set(ids) <= set(seen)
    assert len(seen) == len(set(seen))
    for bad in ("max-results=0", "max-results=101", "max-results=x", "next-token=garbage"):
        assert_aws_error(signed(fast_server, "GET", "/transcripts", query=bad), 400, "BadRequestException")
    # Another account's page token is refused, not followed.
    token = signed(fast_server, "GET", "/transcripts", query="max-results=1").json()["NextToken"]
    stolen = signed(fast_server, "GET", "/transcripts", "bob", query=f"next-token={token}")
    assert_aws_error(stolen, 400, "BadRequestException")
    # Methods the paths do not serve get the modeled error, never Starlette's plain-text 405.
    assert_aws_error(signed(fast_server, "POST", "/transcripts"), 404, "NotFoundException")
    assert_aws_error(signed(fast_server, "PUT", f"/meetings/{ids[0]}/transcript"), 404, "NotFoundException")
    unsigned = httpx.get(f"{fast_server.endpoint}/transcripts", timeout=10)
    assert unsigned.status_code == 403
    assert unsigned.headers["x-amzn-ErrorType"]


def test_retention_zero_deletes_the_transcript_with_its_meeting(tmp_path: Path) -> None:
    proc = ServerProcess(
        data_dir=tmp_path / "data",
        credentials=write_credentials(tmp_path / "credentials"),
        extra_args=["--transcript-retention", "0"],
    ).start()
    try:
        chime = proc.client()
        mid = chime.create_meeting(ExternalMeetingId="gone", MediaRegion="us-east-1")["Meeting"]["MeetingId"]
        chime.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration=EN)
        assert signed(proc, "GET", f"/meetings/{mid}/transcript").status_code == 200
        chime.delete_meeting(MeetingId=mid)
        assert_aws_error(signed(proc, "GET", f"/meetings/{mid}/transcript"), 404, "NotFoundException")
        assert listed(proc) == {}
    finally:
        proc.stop()
