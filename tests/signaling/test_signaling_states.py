"""The signaling connection's state machine (signaling/endpoint.py Phase and TRANSITIONS): which frames each phase
handles, and over a real socket what the illegal ones do — SUBSCRIBE before JOIN is a client error (4400), a data
message before JOIN or a second JOIN is ignored, and a PING is answered in every phase a client can reach."""

from __future__ import annotations

from typing import Any

import pytest
import websockets

from harness.signaling import SignalingClient, frame, signaling_url
from parley.proto import chime_signaling_pb2 as pb
from parley.signaling.endpoint import TRANSITIONS, Connection, Phase

F = pb.SdkSignalFrame
CLIENT_FRAMES = [
    F.JOIN,
    F.SUBSCRIBE,
    F.LEAVE,
    F.PING_PONG,
    F.AUDIO_CONTROL,
    F.DATA_MESSAGE,
    F.CLIENT_METRIC,
    F.PAUSE,
    F.RESUME,
    F.REMOTE_VIDEO_UPDATE,
]

#: phase -> frame -> the handler, or None when the phase ignores that frame
EXPECTED: dict[Phase, dict[int, Any]] = {
    Phase.OPEN: {
        F.JOIN: Connection._join,
        F.SUBSCRIBE: Connection._subscribe_before_join,
        F.LEAVE: Connection._leave,
        F.PING_PONG: Connection._ping,
        F.AUDIO_CONTROL: Connection._audio_control,
    },
    Phase.JOINED: {
        F.SUBSCRIBE: Connection._subscribe,
        F.LEAVE: Connection._leave,
        F.PING_PONG: Connection._ping,
        F.AUDIO_CONTROL: Connection._audio_control,
        F.DATA_MESSAGE: Connection._relay,
        F.PAUSE: Connection._pause_resume,
        F.RESUME: Connection._pause_resume,
    },
    Phase.ENDED: {
        F.LEAVE: Connection._leave,
        F.PING_PONG: Connection._ping,
        F.AUDIO_CONTROL: Connection._audio_control,
    },
    Phase.HUNG_UP: {},
}


@pytest.mark.parametrize("phase", list(Phase), ids=lambda p: p.value)
@pytest.mark.parametrize("kind", CLIENT_FRAMES, ids=lambda k: F.Type.Name(k))
def test_each_phase_handles_exactly_its_frames(phase: Phase, kind: int) -> None:
    assert TRANSITIONS[phase].get(kind) is EXPECTED[phase].get(kind)


@pytest.fixture
def meeting_with(chime: Any) -> Any:
    def make(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        meeting = chime.create_meeting(ExternalMeetingId="states", MediaRegion="us-east-1")["Meeting"]
        attendee = chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId=name)["Attendee"]
        return meeting, attendee

    return make


async def test_subscribe_before_join_is_a_client_error(meeting_with: Any) -> None:
    meeting, ann = meeting_with("ann")
    client = await SignalingClient(signaling_url(meeting), ann["JoinToken"]).connect()
    await client.send(frame(F.SUBSCRIBE, "sub", sdp_offer="v=0"))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await client.recv()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4400, "SUBSCRIBE before JOIN")


async def test_data_before_join_and_a_second_join_are_ignored(meeting_with: Any) -> None:
    meeting, ann = meeting_with("ann")
    client = await SignalingClient(signaling_url(meeting), ann["JoinToken"]).connect()
    data = frame(F.DATA_MESSAGE, "data_message")
    data.data_message.messages.add(topic="chat", data=b"early", lifetime_ms=0)
    await client.send(data)
    first, second = await client.join()
    assert (first.type, second.type) == (F.JOIN_ACK, F.INDEX)
    await client.send(frame(F.JOIN, "join", protocol_version=2, flags=2, audio_session_id=7))
    pong = await client.ping(5)  # answered next: nothing came back for the second JOIN or the early data
    assert pong.ping_pong.ping_id == 5
    assert [m.type for m in client.received] == [F.JOIN_ACK, F.INDEX, F.PING_PONG]
    await client.close()
