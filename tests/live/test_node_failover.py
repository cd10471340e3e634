"""Losing a node (issue 15, in part): an audio-socket attendee whose node is killed (kill -9) reconnects through
another node of the cluster and its transcription goes on; the transcript from before the failure is intact.

Two `parley serve` processes on the machine's PostgreSQL and Redis, without `--media-url`, so MediaPlacement
follows the URL the API call came in on (a load balancer's, in a deployment): an audio socket can land on either
node, and the node it lands on transcribes it. Real speech (JFK, then the spoken cards). A listener on the surviving
node hears `interrupted` when the speaker's node dies and `resumed` when the speaker is back. What is *not* shown
here: Chime SDK (WebRTC) meetings, whose rooms live on one node, are not taken over by another node.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.attendee import AttendeeClient, finals, text_of
from harness.devset import load_clip_samples, normalize_words
from harness.server import ServerProcess, write_credentials
from harness.services import node_args, scratch_database
from harness.transcripts import exported_results
from parley.audio.frames import float32_to_pcm16

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.model]

EN = {"EngineTranscribeSettings": {"LanguageCode": "en-US"}}
SILENCE = b"\x00\x00" * 16000


@pytest.fixture
def cluster(tmp_path: Path, bundled_model: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with scratch_database("parley_failover") as url:
        creds = write_credentials(tmp_path / "credentials")
        shared = node_args(url, bundled_model)
        a = ServerProcess(data_dir=tmp_path / "a", credentials=creds, extra_args=shared, lazy_model=False)
        b = ServerProcess(data_dir=tmp_path / "b", credentials=creds, extra_args=shared, lazy_model=False)
        a.start(timeout=120)
        b.start(timeout=120)
        try:
            yield a, b
        finally:
            a.stop()
            b.stop()


def pcm(name: str) -> bytes:
    samples, _ = load_clip_samples(name)
    return float32_to_pcm16(samples)


async def test_an_attendee_reconnects_through_another_node_after_kill_9(
    cluster: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = cluster
    chime = a.client()
    mid = chime.create_meeting(ExternalMeetingId="failover", MediaRegion="us-east-1")["Meeting"]["MeetingId"]
    speaker = chime.create_attendee(MeetingId=mid, ExternalUserId="speaker")["Attendee"]
    chime.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration=EN)
    audio = {"format": "pcm16", "sampleRate": 16000}

    listener = chime.create_attendee(MeetingId=mid, ExternalUserId="listener")["Attendee"]
    # A participant on the node that survives: it hears the speaker across the cluster, and is told when the
    # speaker's node dies and when the speaker is back.
    audience = await AttendeeClient(b.endpoint, mid, listener["JoinToken"]).connect()
    first = await AttendeeClient(a.endpoint, mid, speaker["JoinToken"], audio=audio).connect()
    await first.wait_for(lambda: "started" in first.statuses(), 30)
    await first.stream(pcm("jfk") + SILENCE, speed=2)
    await first.wait_for(lambda: "country" in normalize_words(text_of(finals(first))), 60)
    await audience.wait_for(lambda: "country" in normalize_words(text_of(finals(audience))), 30)
    before = {r["resultId"] for r in finals(first)}

    a.kill9()  # the node dies with the socket open: no close, no goodbye
    await first.wait_closed(30)
    # Node b stops hearing node a's heartbeat and tells its participants (LiveSettings.node_timeout_s).
    await audience.wait_for(lambda: "interrupted" in audience.statuses(), 30)
    assert "resumed" not in audience.statuses()

    # The client reconnects (as the SDKs do) and the cluster's other node takes the socket.
    second = await AttendeeClient(b.endpoint, mid, speaker["JoinToken"], audio=audio).connect()
    await second.wait_for(lambda: "started" in second.statuses() or "interrupted" in second.statuses(), 30)
    await audience.wait_for(lambda: "resumed" in audience.statuses(), 30)
    statuses = audience.statuses()
    assert statuses.index("interrupted") < statuses.index("resumed")
    await second.stream(pcm("cards") + SILENCE, speed=2)
    await second.wait_for(lambda: "hearts" in normalize_words(text_of(finals(second))), 60)
    after = {r["resultId"] for r in finals(second)}
    await audience.wait_for(lambda: after <= {r["resultId"] for r in finals(audience)}, 30)
    await second.close()
    await audience.close()

    results = await exported_results(b.endpoint, mid)
    stored = {r["resultId"] for r in results}
    assert before <= stored  # what node a transcribed before it died
    assert after <= stored  # what node b transcribed after the reconnect
    text = " ".join(r["alternatives"][0]["transcript"] for r in results)
    words = normalize_words(text)
    assert "country" in words
    assert "hearts" in words
