"""The database (PostgreSQL) goes away while a meeting is transcribing: participants keep getting final results,
and once the database is back every one of them is in the stored transcript. A private PostgreSQL is stopped
(immediate shutdown, as a crash or a failover looks to its clients) and started again on the same port under a
real server with the bundled model; the speech is real (JFK, then the spoken cards)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.attendee import AttendeeClient, devset_pcm16, finals, text_of
from harness.devset import normalize_words
from harness.server import ServerProcess, start_model_server
from harness.services import PrivatePostgres
from harness.transcripts import exported_results

pytestmark = [pytest.mark.model, pytest.mark.postgres]

EN = {"EngineTranscribeSettings": {"LanguageCode": "en-US"}}
SILENCE = b"\x00\x00" * 16000  # 1 s


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres().init().start()
    yield pg
    pg.remove()


@pytest.fixture
def node(tmp_path: Path, bundled_model: Path, postgres: PrivatePostgres) -> Iterator[ServerProcess]:
    proc = start_model_server(tmp_path / "node", bundled_model, "--database-url", postgres.url)
    yield proc
    proc.stop()


async def test_finals_made_while_the_database_is_down_are_delivered_and_then_stored(
    node: ServerProcess, postgres: PrivatePostgres
) -> None:
    chime = node.client()
    mid = chime.create_meeting(ExternalMeetingId="db-outage", MediaRegion="us-east-1")["Meeting"]["MeetingId"]
    speaker = chime.create_attendee(MeetingId=mid, ExternalUserId="speaker")["Attendee"]
    chime.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration=EN)
    talk = await AttendeeClient(
        node.endpoint, mid, speaker["JoinToken"], audio={"format": "pcm16", "sampleRate": 16000}
    ).connect()
    await talk.wait_for(lambda: "started" in talk.statuses(), 30)
    await talk.stream(devset_pcm16("jfk") + SILENCE, speed=2)
    await talk.wait_for(lambda: "country" in normalize_words(text_of(finals(talk))), 30)
    before = len(finals(talk))

    await asyncio.to_thread(postgres.stop)
    await talk.stream(devset_pcm16("cards") + SILENCE, speed=2)
    # The meeting keeps getting its results while nothing can be stored.
    await talk.wait_for(lambda: "hearts" in normalize_words(text_of(finals(talk)[before:])), 30)
    assert "kept to store later" in node.log()

    await asyncio.to_thread(postgres.start)
    delivered = {r["resultId"] for r in finals(talk)}
    stored: set[str] = set()
    async with asyncio.timeout(30):
        while not delivered <= stored:
            await asyncio.sleep(0.5)
            try:
                stored = {r["resultId"] for r in await exported_results(node.endpoint, mid)}
            except (AssertionError, httpx.HTTPError):  # the API may answer 5xx until its pool has reconnected
                continue
    text = " ".join(r["alternatives"][0]["transcript"] for r in await exported_results(node.endpoint, mid))
    assert {"country", "hearts"} <= set(normalize_words(text))
    assert "failed" not in talk.statuses()
    await talk.close()
