"""The Chime SDK signaling socket at the Python level: the frames, their order and the close codes the SDK needs.

Facts from shared reference chime-signaling.md: PING arrives before JOIN; JOIN_ACK must precede INDEX;
4410 during the join is MeetingEnded; a joined client is ended with AUDIO_STATUS, not a bare close.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import websockets
from aiortc import RTCPeerConnection

from harness.server import ServerProcess
from harness.signaling import SUBPROTOCOL, SignalingClient, frame, signaling_url
from parley.proto import chime_signaling_pb2 as pb


@pytest.fixture
def meeting_with(chime: Any) -> Any:
    def make(*names: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        meeting = chime.create_meeting(ExternalMeetingId="signaling", MediaRegion="us-east-1")["Meeting"]
        attendees = [
            chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId=name)["Attendee"]
            for name in names
        ]
        return meeting, attendees

    return make


async def test_signaling_url_has_no_query_and_points_at_control(meeting_with: Any) -> None:
    meeting, _ = meeting_with()
    url = meeting["MediaPlacement"]["SignalingUrl"]
    assert url.startswith("ws://")
    assert "?" not in url
    assert url.endswith(f"/control/{meeting['MeetingId']}")
    assert meeting["MediaPlacement"]["AudioHostUrl"]  # the SDK joins without audio if this is empty


async def test_unknown_or_foreign_tokens_are_refused_before_the_upgrade(meeting_with: Any) -> None:
    meeting, (ann,) = meeting_with("ann")
    other, _ = meeting_with()
    for url, protocols in [
        (signaling_url(meeting), [SUBPROTOCOL, "not-a-token"]),
        (signaling_url(meeting), [SUBPROTOCOL]),
        (signaling_url(meeting), ["parley-audio-v1", ann["JoinToken"]]),
        (signaling_url(other), [SUBPROTOCOL, ann["JoinToken"]]),
    ]:
        with pytest.raises(websockets.InvalidStatus) as info:
            await websockets.connect(url, subprotocols=protocols)  # type: ignore[arg-type]
        assert info.value.response.status_code == 403


async def test_a_content_share_token_joins_as_the_attendees_content_and_ends_with_it(
    chime: Any, meeting_with: Any
) -> None:
    """``<JoinToken>#content`` is the SDK's content share session (D39): accepted while its attendee exists,
    ended by DeleteAttendee of that attendee (AUDIO_STATUS 411), refused afterwards; a doubled suffix is no token."""
    meeting, (ann, bob) = meeting_with("ann", "bob")
    bob_client = await SignalingClient(signaling_url(meeting), bob["JoinToken"]).connect()
    await bob_client.join()
    content = await SignalingClient(signaling_url(meeting), ann["JoinToken"] + "#content").connect()
    first, second = await content.join()
    assert (first.type, second.type) == (pb.SdkSignalFrame.JOIN_ACK, pb.SdkSignalFrame.INDEX)
    for protocols in ([SUBPROTOCOL, ann["JoinToken"] + "#content#content"], [SUBPROTOCOL, "#content"]):
        with pytest.raises(websockets.InvalidStatus) as info:
            await websockets.connect(signaling_url(meeting), subprotocols=protocols)  # type: ignore[arg-type]
        assert info.value.response.status_code == 403
    chime.delete_attendee(MeetingId=meeting["MeetingId"], AttendeeId=ann["AttendeeId"])
    status = await content.recv_type(pb.SdkSignalFrame.AUDIO_STATUS)
    assert status.audio_status.audio_status == 411
    await content.close()
    with pytest.raises(websockets.InvalidStatus) as info:
        await websockets.connect(
            signaling_url(meeting),
            subprotocols=[SUBPROTOCOL, ann["JoinToken"] + "#content"],  # type: ignore[list-item]
        )
    assert info.value.response.status_code == 403
    assert (await bob_client.ping(3)).ping_pong.ping_id == 3
    await bob_client.close()


async def _publish_camera(client: SignalingClient, attendee_id: str) -> tuple[RTCPeerConnection, Any]:
    """What the SDK sends when its camera starts: a SUBSCRIBE with a VIDEO send stream (duplex)."""
    pc = RTCPeerConnection()
    pc.addTransceiver("audio", direction="sendrecv")
    pc.addTransceiver("video", direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    sub = frame(
        pb.SdkSignalFrame.SUBSCRIBE, "sub", duplex=pb.DUPLEX, sdp_offer=pc.localDescription.sdp,
        audio_host="127.0.0.1:3478", audio_checkin=False, audio_muted=False,
    )  # fmt: skip
    for kind, label, stream in (
        (pb.AUDIO, "AmazonChimeExpressAudio", 1),
        (pb.VIDEO, "AmazonChimeExpressVideo", 2),
    ):
        sub.sub.send_streams.add(
            media_type=kind, track_label=label, stream_id=stream, group_id=stream, attendee_id=attendee_id
        )
    sub.sub.receive_stream_ids.append(0)
    await client.send(sub)
    return pc, await client.recv_type(pb.SdkSignalFrame.SUBSCRIBE_ACK)


async def test_video_and_content_follow_the_attendees_capabilities(chime: Any, meeting_with: Any) -> None:
    """D41: a camera is published only with Video Send, listed only to clients with Video Receive; a content share
    needs Content Send; UpdateAttendeeCapabilities takes effect at the next SUBSCRIBE, as Chime says it does."""
    meeting, (ann, bob) = meeting_with("ann", "bob")
    mid = meeting["MeetingId"]
    caps = {"Audio": "SendReceive", "Video": "Receive", "Content": "None"}
    cat = chime.create_attendee(MeetingId=mid, ExternalUserId="cat", Capabilities=caps)["Attendee"]
    blind = {"Audio": "SendReceive", "Video": "None", "Content": "None"}
    dan = chime.create_attendee(MeetingId=mid, ExternalUserId="dan", Capabilities=blind)["Attendee"]
    with pytest.raises(websockets.InvalidStatus) as info:  # Content None: no content share
        await websockets.connect(
            signaling_url(meeting),
            subprotocols=[SUBPROTOCOL, cat["JoinToken"] + "#content"],  # type: ignore[list-item]
        )
    assert info.value.response.status_code == 403
    clients = {}
    for attendee in (ann, bob, cat, dan):
        clients[attendee["ExternalUserId"]] = client = SignalingClient(
            signaling_url(meeting), attendee["JoinToken"]
        )
        await client.connect()
        await client.join()
    peers = []
    pc, ack = await _publish_camera(clients["cat"], cat["AttendeeId"])  # Video Receive: not published
    peers.append(pc)
    assert list(ack.suback.allocations) == []
    pc, ack = await _publish_camera(clients["ann"], ann["AttendeeId"])
    peers.append(pc)
    assert len(ack.suback.allocations) == 1
    index = await clients["bob"].recv_type(pb.SdkSignalFrame.INDEX)
    # Cat's camera was never listed:
    assert [s.attendee_id for s in index.index.sources] == [ann["AttendeeId"]]
    assert list((await clients["dan"].recv_type(pb.SdkSignalFrame.INDEX)).index.sources) == []  # Video None
    chime.update_attendee_capabilities(
        MeetingId=mid, AttendeeId=cat["AttendeeId"], Capabilities={**caps, "Video": "SendReceive"}
    )
    for _ in range(50):  # the update reaches Cat's session through the meeting's hub
        pc, ack = await _publish_camera(clients["cat"], cat["AttendeeId"])
        peers.append(pc)
        if ack.suback.allocations:
            break
        await asyncio.sleep(0.1)
    index = await clients["bob"].recv_type(pb.SdkSignalFrame.INDEX)
    assert [s.attendee_id for s in index.index.sources] == [ann["AttendeeId"], cat["AttendeeId"]]
    # Dan may now receive video: an INDEX comes to him at once, with both cameras (earlier ones listed none).
    chime.update_attendee_capabilities(
        MeetingId=mid, AttendeeId=dan["AttendeeId"], Capabilities={**blind, "Video": "Receive"}
    )
    while not (index := await clients["dan"].recv_type(pb.SdkSignalFrame.INDEX)).index.sources:
        pass
    assert [s.attendee_id for s in index.index.sources] == [ann["AttendeeId"], cat["AttendeeId"]]
    for pc in peers:
        await pc.close()
    for client in clients.values():
        await client.close()


async def test_the_subprotocol_answer_is_aws_wt_session(meeting_with: Any) -> None:
    meeting, (ann,) = meeting_with("ann")
    client = await SignalingClient(signaling_url(meeting), ann["JoinToken"]).connect()
    assert client.ws.subprotocol == SUBPROTOCOL
    await client.close()


async def test_ping_is_answered_before_and_after_join(meeting_with: Any) -> None:
    meeting, (ann,) = meeting_with("ann")
    client = await SignalingClient(signaling_url(meeting), ann["JoinToken"]).connect()
    pong = await client.ping(1)
    assert pong.ping_pong.type == pb.PONG
    assert pong.ping_pong.ping_id == 1
    assert pong.timestamp_ms > 0
    await client.join()
    pong = await client.ping(2)
    assert pong.ping_pong.type == pb.PONG
    assert pong.ping_pong.ping_id == 2
    await client.close()


async def test_join_is_answered_with_join_ack_then_index(meeting_with: Any) -> None:
    meeting, (ann,) = meeting_with("ann")
    client = await SignalingClient(signaling_url(meeting), ann["JoinToken"]).connect()
    first, second = await client.join()
    assert first.type == pb.SdkSignalFrame.JOIN_ACK
    assert first.HasField("joinack")
    # No TURN credentials: the SDK then gathers host candidates without a relay-only policy.
    assert not first.joinack.HasField("turn_credentials")
    assert second.type == pb.SdkSignalFrame.INDEX
    assert second.HasField("index")
    assert list(second.index.sources) == []
    await client.close()


async def test_leave_is_acknowledged(meeting_with: Any) -> None:
    meeting, (ann,) = meeting_with("ann")
    client = await SignalingClient(signaling_url(meeting), ann["JoinToken"]).connect()
    await client.join()
    await client.send(frame(pb.SdkSignalFrame.LEAVE, "leave"))
    ack = await client.recv_type(pb.SdkSignalFrame.LEAVE_ACK)
    assert ack.HasField("leave_ack")
    await client.close()


async def test_join_on_a_deleted_meeting_closes_4410(chime: Any, meeting_with: Any) -> None:
    meeting, (ann,) = meeting_with("ann")
    client = await SignalingClient(signaling_url(meeting), ann["JoinToken"]).connect()
    await client.ping(1)
    chime.delete_meeting(MeetingId=meeting["MeetingId"])
    await client.send(frame(pb.SdkSignalFrame.JOIN, "join", protocol_version=2, flags=2))
    with pytest.raises(websockets.ConnectionClosed) as info:
        await client.recv()
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 4410


async def test_delete_attendee_sends_audio_status_411(chime: Any, meeting_with: Any) -> None:
    meeting, (ann, bob) = meeting_with("ann", "bob")
    ann_client = await SignalingClient(signaling_url(meeting), ann["JoinToken"]).connect()
    bob_client = await SignalingClient(signaling_url(meeting), bob["JoinToken"]).connect()
    await ann_client.join()
    await bob_client.join()
    chime.delete_attendee(MeetingId=meeting["MeetingId"], AttendeeId=ann["AttendeeId"])
    status = await ann_client.recv_type(pb.SdkSignalFrame.AUDIO_STATUS)
    assert status.audio_status.audio_status == 411
    # The SDK answers a terminal status with LEAVE, and waits for LEAVE_ACK before closing.
    await ann_client.send(frame(pb.SdkSignalFrame.LEAVE, "leave"))
    await ann_client.recv_type(pb.SdkSignalFrame.LEAVE_ACK)
    await ann_client.close()
    pong = await bob_client.ping(7)  # the other attendee is untouched
    assert pong.ping_pong.ping_id == 7
    await bob_client.close()


async def test_delete_meeting_sends_audio_status_410(chime: Any, meeting_with: Any) -> None:
    meeting, (ann,) = meeting_with("ann")
    client = await SignalingClient(signaling_url(meeting), ann["JoinToken"]).connect()
    await client.join()
    chime.delete_meeting(MeetingId=meeting["MeetingId"])
    status = await client.recv_type(pb.SdkSignalFrame.AUDIO_STATUS)
    assert status.audio_status.audio_status == 410
    await client.close()


async def test_a_second_join_of_the_same_attendee_sends_301_to_the_first(meeting_with: Any) -> None:
    meeting, (ann,) = meeting_with("ann")
    first = await SignalingClient(signaling_url(meeting), ann["JoinToken"]).connect()
    await first.join(audio_session_id=1)
    second = await SignalingClient(signaling_url(meeting), ann["JoinToken"]).connect()
    await second.join(audio_session_id=2)
    status = await first.recv_type(pb.SdkSignalFrame.AUDIO_STATUS)
    assert status.audio_status.audio_status == 301
    await first.close()
    await second.close()


async def test_garbage_is_a_bad_request_and_the_server_survives(
    server: ServerProcess, meeting_with: Any
) -> None:
    meeting, (ann,) = meeting_with("ann")
    client = await SignalingClient(signaling_url(meeting), ann["JoinToken"]).connect()
    await client.ws.send(b"\x05\xff\xff\xff")
    with pytest.raises(websockets.ConnectionClosed) as info:
        await client.recv()
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 4400
    again = await SignalingClient(signaling_url(meeting), ann["JoinToken"]).connect()
    assert (await again.ping(3)).ping_pong.ping_id == 3
    await again.close()


@pytest.mark.parametrize(
    "sdp",
    [
        "not sdp at all",
        "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0",  # no direction: aiortc's answer failed on it
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio x y z\r\n",
    ],
)
async def test_an_sdp_offer_that_cannot_be_answered_is_a_bad_request(
    server: ServerProcess, meeting_with: Any, sdp: str
) -> None:
    """Fuzzing class "unanswerable SDP" (tests/fuzz/test_socket_fuzz.py): was a 4500 internal error."""
    meeting, (ann,) = meeting_with("ann")
    client = await SignalingClient(signaling_url(meeting), ann["JoinToken"]).connect()
    await client.join()
    subscribe = frame(
        pb.SdkSignalFrame.SUBSCRIBE, "sub", duplex=pb.SdkStreamServiceType.DUPLEX, sdp_offer=sdp
    )
    await client.send(subscribe)
    with pytest.raises(websockets.ConnectionClosed) as info:
        await client.recv_type(pb.SdkSignalFrame.SUBSCRIBE_ACK)  # never comes: the socket closes first
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 4400
    assert "SDP offer" in info.value.rcvd.reason
    assert "Traceback" not in server.log()
