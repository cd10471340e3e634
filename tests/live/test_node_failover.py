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
from typing import Any

import numpy as np
import pytest

from harness.attendee import AttendeeClient, finals, text_of
from harness.balancer import Balancer
from harness.devset import load_clip_samples, normalize_words
from harness.media import RATE, MediaPeer, devset_48k
from harness.server import ServerProcess, free_port
from harness.services import balanced_args, two_nodes
from harness.signaling import SignalingClient, signaling_url
from harness.transcripts import exported_results
from parley.audio.frames import float32_to_pcm16
from parley.proto import chime_signaling_pb2 as pb
from parley.transcripts.events import Transcript, TranscriptionStatus
from parley.transcripts.wire import from_sdk_transcript_frame

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.model]

EN = {"EngineTranscribeSettings": {"LanguageCode": "en-US"}}
SILENCE = b"\x00\x00" * 16000


@pytest.fixture
def cluster(tmp_path: Path, bundled_model: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with two_nodes(tmp_path, bundled_model, "parley_failover") as nodes:
        yield nodes


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


# -- Chime SDK rooms -----------------------------------------------------------------------------------------


@pytest.fixture
def balanced_cluster(
    tmp_path: Path, bundled_model: Path
) -> Iterator[tuple[ServerProcess, ServerProcess, int]]:
    """Two nodes whose MediaPlacement is a balancer's URL (the balancer itself runs in the test's event loop)."""
    port = free_port()
    with two_nodes(tmp_path, bundled_model, "parley_rooms", balanced_args(port)) as (a, b):
        yield a, b, port


def direct(meeting: dict[str, Any], node: ServerProcess) -> str:
    """The meeting's signaling URL on one node, bypassing the balancer."""
    url = signaling_url(meeting)
    return node.endpoint.replace("http", "ws", 1) + url[url.index("/control/") :]


class Listener:
    """A Chime SDK signaling client that keeps reading: presence snapshots and transcript events."""

    def __init__(self, client: SignalingClient) -> None:
        self.client = client
        self.events: list[Any] = []
        self._streams: dict[int, str] = {}  # audio stream id → attendee id, from presence frames
        self.closed: int | None = None
        self._changed = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._read())

    def _take(self, message: Any) -> None:
        if message.type == pb.SdkSignalFrame.AUDIO_STREAM_ID_INFO:
            for stream in message.audio_stream_id_info.streams:
                if stream.dropped:
                    self._streams.pop(stream.audio_stream_id, None)
                elif stream.attendee_id:
                    self._streams[stream.audio_stream_id] = stream.attendee_id
        elif message.type == pb.SdkSignalFrame.DATA_MESSAGE:
            for payload in message.data_message.messages:
                self.events += from_sdk_transcript_frame(payload.data)
        self._changed.set()

    async def _read(self) -> None:
        import websockets

        for message in self.client.received:  # what came while the client joined and subscribed
            self._take(message)
        try:
            while True:
                self._take(await self.client.recv())
        except websockets.ConnectionClosed as exc:
            self.closed = exc.rcvd.code if exc.rcvd is not None else 1006
        except TimeoutError:
            pass
        self._changed.set()

    @property
    def present(self) -> set[str]:
        return set(self._streams.values())

    def statuses(self) -> list[str]:
        return [e.type for e in self.events if isinstance(e, TranscriptionStatus)]

    def final_words(self) -> list[str]:
        text = " ".join(
            r.alternatives[0].transcript
            for e in self.events
            if isinstance(e, Transcript)
            for r in e.results
            if not r.is_partial
        )
        return normalize_words(text)

    async def wait_for(self, condition: Any, seconds: float) -> None:
        async with asyncio.timeout(seconds):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    async def stop(self) -> None:
        self._task.cancel()
        await self.client.close()


async def joined(url: str, attendee: dict[str, Any], media: MediaPeer | None = None) -> Listener:
    """Join (and send ``media``'s audio) as the SDK does, then keep reading."""
    client = await SignalingClient(url, attendee["JoinToken"]).connect()
    await client.join()
    if media is not None:
        await media.subscribe(client, attendee["AttendeeId"])
    return Listener(client)


async def test_sdk_clients_reaching_two_nodes_meet_in_one_room(
    balanced_cluster: tuple[ServerProcess, ServerProcess, int],
) -> None:
    a, b, _port = balanced_cluster
    chime = a.client()
    meeting = chime.create_meeting(ExternalMeetingId="one-room", MediaRegion="us-east-1")["Meeting"]
    mid = meeting["MeetingId"]
    ann = chime.create_attendee(MeetingId=mid, ExternalUserId="ann")["Attendee"]
    bob = chime.create_attendee(MeetingId=mid, ExternalUserId="bob")["Attendee"]

    ann_media = MediaPeer(devset_48k("jfk"))
    first = await joined(direct(meeting, a), ann, ann_media)  # node a hosts the room from here on
    bob_media = MediaPeer(devset_48k("austen"))
    second = await joined(direct(meeting, b), bob, bob_media)  # node b forwards Bob's socket to node a
    # One room: each sees the other present, and hears the other in the mix that node a makes.
    both = {ann["AttendeeId"], bob["AttendeeId"]}
    await first.wait_for(lambda: both <= first.present, 30)
    await second.wait_for(lambda: both <= second.present, 30)
    async with asyncio.timeout(30):
        await bob_media.heard.wait()
        await ann_media.heard.wait()
    for client in (first, second):
        await client.stop()
    for media in (ann_media, bob_media):
        await media.close()


@pytest.mark.parametrize("failure", ["kill -9", "SIGSTOP"])
async def test_sdk_meeting_is_taken_over_when_its_host_fails(
    balanced_cluster: tuple[ServerProcess, ServerProcess, int], failure: str
) -> None:
    """A killed host refuses connections, and the first client back takes the meeting over at once; a frozen one
    (a paused VM, a machine gone from the network) holds its lease until the cluster takes it for dead."""
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

        # Sam on node a (the host), Lee on node b (forwarded to a).
        sam_media = MediaPeer(devset_48k("jfk"))
        talk = await joined(direct(meeting, a), sam, sam_media)
        lee_media = MediaPeer(np.zeros(RATE, dtype=np.int16))  # silent: Lee listens
        hear = await joined(direct(meeting, b), lee, lee_media)
        await hear.wait_for(lambda: "country" in hear.final_words(), 90)
        before = hear.final_words()

        failed = time.monotonic()
        if failure == "kill -9":
            a.kill9()
        else:
            a.proc.send_signal(signal.SIGSTOP)
        # Node b closes Lee's socket with a 45xx code, on which the SDK reconnects: at once when the host's
        # connection drops, after missed pings when it only goes quiet.
        await hear.wait_for(lambda: hear.closed is not None, 30)
        assert hear.closed is not None
        assert 4500 <= hear.closed < 4600
        old_talk = talk  # a frozen host's sockets go quiet; the SDK's health checks would give up on them
        for media in (sam_media, lee_media):
            await media.close()

        # Both reconnect as the SDK does: the same token, through the balancer (which now reaches node b only).
        lee_media = MediaPeer(np.zeros(RATE, dtype=np.int16))
        hear = await joined(signaling_url(meeting), lee, lee_media)
        taken_over = time.monotonic() - failed
        sam_media = MediaPeer(devset_48k("cards"))
        talk = await joined(signaling_url(meeting), sam, sam_media)
        await hear.wait_for(lambda: "resumed" in hear.statuses(), 30)
        statuses = hear.statuses()
        assert statuses.index("interrupted") < statuses.index("resumed")
        await hear.wait_for(lambda: "clubs" in hear.final_words(), 90)
        print(f"{failure}: Lee back in the meeting on node b {taken_over:.2f} s after the host failed")
        assert {sam["AttendeeId"], lee["AttendeeId"]} <= hear.present

        if failure == "SIGSTOP":
            # The host wakes up, finds its lease taken and gives the room up: a client that reaches it now is
            # forwarded to node b's room, where Sam and Lee are (not to a room of its own).
            a.proc.send_signal(signal.SIGCONT)
            ann = chime.create_attendee(MeetingId=mid, ExternalUserId="ann")["Attendee"]
            ann_media = MediaPeer(np.zeros(RATE, dtype=np.int16))
            late = await joined(direct(meeting, a), ann, ann_media)
            everyone = {sam["AttendeeId"], lee["AttendeeId"], ann["AttendeeId"]}
            await late.wait_for(lambda: everyone <= late.present, 30)
            await hear.wait_for(lambda: everyone <= hear.present, 30)
            await late.stop()
            await ann_media.close()
        for client in (talk, hear, old_talk):
            await client.stop()
        for media in (sam_media, lee_media):
            await media.close()

    words = normalize_words(
        " ".join(r["alternatives"][0]["transcript"] for r in await exported_results(b.endpoint, mid))
    )
    assert "country" in before
    assert "country" in words  # what node a transcribed before it failed
    assert "clubs" in words  # what node b transcribed after taking the meeting over
