"""SUBSCRIBE and media over real WebRTC (aiortc on both ends), presence, the downlink mix, volume
indicators, data messages (relay, lifetime buffer, throttle).

The client side mimics the SDK's audio transceiver (tests/signaling/media_client.py).
"""

from __future__ import annotations

import asyncio
import math
import time
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


async def test_volume_indicators_follow_the_uplink_levels(chime: Any) -> None:
    meeting = chime.create_meeting(ExternalMeetingId="volume", MediaRegion="us-east-1")["Meeting"]
    ann, bob = (
        chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId=name)["Attendee"]
        for name in ("ann", "bob")
    )
    ann_client = await SignalingClient(signaling_url(meeting), ann["JoinToken"]).connect()
    await ann_client.join()
    ann_peer = MediaPeer(tone(0.0))  # silent
    await ann_peer.subscribe(ann_client, ann["AttendeeId"])
    [ann_entry] = await presence(ann_client)
    bob_client = await SignalingClient(signaling_url(meeting), bob["JoinToken"]).connect()
    await bob_client.join()
    bob_peer = MediaPeer(tone(60.0))  # a tone at about -12 dBov
    await bob_peer.subscribe(bob_client, bob["AttendeeId"])
    [bob_entry] = await presence(ann_client)
    announced = {ann_entry.audio_stream_id, bob_entry.audio_stream_id}

    # Frames before bob's audio arrives may show him silent; wait for the first one that hears him.
    async with asyncio.timeout(WAIT_S):
        while True:
            metadata = await ann_client.recv_type(pb.SdkSignalFrame.AUDIO_METADATA)
            states = {s.audio_stream_id: s for s in metadata.audio_metadata.attendee_states}
            assert set(states) <= announced  # only stream ids the client knows
            assert all(s.signal_strength == 2 for s in states.values())
            if bob_entry.audio_stream_id in states and states[bob_entry.audio_stream_id].volume <= 42:
                break
    silent = states.get(ann_entry.audio_stream_id)
    assert silent is None or silent.volume >= 42
    # bob, who announced too, gets the indicators as well
    metadata = await bob_client.recv_type(pb.SdkSignalFrame.AUDIO_METADATA)
    assert {s.audio_stream_id for s in metadata.audio_metadata.attendee_states} <= announced

    await bob_peer.close()
    await bob_client.close()
    await ann_peer.close()
    await ann_client.close()


def data_frame(*messages: tuple[str, bytes, int]) -> Any:
    message = frame(pb.SdkSignalFrame.DATA_MESSAGE, "data_message")
    for topic, data, lifetime_ms in messages:
        message.data_message.messages.add(topic=topic, data=data, lifetime_ms=lifetime_ms)
    return message


async def test_lifetime_data_messages_are_replayed_after_index_to_late_joiners_and_reconnects(
    chime: Any,
) -> None:
    meeting = chime.create_meeting(ExternalMeetingId="lifetime", MediaRegion="us-east-1")["Meeting"]
    ann, bob = (
        chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId=name)["Attendee"]
        for name in ("ann", "bob")
    )
    ann_client = await SignalingClient(signaling_url(meeting), ann["JoinToken"]).connect()
    await ann_client.join()
    await ann_client.send(
        data_frame(("kept", b"first", 60_000), ("fleeting", b"no lifetime", 0), ("brief", b"1 ms", 1))
    )
    await ann_client.send(data_frame(("kept", b"second", 60_000)))
    await ann_client.ping(1)  # frames are handled in order: both messages were taken in
    await asyncio.sleep(0.05)  # longer than the 1 ms lifetime

    bob_client = await SignalingClient(signaling_url(meeting), bob["JoinToken"]).connect()
    _, index = await bob_client.join()
    assert index.type == pb.SdkSignalFrame.INDEX
    replay = await bob_client.recv()  # right after INDEX
    assert replay.type == pb.SdkSignalFrame.DATA_MESSAGE
    kept = list(replay.data_message.messages)
    assert [(m.topic, m.data) for m in kept] == [("kept", b"first"), ("kept", b"second")]
    assert all(m.sender_attendee_id == ann["AttendeeId"] for m in kept)
    assert all(m.sender_external_user_id == "ann" for m in kept)
    assert all(m.lifetime_ms == 60_000 for m in kept)
    assert 0 < kept[0].ingest_time_ns < kept[1].ingest_time_ns
    await bob_client.close()

    # The sender reconnecting, alone in the meeting, gets the same buffer (its own messages included).
    await ann_client.close()
    again = await SignalingClient(signaling_url(meeting), ann["JoinToken"]).connect()
    await again.join(audio_session_id=2)
    replay = await again.recv()
    assert replay.type == pb.SdkSignalFrame.DATA_MESSAGE
    assert [(m.data, m.ingest_time_ns) for m in replay.data_message.messages] == [
        (m.data, m.ingest_time_ns) for m in kept
    ]
    await again.close()


async def test_data_messages_over_the_soft_limit_go_back_to_the_sender_as_throttled(chime: Any) -> None:
    meeting = chime.create_meeting(ExternalMeetingId="throttle", MediaRegion="us-east-1")["Meeting"]
    ann, bob, cat = (
        chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId=name)["Attendee"]
        for name in ("ann", "bob", "cat")
    )
    ann_client = await SignalingClient(signaling_url(meeting), ann["JoinToken"]).connect()
    bob_client = await SignalingClient(signaling_url(meeting), bob["JoinToken"]).connect()
    await ann_client.join()
    await bob_client.join()
    sent = 250
    echoed: list[Any] = []
    relayed: list[Any] = []
    done = asyncio.Event()

    async def collect(client: SignalingClient, into: list[Any]) -> None:
        while True:
            message = await client.recv_type(pb.SdkSignalFrame.DATA_MESSAGE)
            into.extend(message.data_message.messages)
            if len(echoed) + len(relayed) >= sent:
                done.set()

    readers = [
        asyncio.create_task(collect(ann_client, echoed)),
        asyncio.create_task(collect(bob_client, relayed)),
    ]
    started = time.monotonic()
    for i in range(sent):  # one message per frame, as the SDK sends them; all with a lifetime
        await ann_client.send(data_frame(("burst", str(i).encode(), 60_000)))
    async with asyncio.timeout(WAIT_S):
        await done.wait()
    elapsed = time.monotonic() - started
    for reader in readers:
        reader.cancel()

    assert len(echoed) + len(relayed) == sent  # every message either relayed or returned, never both
    assert echoed, "the burst went over the soft limit"
    assert all(m.ingest_time_ns == 0 for m in echoed)  # the SDK's "throttled"
    assert all(m.sender_attendee_id == ann["AttendeeId"] for m in echoed)
    assert all(m.ingest_time_ns > 0 for m in relayed)
    assert len(relayed) <= 200 + math.ceil(100 * elapsed)  # burst 200, refilled at 100/s
    # Throttled messages were not kept: a late joiner gets exactly the relayed ones.
    late = await SignalingClient(signaling_url(meeting), cat["JoinToken"]).connect()
    await late.join()
    replayed: list[Any] = []
    while len(replayed) < len(relayed):
        message = await late.recv()
        assert message.type == pb.SdkSignalFrame.DATA_MESSAGE
        replayed.extend(message.data_message.messages)
    assert [m.data for m in replayed] == [m.data for m in relayed]
    await late.close()
    await ann_client.close()
    await bob_client.close()
