"""Slow and silent clients over real TCP: each is closed within the configured time, and one address cannot
hold more than its share of connections, while the API keeps answering everyone else (parley/guard.py)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from harness.server import ServerProcess, write_credentials

HEADER_TIMEOUT_S = 1.0
BODY_TIMEOUT_S = 1.0
PER_ADDRESS = 8
#: a close must come within the timeout plus this much (scheduling on a busy 2-core machine)
SLACK_S = 3.0


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("limits")
    server = ServerProcess(
        data_dir=root / "data",
        credentials=write_credentials(root / "credentials"),
        extra_args=[
            "--header-timeout", str(HEADER_TIMEOUT_S),
            "--body-timeout", str(BODY_TIMEOUT_S),
            "--max-connections-per-address", str(PER_ADDRESS),
        ],
    ).start()  # fmt: skip
    yield server
    server.stop()


def answered_within(server: ServerProcess, payload: bytes, limit_s: float) -> bytes:
    """Send ``payload``; what the server sent before it closed, failing if it has not closed within ``limit_s``."""
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        if payload:
            sock.sendall(payload)
        sock.settimeout(limit_s)
        received = b""
        try:
            while chunk := sock.recv(4096):
                received += chunk
        except TimeoutError:
            pytest.fail(f"still open after {limit_s} s (sent {payload[:40]!r})")
        return received


@pytest.mark.parametrize(
    "payload",
    [b"", b"GET /ping HT", b"GET /ping HTTP/1.1\r\nHost: x\r\n"],
    ids=["sends-nothing", "half-a-request-line", "headers-never-end"],
)
def test_a_client_without_complete_headers_is_answered_408_and_closed(
    strict: ServerProcess, payload: bytes
) -> None:
    chime = strict.client()
    received = answered_within(strict, payload, HEADER_TIMEOUT_S + SLACK_S)
    assert received.startswith(b"HTTP/1.1 408 "), received[:80]
    # Meanwhile and afterwards the API answers others.
    assert chime.create_meeting(ExternalMeetingId="meanwhile", MediaRegion="us-east-1")["Meeting"]


def test_a_trickled_body_gets_a_modeled_400_and_the_connection_closes(strict: ServerProcess) -> None:
    request = b"POST /meetings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    received = answered_within(strict, request, BODY_TIMEOUT_S + SLACK_S)
    assert received.startswith(b"HTTP/1.1 400 "), received[:200]
    assert b"BadRequestException" in received
    assert b"did not arrive within" in received
    assert strict.client().create_meeting(ExternalMeetingId="after-trickle", MediaRegion="us-east-1")


def test_one_address_cannot_hold_more_than_its_share(strict: ServerProcess) -> None:
    held = [socket.create_connection(("127.0.0.1", strict.port)) for _ in range(PER_ADDRESS)]
    try:
        time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", strict.port)) as extra:
            extra.settimeout(2)
            extra.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                refused = extra.recv(100) == b""
            except ConnectionResetError:
                refused = True
            assert refused, "a connection over the per-address limit was served"
    finally:
        for sock in held:
            sock.close()
    # Released: the address is served again once its connections are gone.
    deadline = time.monotonic() + 5
    while True:
        try:
            assert strict.client().create_meeting(ExternalMeetingId="released", MediaRegion="us-east-1")
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_trusted_address_is_not_held_to_the_per_address_share(tmp_path: Path) -> None:
    """Behind a load balancer every client has the balancer's address: --trusted-address (here from the
    environment) exempts it, as it exempts the nodes that relay Chime SDK signaling to each other."""
    server = ServerProcess(
        data_dir=tmp_path / "data",
        credentials=write_credentials(tmp_path / "credentials"),
        extra_args=["--max-connections-per-address", str(PER_ADDRESS)],
        env={"PARLEY_TRUSTED_ADDRESSES": "192.0.2.0/24, 127.0.0.0/8"},
    ).start()
    try:
        held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(PER_ADDRESS * 2)]
        try:
            assert server.client().create_meeting(ExternalMeetingId="trusted", MediaRegion="us-east-1")
        finally:
            for sock in held:
                sock.close()
    finally:
        server.stop()


def test_sockets_that_never_send_their_first_message_are_closed(strict: ServerProcess) -> None:
    chime = strict.client()
    meeting = chime.create_meeting(ExternalMeetingId="silent-sockets", MediaRegion="us-east-1")["Meeting"]
    token = chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId="quiet")["Attendee"][
        "JoinToken"
    ]
    audio = meeting["MediaPlacement"]["AudioFallbackUrl"]
    signaling = meeting["MediaPlacement"]["SignalingUrl"]
    for url, protocol in ((audio, "parley-audio-v1"), (signaling, "_aws_wt_session")):
        with connect(url, subprotocols=[protocol, token], open_timeout=10) as ws:  # type: ignore[list-item]
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=HEADER_TIMEOUT_S + SLACK_S)
            assert ws.protocol.close_rcvd is not None
            assert ws.protocol.close_rcvd.code == 4400
