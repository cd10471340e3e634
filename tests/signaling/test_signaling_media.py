"""SUBSCRIBE and media over real WebRTC (aiortc on both ends), presence, the downlink mix.

The client side mimics the SDK's audio transceiver (tests/signaling/media_client.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from parley.proto import chime_signaling_pb2 as pb
from tests.signaling.client import SignalingClient, frame, signaling_url
from tests.signaling.media_client import MediaPeer, tone

WAIT_S = 30.0  # bounds, not timings: a broken server fails instead of hanging


async def presence(client: SignalingClient) -> list[Any]:
    message = await client.recv_type(pb.SdkSignalFrame.AUDIO_STREAM_ID_INFO)
    return list(message.audio_stream_id_info.streams)


async def test_subscribe_ack_presence_mix_and_leave(chime: Any) -> None:
    meeting = chime.create_meeting(ExternalMeetingId="media", MediaRegion="us-east-1")["Meeting"]
    ann, bob = (
        chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId=name)["Attendee"]
        for name in ("ann", "bob")
    )
    ann_client = await SignalingClient(signaling_url(meeting), ann["JoinToken"]).connect()
    await ann_client.join()
    ann_peer = MediaPeer(tone(0.0))  # ann is silent
    ack = await ann_peer.subscribe(ann_client, ann["AttendeeId"])
    assert ack.suback.duplex == pb.RX
    answer = ack.suback.sdp_answer
    assert "a=msid:" in answer  # the SDK plays remote audio only from a track with a stream
    assert "opus/48000/2" in answer
    assert "a=sendrecv" in answer
    snapshot = await presence(ann_client)
    assert [(s.attendee_id, s.external_user_id, s.muted) for s in snapshot] == [
        (ann["AttendeeId"], "ann", False)
    ]
    ann_stream = snapshot[0].audio_stream_id

    bob_client = await SignalingClient(signaling_url(meeting), bob["JoinToken"]).connect()
    await bob_client.join()
    bob_peer = MediaPeer(tone(60.0))  # bob plays a tone, which ann hears through the mix
    await bob_peer.subscribe(bob_client, bob["AttendeeId"])
    snapshot = await presence(bob_client)
    assert sorted(s.attendee_id for s in snapshot) == sorted([ann["AttendeeId"], bob["AttendeeId"]])
    [entry] = await presence(ann_client)
    assert entry.attendee_id == bob["AttendeeId"]
    bob_stream = entry.audio_stream_id
    assert bob_stream > ann_stream

    async with asyncio.timeout(WAIT_S):
        await ann_peer.heard.wait()

    # Mute is reported to everyone; then bob leaves, and ann sees a leave entry (no attendee id, no muted).
    await bob_client.send(frame(pb.SdkSignalFrame.AUDIO_CONTROL, "audio_control", muted=True))
    [muted] = await presence(ann_client)
    assert muted.audio_stream_id == bob_stream
    assert muted.muted is True
    await bob_client.send(frame(pb.SdkSignalFrame.LEAVE, "leave"))
    await bob_client.recv_type(pb.SdkSignalFrame.LEAVE_ACK)
    [left] = await presence(ann_client)
    assert left.audio_stream_id == bob_stream
    assert not left.HasField("attendee_id")
    assert not left.HasField("muted")
    assert not left.dropped

    await bob_peer.close()
    await bob_client.close()
    await ann_peer.close()
    await ann_client.close()


async def test_data_messages_are_relayed_with_sender_and_ingest_time(chime: Any) -> None:
    meeting = chime.create_meeting(ExternalMeetingId="data", MediaRegion="us-east-1")["Meeting"]
    ann, bob = (
        chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId=name)["Attendee"]
        for name in ("ann", "bob")
    )
    ann_client = await SignalingClient(signaling_url(meeting), ann["JoinToken"]).connect()
    bob_client = await SignalingClient(signaling_url(meeting), bob["JoinToken"]).connect()
    await ann_client.join()
    await bob_client.join()
    message = frame(pb.SdkSignalFrame.DATA_MESSAGE, "data_message")
    message.data_message.messages.add(topic="aws:chime:transcription", data=b"spoofed")
    message.data_message.messages.add(topic="chat", data=b"hi from ann", lifetime_ms=0)
    await ann_client.send(message)
    received = await bob_client.recv_type(pb.SdkSignalFrame.DATA_MESSAGE)
    [payload] = received.data_message.messages  # the reserved aws: topic was dropped
    assert payload.topic == "chat"
    assert payload.data == b"hi from ann"
    assert payload.sender_attendee_id == ann["AttendeeId"]
    assert payload.sender_external_user_id == "ann"
    assert payload.ingest_time_ns > 0  # 0 would mean "throttled" to the SDK
    await ann_client.close()
    await bob_client.close()
