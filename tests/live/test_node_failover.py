"""Losing a node (issue 15, in part): an audio-socket attendee whose node is killed (kill -9) reconnects through
another node of the cluster and its transcription goes on; the transcript from before the failure is intact.

Two `parley serve` processes on the machine's PostgreSQL and Redis, without `--media-url`, so MediaPlacement
follows the URL the API call came in on (a load balancer's, in a deployment): an audio socket can land on either
node, and the node it lands on transcribes it. Real speech (JFK, then the spoken cards). A listener on the surviving
node hears `interrupted` when the speaker's node dies and `resumed` when the speaker is back.

Chime SDK (WebRTC) meetings: a meeting's room lives on the node holding its lease; the other nodes forward its
signaling sockets there (parley/signaling/hosting.py). Behind a TCP balancer (harness/balancer.py) both nodes place
media on the balancer's URL; when the host is killed, the SDK clients reconnect through the balancer, the surviving
node takes the meeting over, and transcription goes on.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from harness.attendee import AttendeeClient, devset_pcm16, finals, text_of
from harness.balancer import Balancer
from harness.devset import normalize_words
from harness.media import RATE, MediaPeer, devset_48k
from harness.sdk_session import direct, joined, rejoined
from harness.server import ServerProcess, free_port
from harness.services import balanced_args, two_nodes
from harness.signaling import signaling_url
from harness.transcripts import exported_results

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.model]

EN = {"EngineTranscribeSettings": {"LanguageCode": "en-US"}}
SILENCE = b"\x00\x00" * 16000


@pytest.fixture
def cluster(tmp_path: Path, bundled_model: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with two_nodes(tmp_path, bundled_model, "parley_failover") as nodes:
        yield nodes


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
    await first.stream(devset_pcm16("jfk") + SILENCE, speed=2)
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
    await second.stream(devset_pcm16("cards") + SILENCE, speed=2)
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


# -- Chime SDK rooms -----------------------------------------------------------------------------------------


@pytest.fixture
def balanced_cluster(
    tmp_path: Path, bundled_model: Path
) -> Iterator[tuple[ServerProcess, ServerProcess, int]]:
    """Two nodes whose MediaPlacement is a balancer's URL (the balancer itself runs in the test's event loop)."""
    port = free_port()
    with two_nodes(tmp_path, bundled_model, "parley_rooms", balanced_args(port)) as (a, b):
        yield a, b, port


async def test_sdk_meeting_moves_to_another_node_when_its_host_freezes(
    balanced_cluster: tuple[ServerProcess, ServerProcess, int],
) -> None:
    """Clients of one meeting reaching two nodes meet in one room (the other node relays to the host). The host
    freezes (SIGSTOP: a paused VM, a machine gone from the network): it holds its lease until the cluster takes it
    for dead, then the meeting moves; woken up, it finds its lease taken and gives the room up. (A killed host,
    whose port refuses, is taken over at once: tests/signaling/test_chime_js_failover.py, with the official SDK.)"""
    a, b, port = balanced_cluster
    assert a.proc is not None
    async with Balancer(port, [a.port, b.port]):
        chime = a.client()
        meeting = chime.create_meeting(ExternalMeetingId="takeover", MediaRegion="us-east-1")["Meeting"]
        mid = meeting["MeetingId"]
        assert meeting["MediaPlacement"]["SignalingUrl"].startswith(f"ws://127.0.0.1:{port}/")
        sam = chime.create_attendee(MeetingId=mid, ExternalUserId="sam")["Attendee"]
        lee = chime.create_attendee(MeetingId=mid, ExternalUserId="lee")["Attendee"]
        chime.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration=EN)

        # Sam on node a (the host from here on), Lee on node b, which relays Lee's socket to node a: one room,
        # where each sees the other present and Lee hears Sam in the mix node a makes.
        sam_media = MediaPeer(devset_48k("jfk"))
        talk = await joined(direct(meeting, a), sam, sam_media)
        lee_media = MediaPeer(np.zeros(RATE, dtype=np.int16))  # silent: Lee listens
        hear = await joined(direct(meeting, b), lee, lee_media)
        both = {sam["AttendeeId"], lee["AttendeeId"]}
        await talk.wait_for(lambda: both <= talk.present, 30)
        await hear.wait_for(lambda: both <= hear.present, 30)
        async with asyncio.timeout(30):
            await lee_media.heard.wait()
        await hear.wait_for(lambda: "country" in hear.final_words(), 90)
        before = hear.final_words()

        frozen = time.monotonic()
        a.proc.send_signal(signal.SIGSTOP)
        # Node b notices the silence by its pings and closes Lee's socket with a 45xx code (the SDK reconnects on
        # it). Sam's socket to node a just goes quiet; the SDK's health checks would give up on it.
        await hear.wait_for(lambda: hear.closed is not None, 30)
        assert hear.closed is not None
        assert 4500 <= hear.closed < 4600
        old_talk = talk
        for media in (sam_media, lee_media):
            await media.close()

        # Both reconnect as the SDK does (the same token, through the balancer, again after a failed attempt).
        hear = await rejoined(signaling_url(meeting), lee, lambda: MediaPeer(np.zeros(RATE, dtype=np.int16)))
        moved = time.monotonic() - frozen
        talk = await rejoined(signaling_url(meeting), sam, lambda: MediaPeer(devset_48k("cards")))
        await hear.wait_for(lambda: "resumed" in hear.statuses(), 30)
        statuses = hear.statuses()
        assert statuses.index("interrupted") < statuses.index("resumed")
        await hear.wait_for(lambda: "clubs" in hear.final_words(), 90)
        print(f"Lee back in the meeting on node b {moved:.2f} s after the host froze")
        await hear.wait_for(lambda: both <= hear.present, 30)

        # The host wakes up, finds its lease taken and gives the room up: a client that reaches it now is relayed
        # to node b's room, where Sam and Lee are (not to a room of its own).
        a.proc.send_signal(signal.SIGCONT)
        ann = chime.create_attendee(MeetingId=mid, ExternalUserId="ann")["Attendee"]
        ann_media = MediaPeer(np.zeros(RATE, dtype=np.int16))
        late = await joined(direct(meeting, a), ann, ann_media)
        everyone = both | {ann["AttendeeId"]}
        await late.wait_for(lambda: everyone <= late.present, 30)
        await hear.wait_for(lambda: everyone <= hear.present, 30)
        for client in (late, talk, hear, old_talk):
            await client.stop()
        for media in (ann_media, talk.media, hear.media):
            assert media is not None
            await media.close()

    words = normalize_words(
        " ".join(r["alternatives"][0]["transcript"] for r in await exported_results(b.endpoint, mid))
    )
    assert "country" in before
    assert "country" in words  # what node a transcribed before it froze
    assert "clubs" in words  # what node b transcribed after taking the meeting over
