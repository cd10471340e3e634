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

import boto3
import numpy as np
import pytest
from botocore.config import Config

from harness.media import RATE, MediaPeer
from harness.sdk_session import direct, joined
from harness.server import IDENTITIES, ServerProcess, free_port
from harness.services import balanced_args, two_nodes
from harness.signaling import signaling_url
from tests.conftest import repo_root

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


async def test_the_compose_proxy_serves_a_meeting_and_its_takeover(tmp_path: Path) -> None:
    port = free_port()
    with (
        two_nodes(
            tmp_path, None, "parley_proxy", [*balanced_args(port), "--trusted-address", "127.0.0.0/8"]
        ) as (
            a,
            b,
        ),
        caddy(tmp_path, port, a, b) as url,
    ):
        key, secret, _account = IDENTITIES["alice"]
        chime = boto3.client(
            "chime-sdk-meetings",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=Config(retries={"mode": "standard"}),
        )
        meeting = chime.create_meeting(ExternalMeetingId="behind-caddy", MediaRegion="us-east-1")["Meeting"]
        mid = meeting["MeetingId"]
        assert meeting["MediaPlacement"]["SignalingUrl"].startswith(f"ws://127.0.0.1:{port}/control/")
        people = [
            chime.create_attendee(MeetingId=mid, ExternalUserId=n)["Attendee"] for n in ("sam", "lee", "kim")
        ]
        ids = {p["AttendeeId"] for p in people}

        # Sam straight to node a, which then hosts; Lee and Kim through Caddy (round robin: at least one of them
        # lands on node b, which relays). All three in one room.
        medias = [MediaPeer(np.zeros(RATE, dtype=np.int16)) for _ in people]
        sessions = [await joined(direct(meeting, a), people[0], medias[0])]
        sessions += [
            await joined(signaling_url(meeting), p, m) for p, m in zip(people[1:], medias[1:], strict=True)
        ]
        for session in sessions:
            await session.wait_for(lambda s=session: ids <= s.present, 30)

        a.kill9()
        for session in sessions:  # dropped by node a's death, or closed 45xx by node b's relay
            await session.wait_for(lambda s=session: s.closed is not None, 30)
            await session.stop()
        for media in medias:
            await media.close()
        # They reconnect through Caddy, as the SDK does, and meet again on node b.
        medias = [MediaPeer(np.zeros(RATE, dtype=np.int16)) for _ in people]
        sessions = [await joined(signaling_url(meeting), p, m) for p, m in zip(people, medias, strict=True)]
        for session in sessions:
            await session.wait_for(lambda s=session: ids <= s.present, 30)
        assert chime.get_meeting(MeetingId=mid)["Meeting"]["MeetingId"] == mid  # the API, through Caddy
        for session in sessions:
            await session.stop()
        for media in medias:
            await media.close()
