"""The Compose stack's topology, run as processes (this machine has no container engine): two parley nodes on
PostgreSQL and Redis behind Caddy configured by ``deploy/Caddyfile`` itself, with only the Compose service names
replaced by this machine's ports (and Caddy's admin endpoint turned off, so tests can run side by side). The API
(boto3) and the Chime SDK signaling go through Caddy, and the meeting's sockets meet in one room whichever node
Caddy picks; when the node hosting the meeting is killed, Caddy's health check and retries send the reconnecting
clients to the other node, which takes the meeting over. coturn is covered by tests/signaling/test_turn.py."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.config import Config

from harness.console import signed_in
from harness.media import RATE, MediaPeer
from harness.sdk_session import Listener, direct, joined, rejoined
from harness.server import IDENTITIES, ServerProcess, free_port
from harness.services import balanced_args, two_nodes
from harness.signaling import frame, signaling_url
from parley.proto import chime_signaling_pb2 as pb
from tests.conftest import repo_root
from tests.ops.test_operations import scrape, value

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@contextlib.contextmanager
def caddy(root: Path, port: int, a: ServerProcess, b: ServerProcess) -> Iterator[str]:
    text = (repo_root() / "deploy" / "Caddyfile").read_text()
    text = text.replace(":8000 {", f":{port} {{", 1)
    text = text.replace("parley-1:8000", f"127.0.0.1:{a.port}").replace(
        "parley-2:8000", f"127.0.0.1:{b.port}"
    )
    config = root / "Caddyfile"
    config.write_text("{\n\tadmin off\n}\n" + text)
    env = os.environ | {"HOME": str(root), "XDG_DATA_HOME": str(root / "data"), "XDG_CONFIG_HOME": str(root)}
    with (root / "caddy.log").open("wb") as log:
        proc = subprocess.Popen(
            ["caddy", "run", "--config", str(config), "--adapter", "caddyfile"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (root / "caddy.log").read_text()
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(url + "/healthz", timeout=2).status == 200:
                    break
            assert time.monotonic() < deadline, "Caddy did not come up"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def stack(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess, Any]]:
    """Two nodes behind Caddy, as compose.yaml runs them; (node a, node b, a boto3 client through Caddy)."""
    port = free_port()
    args = [*balanced_args(port), "--trusted-address", "127.0.0.0/8"]
    with two_nodes(tmp_path, None, "parley_proxy", args) as (a, b), caddy(tmp_path, port, a, b) as url:
        key, secret, _account = IDENTITIES["alice"]
        chime = boto3.client(
            "chime-sdk-meetings",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=Config(retries={"mode": "standard"}),
        )
        yield a, b, chime


async def one_room_on_two_nodes(
    a: ServerProcess, chime: Any
) -> tuple[dict[str, Any], list[dict[str, Any]], list[Listener], list[MediaPeer]]:
    """A meeting of three: Sam straight to node a, which then hosts; Lee and Kim through Caddy (round robin: at
    least one of them lands on node b, which relays). All three in one room."""
    meeting = chime.create_meeting(ExternalMeetingId="behind-caddy", MediaRegion="us-east-1")["Meeting"]
    mid = meeting["MeetingId"]
    people = [
        chime.create_attendee(MeetingId=mid, ExternalUserId=n)["Attendee"] for n in ("sam", "lee", "kim")
    ]
    medias = [MediaPeer(np.zeros(RATE, dtype=np.int16)) for _ in people]
    sessions = [await joined(direct(meeting, a), people[0], medias[0])]
    sessions += [
        await joined(signaling_url(meeting), p, m) for p, m in zip(people[1:], medias[1:], strict=True)
    ]
    await all_present(sessions, people)
    return meeting, people, sessions, medias


def muted_streams(session: Listener) -> list[Any]:
    """The presence entries that said a stream muted itself, as the SDK's realtime controller reads them."""
    return [
        stream
        for message in session.client.received
        if message.type == pb.SdkSignalFrame.AUDIO_STREAM_ID_INFO
        for stream in message.audio_stream_id_info.streams
        if stream.HasField("muted")
    ]


async def all_present(sessions: list[Listener], people: list[dict[str, Any]]) -> None:
    ids = {p["AttendeeId"] for p in people}
    for session in sessions:
        await session.wait_for(lambda s=session: ids <= s.present, 30)


async def rejoin_through_caddy(
    meeting: dict[str, Any], people: list[dict[str, Any]], sessions: list[Listener], medias: list[MediaPeer]
) -> None:
    """Every session's socket closes; they reconnect through Caddy, as the SDK does, and meet again."""
    for session in sessions:
        await session.wait_for(lambda s=session: s.closed is not None, 30)
        await session.stop()
    for media in medias:
        await media.close()
    sessions = [
        await rejoined(signaling_url(meeting), p, lambda: MediaPeer(np.zeros(RATE, dtype=np.int16)))
        for p in people
    ]
    await all_present(sessions, people)
    for session in sessions:
        await session.stop()
        if session.media is not None:
            await session.media.close()


async def test_the_compose_proxy_serves_a_meeting_and_its_takeover(tmp_path: Path) -> None:
    with stack(tmp_path) as (a, b, chime):
        meeting, people, sessions, medias = await one_room_on_two_nodes(a, chime)
        assert meeting["MediaPlacement"]["SignalingUrl"].startswith(
            chime.meta.endpoint_url.replace("http", "ws")
        )
        # What an operator sees: node a hosts the room, node b relays (metrics, docs/operations.md).
        assert value(scrape(a), "parley_signaling_rooms") == 1
        relaying = scrape(b)
        assert value(relaying, "parley_signaling_relayed_sockets") >= 1
        assert value(relaying, "parley_signaling_rooms") == 0
        # Lee mutes: only the host hears it, yet the console of either node shows it.
        await sessions[1].client.send(frame(pb.SdkSignalFrame.AUDIO_CONTROL, "audio_control", muted=True))
        await sessions[0].wait_for(lambda: any(s.muted for s in muted_streams(sessions[0])), 30)
        for node in (a, b):
            console = signed_in(node)
            try:
                roster = console.get(f"/console/api/meetings/{meeting['MeetingId']}/attendees").json()
            finally:
                console.close()
            muted = {p["ExternalUserId"] for p in roster["Attendees"] if p["Muted"]}
            assert muted == {"lee"}
        a.kill9()  # sockets dropped by node a's death, or closed 45xx by node b's relay
        await rejoin_through_caddy(meeting, people, sessions, medias)
        mid = meeting["MeetingId"]
        assert chime.get_meeting(MeetingId=mid)["Meeting"]["MeetingId"] == mid  # the API, through Caddy
        assert value(scrape(b), "parley_signaling_room_takeovers_total") == 1


async def test_a_node_stopping_tells_its_sdk_clients_to_reconnect(tmp_path: Path) -> None:
    """A rolling restart: SIGTERM to the node hosting the meeting. Every SDK socket it holds, its own and the ones
    node b relays to it, closes with a 45xx code (uvicorn's own 1012 is a clean close the SDK ignores, leaving it
    without signaling until its health checks give up), and the clients meet again on node b."""
    with stack(tmp_path) as (a, _b, chime):
        meeting, people, sessions, medias = await one_room_on_two_nodes(a, chime)
        a.stop()
        for session in sessions:
            await session.wait_for(lambda s=session: s.closed is not None, 30)
            assert session.closed is not None
            assert 4500 <= session.closed < 4600, session.closed
        await rejoin_through_caddy(meeting, people, sessions, medias)
