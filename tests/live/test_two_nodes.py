"""Two parley processes sharing the machine's real PostgreSQL and Redis act as one service."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.attendee import AttendeeClient, clip_pcm16
from harness.server import ServerProcess, write_credentials
from harness.services import node_args, scratch_database

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture(scope="module")
def nodes(
    tmp_path_factory: pytest.TempPathFactory, bundled_model: Path
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with scratch_database("parley_nodes") as url:
        root = tmp_path_factory.mktemp("nodes")
        creds = write_credentials(root / "credentials")
        shared = node_args(url, bundled_model)
        a = ServerProcess(data_dir=root / "a", credentials=creds, lazy_model=False)
        b = ServerProcess(data_dir=root / "b", credentials=creds, lazy_model=True)
        # Each node advertises itself as the home of the meetings it creates.
        for node in (a, b):
            node.extra_args = [*shared, "--media-url", node.endpoint]
            node.start()
        try:
            yield a, b
        finally:
            a.stop()
            b.stop()


async def test_control_events_cross_nodes(nodes: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = nodes
    chime_a, chime_b = a.client(), b.client()
    mid = chime_a.create_meeting(ExternalMeetingId="nodes", MediaRegion="us-east-1")["Meeting"]["MeetingId"]
    assert chime_b.get_meeting(MeetingId=mid)["Meeting"]["MeetingId"] == mid
    ann = chime_b.create_attendee(MeetingId=mid, ExternalUserId="ann")["Attendee"]
    bob = chime_a.create_attendee(MeetingId=mid, ExternalUserId="bob")["Attendee"]
    on_a = await AttendeeClient(a.endpoint, mid, ann["JoinToken"]).connect()
    # The same attendee connecting to the other node replaces the first connection.
    on_b = await AttendeeClient(b.endpoint, mid, ann["JoinToken"]).connect()
    assert await on_a.wait_closed() == 4301
    bob_a = await AttendeeClient(a.endpoint, mid, bob["JoinToken"]).connect()
    # DeleteAttendee on node A closes the socket held by node B, and DeleteMeeting on B closes A's.
    chime_a.delete_attendee(MeetingId=mid, AttendeeId=ann["AttendeeId"])
    assert await on_b.wait_closed() == 4411
    chime_b.delete_meeting(MeetingId=mid)
    assert await bob_a.wait_closed() == 4410


def test_meeting_media_stays_on_the_node_that_created_it(nodes: tuple[ServerProcess, ServerProcess]) -> None:
    """Whichever node answers GetMeeting, a meeting's media URLs name the node that created it."""
    a, b = nodes
    on_a = a.client().create_meeting(ExternalMeetingId="home-a", MediaRegion="us-east-1")["Meeting"]
    on_b = b.client().create_meeting(ExternalMeetingId="home-b", MediaRegion="us-east-1")["Meeting"]
    ws_a, ws_b = a.endpoint.replace("http", "ws", 1), b.endpoint.replace("http", "ws", 1)
    for home, meeting in ((ws_a, on_a), (ws_b, on_b)):
        mid = meeting["MeetingId"]
        for node in (a, b):
            placement = node.client().get_meeting(MeetingId=mid)["Meeting"]["MediaPlacement"]
            assert placement["SignalingUrl"] == f"{home}/control/{mid}"
            assert placement["AudioFallbackUrl"] == f"{home}/calls/{mid}"
    for meeting in (on_a, on_b):
        a.client().delete_meeting(MeetingId=meeting["MeetingId"])


@pytest.mark.model
async def test_transcripts_reach_attendees_on_either_node(nodes: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = nodes
    chime_a, chime_b = a.client(), b.client()
    mid = chime_a.create_meeting(ExternalMeetingId="nodes-live", MediaRegion="us-east-1")["Meeting"][
        "MeetingId"
    ]
    speaker = chime_a.create_attendee(MeetingId=mid, ExternalUserId="speaker")["Attendee"]
    listener = chime_a.create_attendee(MeetingId=mid, ExternalUserId="listener")["Attendee"]
    talk = await AttendeeClient(
        a.endpoint, mid, speaker["JoinToken"], audio={"format": "pcm16", "sampleRate": 16000}
    ).connect()
    hear = await AttendeeClient(b.endpoint, mid, listener["JoinToken"]).connect()
    # Start on node B: node A (which holds the speaker) attaches the recognizer.
    await asyncio.to_thread(
        chime_b.start_meeting_transcription,
        MeetingId=mid,
        TranscriptionConfiguration={"EngineTranscribeSettings": {"LanguageCode": "en-US"}},
    )
    for client in (talk, hear):
        await client.wait_for(lambda c=client: "started" in c.statuses(), 30)
    await talk.stream(clip_pcm16("en_us_budget"))
    await talk.silence(1.5)

    def final_texts(c: AttendeeClient) -> list[str]:
        return [r["alternatives"][0]["transcript"] for r in c.transcripts() if not r["isPartial"]]

    await hear.wait_for(lambda: final_texts(hear), 60)
    assert "budget" in " ".join(final_texts(hear)).lower()
    assert all(
        i["attendee"]["attendeeId"] == speaker["AttendeeId"]
        for r in hear.transcripts()
        for i in r["alternatives"][0]["items"]
    )
    # Stop on node B while the speaker (on A) is mid-utterance: A's final comes before `stopped` on B.
    await talk.stream(clip_pcm16("en_gb_two")[: 16000 * 2 * 3])
    finals_before = len(final_texts(hear))
    await asyncio.to_thread(chime_b.stop_meeting_transcription, MeetingId=mid)
    await hear.wait_for(lambda: "stopped" in hear.statuses(), 60)
    stop_index = next(
        i for i, e in enumerate(hear.received) if e["type"] == "status" and e["status"]["type"] == "stopped"
    )
    before_stop: list[Any] = [
        r
        for e in hear.received[:stop_index]
        if e["type"] == "transcript"
        for r in e["transcript"]["results"]
        if not r["isPartial"]
    ]
    assert len(before_stop) > finals_before
    await talk.close()
    await hear.close()
