"""Fuzzing the sockets: the attendee audio socket's messages and the Chime SDK signaling frames and SDP.

A client that sends garbage is closed with a 4xxx code and a reason (or, for harmless garbage, left open) —
never 1011, never an abrupt drop (1006), never the 4500 "internal error" the signaling socket uses for its own
failures; and the server logs no traceback for anything a client sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from harness.server import ServerProcess, write_credentials
from parley.proto import chime_signaling_pb2 as pb
from tests.fuzz.strategies import HOSTILE_JSON_TEXTS, HOSTILE_TEXT, HUGE_INTS, json_values

#: how long a test waits for the server's verdict on what it sent
VERDICT_S = 0.5


UNCOUNTED = ["--trusted-address", "127.0.0.1"]


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("socket-fuzz")
    # The long profile opens sockets faster than the per-address rate (50 a second after a burst of 200), and the
    # guard then refuses them before any handshake, as it should; that is tests/e2e/test_connection_limits.py's
    # subject, not this file's, so the fuzzing client's address is not counted.
    server = ServerProcess(
        data_dir=root / "data", credentials=write_credentials(root / "credentials"), extra_args=UNCOUNTED
    ).start()
    chime = server.client()
    meeting = chime.create_meeting(ExternalMeetingId="socket-fuzz", MediaRegion="us-east-1")["Meeting"]
    tokens = [
        chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId=f"fuzz-{n}")["Attendee"][
            "JoinToken"
        ]
        for n in range(2)
    ]
    yield {"server": server, "meeting": meeting, "tokens": tokens}
    log = server.log()
    server.stop()
    assert "Traceback" not in log, log[log.index("Traceback") - 500 :][:4000]


def verdict(url: str, subprotocols: list[str], messages: list[str | bytes]) -> int | None:
    """Send ``messages``; the close code the server answered with, or None if it kept the socket open."""
    with connect(url, subprotocols=subprotocols, open_timeout=10, max_size=None) as ws:  # type: ignore[arg-type]
        try:
            for message in messages:
                ws.send(message)
            while True:
                ws.recv(timeout=VERDICT_S)
        except TimeoutError:
            return None
        except ConnectionClosed:
            pass
        return ws.protocol.close_rcvd.code if ws.protocol.close_rcvd else 1006


def assert_clean(code: int | None) -> None:
    assert code is None or code == 1000 or 4000 <= code < 4500, f"closed with {code}"


# -- the attendee audio socket ------------------------------------------------------------------------------

AUDIO_FORMATS = st.one_of(
    st.sampled_from(["pcm16", "opus", "webm", "ogg", "none", "PCM16", ""]), HOSTILE_TEXT
)

START = st.fixed_dictionaries(
    {"type": st.just("start")},
    optional={
        "events": st.one_of(st.sampled_from(["json", "protobuf"]), json_values()),
        "audio": st.one_of(
            json_values(),
            st.fixed_dictionaries(
                {"format": AUDIO_FORMATS},
                optional={
                    "sampleRate": st.one_of(HUGE_INTS, st.sampled_from([8000, 16000, 48000]), json_values()),
                    "channels": st.one_of(HUGE_INTS, json_values()),
                },
            ),
        ),
    },
).map(json.dumps)

CONTROL = st.one_of(
    st.sampled_from(['{"type":"stop"}', '{"type":"ping","id":1}']),
    json_values().map(json.dumps),
    HOSTILE_JSON_TEXTS,
    HOSTILE_TEXT,
)


@given(
    first=st.one_of(START, HOSTILE_JSON_TEXTS, json_values().map(json.dumps), st.binary(max_size=256)),
    rest=st.lists(st.one_of(st.binary(max_size=4096), CONTROL), max_size=4),
)
def test_the_audio_socket_closes_bad_clients_cleanly(
    room: dict[str, Any], first: str | bytes, rest: list[str | bytes]
) -> None:
    url = room["server"].endpoint.replace("http", "ws") + f"/calls/{room['meeting']['MeetingId']}"
    assert_clean(verdict(url, ["parley-audio-v1", room["tokens"][0]], [first, *rest]))


# -- Chime SDK signaling --------------------------------------------------------------------------------------


def _frame(kind: int, payload: str | None = None) -> Any:
    message = pb.SdkSignalFrame(timestamp_ms=1, type=kind)  # type: ignore[arg-type]
    if payload is not None:
        getattr(message, payload).SetInParent()
    return message


def _join() -> bytes:
    join = _frame(pb.SdkSignalFrame.JOIN, "join")
    join.join.protocol_version = 2
    join.join.flags = 2
    join.join.audio_session_id = 7
    join.join.client_details.client_source = "amazon-chime-sdk-js"
    return b"\x05" + join.SerializeToString()


SDP_LINES = st.one_of(
    st.sampled_from(
        [
            "v=0",
            "o=- 1 1 IN IP4 127.0.0.1",
            "s=-",
            "t=0 0",
            "m=audio 9 UDP/TLS/RTP/SAVPF 111",
            "m=video 9 UDP/TLS/RTP/SAVPF 96",
            "a=rtpmap:111 opus/48000/2",
            "a=fingerprint:sha-256 00:11",
            "a=ice-ufrag:x",
            "a=ice-pwd:y",
            "a=setup:actpass",
            "a=mid:0",
            "a=sendrecv",
            "a=candidate:1 1 udp 1 256.0.0.1 99999 typ host",
            "c=IN IP4 0.0.0.0",
        ]
    ),
    HOSTILE_TEXT,
)


@st.composite
def signaling_frames(draw: st.DrawFn) -> bytes:
    mode = draw(st.sampled_from(["random", "mutated-join", "typed", "subscribe-sdp"]))
    if mode == "random":
        return draw(st.binary(max_size=512))
    if mode == "mutated-join":
        data = bytearray(_join())
        for _ in range(draw(st.integers(min_value=1, max_value=6))):
            i = draw(st.integers(min_value=1, max_value=len(data) - 1))
            data[i] = draw(st.integers(min_value=0, max_value=255))
        return bytes(data[: draw(st.integers(min_value=1, max_value=len(data)))])
    if mode == "typed":
        kind = draw(st.sampled_from(list(pb.SdkSignalFrame.Type.values())))
        return b"\x05" + _frame(kind).SerializeToString() + draw(st.binary(max_size=32))
    subscribe = _frame(pb.SdkSignalFrame.SUBSCRIBE, "sub")
    subscribe.sub.duplex = pb.SdkStreamServiceType.DUPLEX
    subscribe.sub.sdp_offer = "\r\n".join(draw(st.lists(SDP_LINES, max_size=20)))
    subscribe.sub.audio_host = draw(HOSTILE_TEXT)
    return b"\x05" + subscribe.SerializeToString()


@given(frames=st.lists(signaling_frames(), min_size=1, max_size=4), joined=st.booleans())
def test_signaling_closes_bad_clients_cleanly(
    room: dict[str, Any], frames: list[bytes], joined: bool
) -> None:
    meeting = room["meeting"]
    url = meeting["MediaPlacement"]["SignalingUrl"] + "?X-Chime-Control-Protocol-Version=3"
    messages: list[str | bytes] = [_join(), *frames] if joined else list(frames)
    assert_clean(verdict(url, ["_aws_wt_session", room["tokens"][1]], messages))


# -- Chime SDK signaling relayed to the node hosting the meeting (D42) --------------------------------------


@pytest.fixture(scope="module")
def relayed_room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two nodes; a joined client on node a makes it the meeting's host, so every socket node b takes is relayed."""
    from harness.sdk_session import direct
    from harness.services import two_nodes
    from tests.ops.test_operations import scrape, value

    root = tmp_path_factory.mktemp("relay-fuzz")
    with two_nodes(root, None, "parley_relay_fuzz", UNCOUNTED) as (a, b):
        chime = a.client()
        meeting = chime.create_meeting(ExternalMeetingId="relay-fuzz", MediaRegion="us-east-1")["Meeting"]
        tokens = [
            chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId=f"fuzz-{n}")["Attendee"][
                "JoinToken"
            ]
            for n in range(2)
        ]
        with connect(
            direct(meeting, a),
            subprotocols=["_aws_wt_session", tokens[0]],  # type: ignore[list-item]
            open_timeout=10,
        ) as anchor:
            anchor.send(_join())
            anchor.recv(timeout=10)  # JOIN_ACK: node a hosts the room
            relay = direct(meeting, b)
            with connect(relay, subprotocols=["_aws_wt_session", tokens[1]], open_timeout=10) as probe:  # type: ignore[list-item]
                probe.send(_join())
                probe.recv(timeout=10)
                assert value(scrape(b), "parley_signaling_relayed_sockets") == 1  # what follows is relayed
            yield {"relay": relay, "tokens": tokens}
        logs = a.log() + b.log()
    assert "Traceback" not in logs, logs[logs.index("Traceback") - 500 :][:4000]


@pytest.mark.postgres
@pytest.mark.redis
@given(frames=st.lists(signaling_frames(), min_size=1, max_size=4), joined=st.booleans())
def test_relayed_signaling_closes_bad_clients_cleanly(
    relayed_room: dict[str, Any], frames: list[bytes], joined: bool
) -> None:
    """Through a relay the host's verdict reaches the client unchanged, and the relay adds no failure of its own."""
    messages: list[str | bytes] = [_join(), *frames] if joined else list(frames)
    assert_clean(verdict(relayed_room["relay"], ["_aws_wt_session", relayed_room["tokens"][1]], messages))
