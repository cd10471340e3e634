"""The event bus (Redis) goes away while a meeting is transcribing (issue 15): participants hear `interrupted`,
keep getting this node's final results, hear `resumed` when Redis is back, and the exported transcript has every
final. A private Redis is killed and restarted on the same port under a real server with the bundled model;
the speech is real (JFK, then the spoken cards)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.attendee import AttendeeClient, devset_pcm16, finals, text_of
from harness.devset import normalize_words
from harness.server import ServerProcess, start_model_server
from harness.services import PrivateRedis
from harness.transcripts import exported_results

pytestmark = [pytest.mark.model, pytest.mark.redis]

EN = {"EngineTranscribeSettings": {"LanguageCode": "en-US"}}
SILENCE = b"\x00\x00" * 16000  # 1 s


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "redis").start()
    yield server
    server.kill()


@pytest.fixture
def node(tmp_path: Path, bundled_model: Path, redis: PrivateRedis) -> Iterator[ServerProcess]:
    proc = start_model_server(tmp_path / "node", bundled_model, "--redis-url", redis.url)
    yield proc
    proc.stop()


async def test_redis_outage_is_interrupted_then_resumed_and_loses_no_final(
    node: ServerProcess, redis: PrivateRedis, tmp_path: Path
) -> None:
    chime = node.client()
    mid = chime.create_meeting(ExternalMeetingId="outage", MediaRegion="us-east-1")["Meeting"]["MeetingId"]
    speaker = chime.create_attendee(MeetingId=mid, ExternalUserId="speaker")["Attendee"]
    chime.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration=EN)
    talk = await AttendeeClient(
        node.endpoint, mid, speaker["JoinToken"], audio={"format": "pcm16", "sampleRate": 16000}
    ).connect()
    await talk.wait_for(lambda: "started" in talk.statuses(), 30)
    # Within the audio budget's 30 s burst, so twice real time is accepted.
    await talk.stream(devset_pcm16("jfk") + SILENCE, speed=2)
    await talk.wait_for(lambda: "country" in normalize_words(text_of(finals(talk))), 30)
    before = len(finals(talk))

    port = redis.port
    redis.kill()
    await talk.wait_for(lambda: "interrupted" in talk.statuses(), 30)
    await talk.stream(devset_pcm16("cards") + SILENCE, speed=2)
    # This node's participants keep getting results while the bus is down.
    await talk.wait_for(lambda: "hearts" in normalize_words(text_of(finals(talk)[before:])), 30)

    redis.proc = PrivateRedis(redis.root, port=port).start().proc  # the fixture kills this one at the end
    await talk.wait_for(lambda: "resumed" in talk.statuses(), 30)
    statuses = talk.statuses()
    assert statuses.index("interrupted") < statuses.index("resumed")
    assert "failed" not in statuses

    delivered = [r["resultId"] for r in finals(talk)]
    assert len(delivered) == len(set(delivered))  # nothing delivered twice by the replay
    stored = [r["resultId"] for r in await exported_results(node.endpoint, mid)]
    assert set(delivered) == set(stored)
    await talk.close()
    chime.delete_meeting(MeetingId=mid)
