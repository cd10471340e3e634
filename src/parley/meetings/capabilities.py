"""Attendee capability defaults and the model's documented capability rules."""

from __future__ import annotations

from typing import Any

from parley.errors import bad_request

_SENDING_OR_RECEIVING = {"SendReceive", "Send", "Receive"}
_RECEIVING = {"SendReceive", "Receive"}


def _max_resolution(features: dict[str, Any] | None, kind: str) -> str | None:
    return ((features or {}).get(kind) or {}).get("MaxResolution")


def default_capabilities(features: dict[str, Any] | None) -> dict[str, str]:
    """All SendReceive, except where the meeting's features forbid video or content (rule 4)."""
    video_off = _max_resolution(features, "Video") == "None"
    content_off = _max_resolution(features, "Content") == "None"
    if video_off and not content_off:
        return {"Audio": "SendReceive", "Video": "Receive", "Content": "SendReceive"}
    return {
        "Audio": "SendReceive",
        "Video": "None" if video_off else "SendReceive",
        "Content": "None" if content_off else "SendReceive",
    }


def check_capabilities(capabilities: dict[str, str], features: dict[str, Any] | None) -> None:
    """Rules 1–3 from the AttendeeCapabilities documentation; violations are 400s."""
    if _max_resolution(features, "Video") == "None" and capabilities["Video"] in _SENDING_OR_RECEIVING:
        raise bad_request(
            "Video capabilities must be None because the meeting was created with Video MaxResolution None"
        )
    if _max_resolution(features, "Content") == "None" and capabilities["Content"] in _SENDING_OR_RECEIVING:
        raise bad_request(
            "Content capabilities must be None because the meeting was created with Content MaxResolution None"
        )
    if capabilities["Content"] in _RECEIVING and capabilities["Video"] not in _RECEIVING:
        raise bad_request(
            "Content capability SendReceive or Receive requires Video capability SendReceive or Receive"
        )
