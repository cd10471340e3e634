"""Encoding and decoding of Chime SDK signaling frames: ``0x05 || SdkSignalFrame`` per binary message."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from parley.proto import chime_signaling_pb2 as pb
from parley.proto.envelope import unwrap, wrap
from parley.signaling.turn import TurnCredentials

# Session close codes (live/session.py CloseCode) → the AUDIO_STATUS that tells the SDK why it ended.
# A clean WebSocket close after the join is ignored by the SDK's MonitorTask (it would sit "connected"
# with no signaling), so a joined client must be told through AUDIO_STATUS instead (reference §4.6, §6).
AUDIO_STATUS_FOR_CLOSE = {
    4410: 410,  # MeetingEnded
    4411: 411,  # AudioAttendeeRemoved (DeleteAttendee)
    4301: 301,  # AudioJoinedFromAnotherDevice
    4403: 403,  # AudioAuthenticationRejected
}


class FrameError(ValueError):
    """A message that is not a signaling frame."""


def decode(message: bytes) -> Any:
    """Parse one client message; the SDK strips byte 0 whatever it is, and so do we."""
    if len(message) < 1:
        raise FrameError("empty signaling message")
    frame = pb.SdkSignalFrame()
    try:
        frame.ParseFromString(unwrap(message))
    except Exception as exc:  # DecodeError, or a missing required field
        raise FrameError(f"not a signaling frame: {exc}") from None
    return frame


def new_frame(frame_type: int, payload: str | None = None) -> Any:
    """A frame of ``frame_type`` with its payload sub-message present (the SDK dereferences it unchecked)."""
    frame = pb.SdkSignalFrame(timestamp_ms=int(time.time() * 1000), type=frame_type)  # type: ignore[arg-type]
    if payload is not None:
        getattr(frame, payload).SetInParent()
    return frame


def encode(frame: Any) -> bytes:
    return wrap(frame)


def pong(ping_id: int) -> bytes:
    frame = new_frame(pb.SdkSignalFrame.PING_PONG, "ping_pong")
    frame.ping_pong.type = pb.PONG
    frame.ping_pong.ping_id = ping_id
    return encode(frame)


def join_ack(turn: TurnCredentials | None = None, video_subscription_limit: int = 0) -> bytes:
    """JOIN_ACK; never ``wants_compressed_sdp``, so the SDK uses the plain sdp_offer/answer.

    Without ``turn`` there are no TURN credentials and the SDK gathers host candidates; with them it goes
    relay-only through the given URIs (reference §8.3). A ``video_subscription_limit`` replaces the SDK's
    default of 25 remote videos per client (0: the SDK's default).
    """
    frame = new_frame(pb.SdkSignalFrame.JOIN_ACK, "joinack")
    if video_subscription_limit:
        frame.joinack.video_subscription_limit = video_subscription_limit
    if turn is not None:
        credentials = frame.joinack.turn_credentials
        credentials.username = turn.username
        credentials.password = turn.password
        credentials.ttl = turn.ttl
        credentials.uris.extend(turn.uris)
    return encode(frame)


def index(num_participants: int, sources: Sequence[dict[str, Any]] = (), at_capacity: bool = False) -> bytes:
    """INDEX: every video source of the meeting (a full snapshot: the SDK drops a source not listed).

    Each source is an ``SdkStreamDescriptor``; ``media_type`` is VIDEO always, since the field defaults to
    AUDIO and the SDK never subscribes to a source without it.
    """
    frame = new_frame(pb.SdkSignalFrame.INDEX, "index")
    frame.index.num_participants = num_participants
    if at_capacity:
        frame.index.at_capacity = True
    for source in sources:
        frame.index.sources.add(media_type=pb.VIDEO, **source)
    return encode(frame)


def bitrates(sources: Sequence[tuple[int, int]]) -> bytes:
    """BITRATES: ``(stream_id, avg_bitrate_bps)`` per source, which the SDK copies into its video index."""
    frame = new_frame(pb.SdkSignalFrame.BITRATES, "bitrates")
    for stream_id, bps in sources:
        frame.bitrates.bitrates.add(source_stream_id=stream_id, avg_bitrate_bps=bps)
    return encode(frame)


def subscribe_ack(
    sdp_answer: str,
    *,
    duplex: int = pb.RX,
    allocations: Sequence[dict[str, Any]] = (),
    tracks: Sequence[dict[str, Any]] = (),
) -> bytes:
    """SUBSCRIBE_ACK: the answer, the publisher's stream allocation, and which stream each fed m-line carries
    (``tracks``: ``track_label`` is the answer's msid stream id, ``v_<mid>``)."""
    frame = new_frame(pb.SdkSignalFrame.SUBSCRIBE_ACK, "suback")
    frame.suback.duplex = duplex  # type: ignore[assignment]
    frame.suback.sdp_answer = sdp_answer
    for allocation in allocations:
        frame.suback.allocations.add(**allocation)
    for track in tracks:
        frame.suback.tracks.add(**track)
    return encode(frame)


def leave_ack() -> bytes:
    return encode(new_frame(pb.SdkSignalFrame.LEAVE_ACK, "leave_ack"))


def audio_status(status: int) -> bytes:
    frame = new_frame(pb.SdkSignalFrame.AUDIO_STATUS, "audio_status")
    frame.audio_status.audio_status = status
    return encode(frame)


def stream_info(entries: list[dict[str, Any]]) -> bytes:
    """AUDIO_STREAM_ID_INFO; an entry with only ``audio_stream_id`` (and ``dropped``) announces a leave.

    Presence of ``muted`` is meaningful to the SDK (``hasOwnProperty``), so it is set only when given.
    """
    frame = new_frame(pb.SdkSignalFrame.AUDIO_STREAM_ID_INFO, "audio_stream_id_info")
    for entry in entries:
        frame.audio_stream_id_info.streams.add(**entry)
    return encode(frame)


def data_messages(payloads: list[dict[str, Any]]) -> bytes:
    frame = new_frame(pb.SdkSignalFrame.DATA_MESSAGE, "data_message")
    for payload in payloads:
        frame.data_message.messages.add(**payload)
    return encode(frame)


def audio_metadata(states: list[dict[str, Any]]) -> bytes:
    """AUDIO_METADATA: ``attendee_states=[{audio_stream_id, volume, signal_strength}]`` (volume indicators)."""
    frame = new_frame(pb.SdkSignalFrame.AUDIO_METADATA, "audio_metadata")
    for state in states:
        frame.audio_metadata.attendee_states.add(**state)
    return encode(frame)
