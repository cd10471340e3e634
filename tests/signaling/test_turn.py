"""TURN credentials in JOIN_ACK (coturn's TURN REST API scheme), from the HMAC up to the signaling socket.

The SDK takes TURN only from ``JOIN_ACK.turn_credentials`` and goes relay-only when ``uris`` is non-empty
(shared reference chime-signaling.md §8.3), so the fields, their numbers and the password must be exact.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCConfiguration, RTCIceServer
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from harness.media import MediaPeer, tone
from harness.server import ServerProcess, free_port, write_credentials
from harness.signaling import SignalingClient, signaling_url
from parley import cli
from parley.proto import chime_signaling_pb2 as pb
from parley.signaling import frames
from parley.signaling.turn import (
    DEFAULT_TTL_S,
    TurnConfigError,
    TurnIssuer,
    TurnSettings,
    parse_uris,
    rest_api_credentials,
)

SECRET = "north-wind-static-secret"
ATTENDEE = "4f8c2a1e-0000-4000-8000-000000000001"
URIS = ("turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349?transport=tcp")


def independent_password(secret: str, username: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()


# -- the credential computation ------------------------------------------------------------------


def test_rest_api_credentials_match_a_fixed_vector() -> None:
    # Vector computed outside Python: printf '%s' '1700086400:<attendee>' | openssl dgst -sha1 -hmac <secret>
    # -binary | base64
    username, password = rest_api_credentials(SECRET, ATTENDEE, 1_700_086_400)
    assert username == f"1700086400:{ATTENDEE}"
    assert password == "C1ivpJP1yj5A+GFWU+fnDO1Rz4Q="
    assert password == independent_password(SECRET, username)


def test_issuer_puts_expiry_ttl_and_uris_into_the_credentials() -> None:
    issuer = TurnIssuer(TurnSettings(uris=URIS, secret=SECRET, ttl_s=600), clock=lambda: 1_700_000_000.7)
    creds = issuer.issue(ATTENDEE)
    assert creds is not None
    assert creds.username == f"1700000600:{ATTENDEE}"
    assert creds.password == independent_password(SECRET, creds.username)
    assert creds.ttl == 600
    assert creds.uris == URIS


def test_issuer_without_turn_issues_nothing() -> None:
    issuer = TurnIssuer(TurnSettings())
    assert not issuer.enabled
    assert issuer.issue(ATTENDEE) is None


@pytest.mark.parametrize(
    "settings",
    [
        TurnSettings(uris=URIS),  # no secret: coturn would reject every credential
        TurnSettings(secret=SECRET),  # a secret but nowhere to use it
        TurnSettings(uris=("stun:stun.example.com:3478",), secret=SECRET),
        TurnSettings(uris=("turn:",), secret=SECRET),
        TurnSettings(uris=URIS, secret=SECRET, ttl_s=0),
    ],
)
def test_unusable_settings_are_refused(settings: TurnSettings) -> None:
    with pytest.raises(TurnConfigError):
        TurnIssuer(settings)


def test_uri_lists_split_on_commas_and_spaces_without_duplicates() -> None:
    assert parse_uris([f"{URIS[0]}, {URIS[1]}", URIS[0]]) == URIS
    assert parse_uris([""]) == ()


# -- the frame -----------------------------------------------------------------------------------


def test_turn_fields_keep_the_sdk_field_numbers() -> None:
    # SignalingProtocol.proto: SdkJoinAckFrame.turn_credentials = 1; SdkTurnCredentials username = 1,
    # password = 2, ttl = 3, repeated uris = 4. A renumbering would make the SDK read nothing.
    assert pb.SdkSignalFrame.DESCRIPTOR.fields_by_name["joinack"].number == 5
    assert pb.SdkJoinAckFrame.DESCRIPTOR.fields_by_name["turn_credentials"].number == 1
    fields = pb.SdkTurnCredentials.DESCRIPTOR.fields_by_name
    assert {name: fields[name].number for name in ("username", "password", "ttl", "uris")} == {
        "username": 1,
        "password": 2,
        "ttl": 3,
        "uris": 4,
    }
    assert fields["uris"].is_repeated
    assert fields["ttl"].type == fields["ttl"].TYPE_UINT32


def test_join_ack_carries_the_credentials_only_when_given() -> None:
    plain = frames.decode(frames.join_ack())
    assert plain.HasField("joinack")
    assert not plain.joinack.HasField("turn_credentials")
    creds = TurnIssuer(TurnSettings(uris=URIS, secret=SECRET)).issue(ATTENDEE)
    assert creds is not None
    ack = frames.decode(frames.join_ack(creds)).joinack
    assert ack.turn_credentials.username == creds.username
    assert ack.turn_credentials.password == creds.password
    assert ack.turn_credentials.ttl == DEFAULT_TTL_S
    assert tuple(ack.turn_credentials.uris) == URIS


# -- the command line ----------------------------------------------------------------------------


def serve_args(*argv: str, env: dict[str, str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli._serve_options(parser.add_subparsers(dest="command").add_parser("serve"), env or {})
    return parser.parse_args(["serve", *argv])


def test_cli_options_and_environment(tmp_path: Path) -> None:
    args = serve_args(
        "--turn-uri", URIS[0], "--turn-uri", URIS[1], "--turn-secret", SECRET, "--turn-ttl", "60"
    )
    assert cli._turn_settings(args) == TurnSettings(uris=URIS, secret=SECRET, ttl_s=60)
    env = {"PARLEY_TURN_URIS": ",".join(URIS), "PARLEY_TURN_SECRET": SECRET, "PARLEY_TURN_TTL": "120"}
    assert cli._turn_settings(serve_args(env=env)) == TurnSettings(uris=URIS, secret=SECRET, ttl_s=120)
    secret_file = tmp_path / "turn-secret"
    secret_file.write_text(SECRET + "\n")
    args = serve_args(
        "--turn-uri", URIS[0], "--turn-secret-file", str(secret_file), env={"PARLEY_TURN_SECRET": "ignored"}
    )
    assert cli._turn_settings(args).secret == SECRET
    assert cli._turn_settings(serve_args()) == TurnSettings()


def test_serve_refuses_a_turn_uri_without_a_secret(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "parley", "serve", "--data-dir", str(tmp_path), "--turn-uri", URIS[0]],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("PARLEY_TURN_")},
    )
    assert result.returncode == 2
    assert "turn-secret" in result.stderr


# -- over the real signaling socket ---------------------------------------------------------------


@pytest.fixture(scope="module")
def turn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("parley-turn")
    secret_file = root / "turn-secret"
    secret_file.write_text(SECRET)
    args = ["--turn-uri", URIS[0], "--turn-uri", URIS[1], "--turn-secret-file", str(secret_file)]
    proc = ServerProcess(
        data_dir=root / "data", credentials=write_credentials(root / "credentials"), extra_args=args
    ).start()
    yield proc
    proc.stop()


async def join_ack_of(server: ServerProcess, name: str) -> tuple[Any, dict[str, Any]]:
    chime = server.client("alice")
    meeting = chime.create_meeting(ExternalMeetingId="turn", MediaRegion="us-east-1")["Meeting"]
    attendee = chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId=name)["Attendee"]
    client = await SignalingClient(signaling_url(meeting), attendee["JoinToken"]).connect()
    try:
        ack, index = await client.join()
    finally:
        await client.close()
    assert ack.type == pb.SdkSignalFrame.JOIN_ACK
    assert index.type == pb.SdkSignalFrame.INDEX
    return ack, attendee


async def test_join_ack_over_the_socket_carries_turn_credentials(turn_server: ServerProcess) -> None:
    before = int(time.time())
    ack, attendee = await join_ack_of(turn_server, "ann")
    assert ack.joinack.HasField("turn_credentials")
    creds = ack.joinack.turn_credentials
    expiry, _, user = creds.username.partition(":")
    assert user == attendee["AttendeeId"]
    assert before + DEFAULT_TTL_S <= int(expiry) <= int(time.time()) + DEFAULT_TTL_S
    assert creds.password == independent_password(SECRET, creds.username)  # what coturn recomputes
    assert creds.ttl == DEFAULT_TTL_S
    assert tuple(creds.uris) == URIS


async def test_each_attendee_gets_its_own_username(turn_server: ServerProcess) -> None:
    (first, a), (second, b) = await join_ack_of(turn_server, "ann"), await join_ack_of(turn_server, "bea")
    assert first.joinack.turn_credentials.username.endswith(a["AttendeeId"])
    assert second.joinack.turn_credentials.username.endswith(b["AttendeeId"])


async def test_join_ack_without_turn_options_has_no_credentials(server: ServerProcess) -> None:
    ack, _ = await join_ack_of(server, "cid")
    assert ack.HasField("joinack")
    assert not ack.joinack.HasField("turn_credentials")


# -- through a real coturn on loopback (`make test` installs Debian's coturn) ----------------------------


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """coturn with the TURN REST API secret on 127.0.0.1; loopback peers allowed (parley is on loopback)."""
    binary = shutil.which("turnserver")
    if binary is None:
        pytest.fail("coturn (turnserver) is not installed: `make system-deps` installs Debian's coturn")
    root = tmp_path_factory.mktemp("coturn")
    port = free_port()
    relay = 50_000 + port % 10_000  # a small relay range of its own
    cmd = [
        binary, "-n", "--listening-ip=127.0.0.1", f"--listening-port={port}", "--relay-ip=127.0.0.1",
        f"--min-port={relay}", f"--max-port={relay + 20}", "--use-auth-secret", f"--static-auth-secret={SECRET}",
        "--realm=parley.test", "--allow-loopback-peers", "--no-cli", "--no-tls", "--no-dtls", "--fingerprint",
        "--verbose", f"--log-file={root / 'turn.log'}", "--simple-log", f"--pidfile={root / 'turn.pid'}",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_log(root, "Total General servers", 10.0)
    yield port, root
    proc.terminate()
    proc.wait(10)


def read_logs(root: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in root.glob("turn*.log"))


def wait_for_log(root: Path, text: str, timeout: float) -> bool:
    """coturn writes its log asynchronously; poll for a line instead of guessing a delay."""
    deadline = time.monotonic() + timeout
    while text not in read_logs(root):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture(scope="module")
def relayed_server(
    tmp_path_factory: pytest.TempPathFactory, coturn: tuple[int, Path]
) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("parley-relayed")
    args = ["--media-address", "127.0.0.1", "--turn-uri", f"turn:127.0.0.1:{coturn[0]}?transport=udp"]
    proc = ServerProcess(
        data_dir=root / "data", credentials=write_credentials(root / "credentials"), extra_args=args
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PARLEY_TURN_SECRET", SECRET)  # the environment route (ServerProcess copies os.environ)
        proc.start()
    yield proc
    proc.stop()


class RelayPeer(MediaPeer):
    """The SDK's peer connection when JOIN_ACK has TURN: ``iceServers`` from it and relay-only ICE."""

    def __init__(self, samples: Any, ack: Any) -> None:
        creds = ack.joinack.turn_credentials
        config = RTCConfiguration(
            iceServers=[
                RTCIceServer(urls=list(creds.uris), username=creds.username, credential=creds.password)
            ],
            iceTransportPolicy=RTCIceTransportPolicy.RELAY,
        )
        super().__init__(samples, config)


async def test_audio_flows_through_coturn_with_the_issued_credentials(
    relayed_server: ServerProcess, coturn: tuple[int, Path]
) -> None:
    chime = relayed_server.client("alice")
    meeting = chime.create_meeting(ExternalMeetingId="relayed", MediaRegion="us-east-1")["Meeting"]
    people = [
        chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId=name)["Attendee"]
        for name in ("talker", "listener")
    ]
    clients, peers = [], []
    try:
        for attendee, samples in zip(people, (tone(8.0), tone(8.0, hz=0.0)), strict=True):
            client = await SignalingClient(signaling_url(meeting), attendee["JoinToken"]).connect()
            clients.append(client)
            ack, _ = await client.join()
            peer = RelayPeer(samples, ack)
            peers.append(peer)
            await peer.subscribe(client, attendee["AttendeeId"])
            offer = peer.pc.localDescription.sdp
            assert (
                " typ relay" in offer
            )  # relay-only: the allocation on coturn succeeded with these credentials
            assert " typ host" not in offer
        async with asyncio.timeout(30):
            await peers[1].heard.wait()  # the talker's tone, mixed by parley, relayed both ways by coturn
        # coturn itself accepted each attendee's credentials and relayed to parley's media address.
        for attendee in people:
            expected = f":{attendee['AttendeeId']}>: incoming packet ALLOCATE processed, success"
            assert await asyncio.to_thread(wait_for_log, coturn[1], expected, 5.0)
        assert "CHANNEL_BIND processed, success" in read_logs(coturn[1])
    finally:
        for peer in peers:
            await peer.close()
        for client in clients:
            await client.close()
