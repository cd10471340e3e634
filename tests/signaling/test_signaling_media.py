"""SUBSCRIBE and media over real WebRTC (aiortc on both ends), presence, the downlink mix, volume
indicators, data messages (relay, lifetime buffer, throttle, hard limits), and reconnects after an abrupt
drop (decisions D28, D29).

The client side mimics the SDK's audio transceiver (harness/media.py).
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import pytest
import websockets

from harness.media import MediaPeer, tone
from harness.signaling import SignalingClient, frame, signaling_url
from parley.proto import chime_signaling_pb2 as pb
from parley.signaling.data import HARD_ATTENDEE_BURST, MAX_DATA_BYTES

WAIT_S = 30.0  # bounds, not timings: a broken server fails instead of hanging


def meeting_with(chime: Any, external_id: str, *names: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A new meeting and one attendee per name."""
    meeting = chime.create_meeting(ExternalMeetingId=external_id, MediaRegion="us-east-1")["Meeting"]
    attendees = [
        chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId=name)["Attendee"]
        for name in names
    ]
    return meeting, attendees


async def connect(meeting: dict[str, Any], attendee: dict[str, Any]) -> SignalingClient:
    return await SignalingClient(signaling_url(meeting), attendee["JoinToken"]).connect()


async def presence(client: SignalingClient) -> list[Any]:
    message = await client.recv_type(pb.SdkSignalFrame.AUDIO_STREAM_ID_INFO)
    return list(message.audio_stream_id_info.streams)


async def participants(client: SignalingClient, expected: int) -> int:
    """Read INDEX frames until one counts ``expected`` participants (the count it last said if none does)."""
    async with asyncio.timeout(WAIT_S):
        while True:
            count = (await client.recv_type(pb.SdkSignalFrame.INDEX)).index.num_participants
            if count == expected:
                return count


async def test_index_follows_the_participant_count(chime: Any) -> None:
    """The SDK tells a one-to-one call from a meeting by INDEX's participant count (it turns simulcast off in
    one-to-one calls), so a client must hear the count change when someone joins or leaves, not only when a
    camera starts."""
    meeting, (ann, bob) = meeting_with(chime, "count", "ann", "bob")
    ann_client = await connect(meeting, ann)
    await ann_client.join()
    ann_peer = MediaPeer(tone(0.0))
    await ann_peer.subscribe(ann_client, ann["AttendeeId"])
    bob_client = await connect(meeting, bob)
    await bob_client.join()
    bob_peer = MediaPeer(tone(0.0))
    await bob_peer.subscribe(bob_client, bob["AttendeeId"])
    assert await participants(ann_client, 2) == 2
    await bob_client.send(frame(pb.SdkSignalFrame.LEAVE, "leave"))
    await bob_client.recv_type(pb.SdkSignalFrame.LEAVE_ACK)
    assert await participants(ann_client, 1) == 1
    for peer in (ann_peer, bob_peer):
        await peer.close()
    for client in (ann_client, bob_client):
        await client.close()


async def test_subscribe_ack_presence_mix_and_leave(chime: Any) -> None:
    meeting, (ann, bob) = meeting_with(chime, "media", "ann", "bob")
    ann_client = await connect(meeting, ann)
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

    bob_client = await connect(meeting, bob)
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
    meeting, (ann, bob) = meeting_with(chime, "data", "ann", "bob")
    ann_client = await connect(meeting, ann)
    bob_client = await connect(meeting, bob)
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
    meeting, (ann, bob) = meeting_with(chime, "volume", "ann", "bob")
    ann_client = await connect(meeting, ann)
    await ann_client.join()
    ann_peer = MediaPeer(tone(0.0))  # silent
    await ann_peer.subscribe(ann_client, ann["AttendeeId"])
    [ann_entry] = await presence(ann_client)
    bob_client = await connect(meeting, bob)
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
    meeting, (ann, bob) = meeting_with(chime, "lifetime", "ann", "bob")
    ann_client = await connect(meeting, ann)
    await ann_client.join()
    await ann_client.send(
        data_frame(("kept", b"first", 60_000), ("fleeting", b"no lifetime", 0), ("brief", b"1 ms", 1))
    )
    await ann_client.send(data_frame(("kept", b"second", 60_000)))
    await ann_client.ping(1)  # frames are handled in order: both messages were taken in
    await asyncio.sleep(0.05)  # longer than the 1 ms lifetime

    bob_client = await connect(meeting, bob)
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
    again = await connect(meeting, ann)
    await again.join(audio_session_id=2)
    replay = await again.recv()
    assert replay.type == pb.SdkSignalFrame.DATA_MESSAGE
    assert [(m.data, m.ingest_time_ns) for m in replay.data_message.messages] == [
        (m.data, m.ingest_time_ns) for m in kept
    ]
    await again.close()


async def test_data_messages_over_the_soft_limit_go_back_to_the_sender_as_throttled(chime: Any) -> None:
    meeting, (ann, bob, cat) = meeting_with(chime, "throttle", "ann", "bob", "cat")
    ann_client = await connect(meeting, ann)
    bob_client = await connect(meeting, bob)
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
    late = await connect(meeting, cat)
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


async def test_messages_breaking_the_topic_or_size_rules_go_back_to_the_sender_as_throttled(
    chime: Any,
) -> None:
    meeting, (ann, bob) = meeting_with(chime, "rules", "ann", "bob")
    ann_client = await connect(meeting, ann)
    bob_client = await connect(meeting, bob)
    await ann_client.join()
    await bob_client.join()
    await ann_client.send(
        data_frame(
            ("has space", b"bad topic", 60_000),
            ("x" * 37, b"topic too long", 0),
            ("chat", b"x" * (MAX_DATA_BYTES + 1), 0),
            ("aws:chime:transcription", b"spoofed", 0),
            ("chat", b"x" * MAX_DATA_BYTES, 0),
        )
    )
    relayed = await bob_client.recv_type(pb.SdkSignalFrame.DATA_MESSAGE)
    assert [(m.topic, len(m.data)) for m in relayed.data_message.messages] == [("chat", MAX_DATA_BYTES)]
    returned = await ann_client.recv_type(pb.SdkSignalFrame.DATA_MESSAGE)
    assert [(m.data, m.ingest_time_ns) for m in returned.data_message.messages] == [
        (b"bad topic", 0),
        (b"topic too long", 0),
        (b"x" * (MAX_DATA_BYTES + 1), 0),
    ]  # the aws: message is not echoed
    # Rejected messages are not kept: a late joiner gets nothing replayed.
    await bob_client.close()
    late = await connect(meeting, bob)
    await late.join(audio_session_id=2)
    await late.send(frame(pb.SdkSignalFrame.PING_PONG, "ping_pong", type=pb.PING, ping_id=5))
    pong = await late.recv()  # the first frame after INDEX: no replayed DATA_MESSAGE came before it
    assert (pong.type, pong.ping_pong.ping_id) == (pb.SdkSignalFrame.PING_PONG, 5)
    await late.close()
    await ann_client.close()


async def test_an_attendee_over_the_hard_limit_is_hung_up_on_and_can_reconnect(chime: Any) -> None:
    meeting, (ann, bob) = meeting_with(chime, "hard-limit", "ann", "bob")
    ann_client = await connect(meeting, ann)
    bob_client = await connect(meeting, bob)
    await ann_client.join(audio_session_id=9)
    await bob_client.join()
    # One frame of 3000 messages: taken in within far less than the 5 s the burst's refill would need.
    sent = HARD_ATTENDEE_BURST + 1000
    await ann_client.send(data_frame(*((f"flood-{i % 7}", str(i).encode(), 0) for i in range(sent))))
    echoed = await ann_client.recv_type(pb.SdkSignalFrame.DATA_MESSAGE)
    throttled = list(echoed.data_message.messages)
    assert all(m.ingest_time_ns == 0 for m in throttled)
    with pytest.raises(websockets.ConnectionClosed) as info:
        await ann_client.recv()  # nothing after the verdicts but the hang-up
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 4529  # 45xx: the SDK reports SignalingInternalServerError and reconnects
    relayed = list((await bob_client.recv_type(pb.SdkSignalFrame.DATA_MESSAGE)).data_message.messages)
    taken = len(relayed) + len(throttled)
    assert HARD_ATTENDEE_BURST <= taken < sent
    for answered in (relayed, throttled):  # each in the order sent
        assert [int(m.data) for m in answered] == sorted(int(m.data) for m in answered)
    assert {int(m.data) for m in relayed + throttled} == set(range(taken))  # all of them, up to the hang-up
    # The SDK's reconnect: a new socket, the same audio_session_id.
    again = await connect(meeting, ann)
    first, second = await again.join(audio_session_id=9)
    assert (first.type, second.type) == (pb.SdkSignalFrame.JOIN_ACK, pb.SdkSignalFrame.INDEX)
    assert (await again.ping(1)).ping_pong.ping_id == 1
    await again.close()
    await bob_client.close()


async def test_a_second_socket_with_the_same_audio_session_id_is_a_reconnect_not_another_device(
    chime: Any,
) -> None:
    meeting = chime.create_meeting(ExternalMeetingId="half-open", MediaRegion="us-east-1")["Meeting"]
    ann = chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId="ann")["Attendee"]
    first = await connect(meeting, ann)
    await first.join(audio_session_id=7)
    second = await connect(meeting, ann)
    await second.join(audio_session_id=7)
    # The old socket is closed without AUDIO_STATUS 301 (AudioJoinedFromAnotherDevice would end the session).
    with pytest.raises(websockets.ConnectionClosed) as info:
        await first.recv_type(pb.SdkSignalFrame.AUDIO_STATUS)
    assert pb.SdkSignalFrame.AUDIO_STATUS not in [m.type for m in first.received]
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 1000
    assert (await second.ping(4)).ping_pong.ping_id == 4
    await second.close()


async def test_a_dropped_attendee_reconnects_present_throughout_and_gets_the_missed_messages(
    chime: Any,
) -> None:
    """The SDK's reconnect after an abrupt drop (reference §7): a new socket, JOIN with the same
    audio_session_id, a new peer connection. The others never see the attendee absent (D29)."""
    meeting, (ann, bob) = meeting_with(chime, "reconnect", "ann", "bob")
    session_id = 3569085152
    ann_client = await connect(meeting, ann)
    await ann_client.join(audio_session_id=session_id)
    ann_peer = MediaPeer(tone(0.0))
    await ann_peer.subscribe(ann_client, ann["AttendeeId"])
    [ann_entry] = await presence(ann_client)
    bob_client = await connect(meeting, bob)
    await bob_client.join()
    bob_peer = MediaPeer(tone(0.0))
    await bob_peer.subscribe(bob_client, bob["AttendeeId"])
    await presence(bob_client)
    await presence(ann_client)  # bob's entry
    await bob_client.send(data_frame(("chat", b"before the drop", 60_000)))
    await ann_client.recv_type(pb.SdkSignalFrame.DATA_MESSAGE)

    ann_client.drop()
    await ann_peer.close()
    await bob_client.send(data_frame(("chat", b"while ann was away", 60_000), ("chat", b"fleeting", 0)))
    await bob_client.ping(1)  # taken in before ann is back

    ann_again = await connect(meeting, ann)
    first, second = await ann_again.join(audio_session_id=session_id)
    assert (first.type, second.type) == (pb.SdkSignalFrame.JOIN_ACK, pb.SdkSignalFrame.INDEX)
    replay = await ann_again.recv()  # right after INDEX: the kept messages, the missed one included
    assert replay.type == pb.SdkSignalFrame.DATA_MESSAGE
    assert [(m.data, m.sender_attendee_id) for m in replay.data_message.messages] == [
        (b"before the drop", bob["AttendeeId"]),
        (b"while ann was away", bob["AttendeeId"]),
    ]
    ann_peer = MediaPeer(tone(0.0))
    await ann_peer.subscribe(ann_again, ann["AttendeeId"])
    snapshot = {s.attendee_id: s.audio_stream_id for s in await presence(ann_again)}
    assert set(snapshot) == {ann["AttendeeId"], bob["AttendeeId"]}
    assert snapshot[ann["AttendeeId"]] > ann_entry.audio_stream_id  # a fresh, higher stream id

    # bob's first presence update since the drop: ann's new stream, then her old stream's leave entry, which
    # the SDK applies silently because ann has a higher stream id by then. No dropped entry came before it.
    rejoin, old = await presence(bob_client)
    assert (rejoin.attendee_id, rejoin.audio_stream_id) == (ann["AttendeeId"], snapshot[ann["AttendeeId"]])
    assert old.audio_stream_id == ann_entry.audio_stream_id
    assert not old.HasField("attendee_id")
    assert not old.HasField("muted")
    assert not old.dropped

    # A drop with no reconnect is announced as dropped once the grace is over.
    ann_again.drop()
    await ann_peer.close()
    async with asyncio.timeout(WAIT_S):
        [gone] = await presence(bob_client)
    assert gone.audio_stream_id == snapshot[ann["AttendeeId"]]
    assert gone.dropped
    assert not gone.HasField("attendee_id")
    await bob_peer.close()
    await bob_client.close()
