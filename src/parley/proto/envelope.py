"""The Chime SDK signaling envelope, in one place: every binary message on the signaling WebSocket is one byte of
frame type (0x05, "RTC") followed by a serialized ``SdkSignalFrame``. The SDK strips the first byte whatever it
is (it warns on anything but 0x05 or 0x02), so a reader does the same."""

from __future__ import annotations

from typing import Any

FRAME_TYPE_RTC = 0x05


def wrap(frame: Any) -> bytes:
    """``0x05 || frame``: a complete signaling message for the WebSocket."""
    return bytes([FRAME_TYPE_RTC]) + frame.SerializeToString()


def unwrap(message: bytes) -> bytes:
    """The serialized frame of a signaling message (its first byte dropped)."""
    return message[1:]
