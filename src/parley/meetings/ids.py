"""Identifiers in the formats Chime uses: GUIDs, meeting ARNs and JoinTokens."""

from __future__ import annotations

import base64
import re
import uuid

_ARN = re.compile(
    r"^arn:aws:chime:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):meeting/(?P<id>[0-9a-fA-F-]{36})$"
)


def new_guid() -> str:
    return str(uuid.uuid4())


def meeting_arn(region: str, account_id: str, meeting_id: str) -> str:
    return f"arn:aws:chime:{region}:{account_id}:meeting/{meeting_id}"


def parse_meeting_arn(arn: str) -> tuple[str, str, str] | None:
    """(region, account, meeting id) of a meeting ARN, or None if it is not one."""
    m = _ARN.match(arn)
    return (m["region"], m["account"], m["id"].lower()) if m else None


def new_join_token(attendee_id: str) -> str:
    """Chime's token is base64 of ``<AttendeeId>:<uuid4>``; parley uses the URL-safe alphabet without
    padding so that browsers accept it as a WebSocket subprotocol (Chromium rejects ``/``, ``=``, ``:``)."""
    raw = f"{attendee_id}:{uuid.uuid4()}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
