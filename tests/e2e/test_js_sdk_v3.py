"""The AWS SDK for JavaScript v3 (``@aws-sdk/client-chime-sdk-meetings``) against the real server.

Node apps are parley's main clients; the v3 SDK has its own serializers and maps error bodies to
exception classes by name, so a wire detail botocore forgives (a header, an error code field)
would show up here. Node is a hard requirement: a missing ``node`` fails instead of skipping, so
the proof cannot silently disappear from CI.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.node import npm_ci, tool
from harness.server import ACCOUNT_A, IDENTITIES, ServerProcess

GUID = re.compile(r"^[a-f0-9]{8}(-[a-f0-9]{4}){3}-[a-f0-9]{12}$")
JSV3 = Path(__file__).resolve().parent.parent / "jsv3"


PURPOSE = "the JS SDK v3 test"


@pytest.fixture(scope="module")
def node() -> str:
    """Node plus installed dependencies; ``npm ci`` runs only when node_modules is absent so
    repeated runs stay offline and fast."""
    node = tool("node", PURPOSE)
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert int(version.lstrip("v").split(".")[0]) >= 20, f"Node >= 20 required, found {version}"
    npm_ci(JSV3, "@aws-sdk/client-chime-sdk-meetings", PURPOSE)
    return node


@pytest.fixture(scope="module")
def summary(node: str, server: ServerProcess) -> dict[str, Any]:
    key, secret, _account = IDENTITIES["alice"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        PARLEY_ENDPOINT=server.endpoint,
        AWS_ACCESS_KEY_ID=key,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_REGION="us-east-1",
    )
    proc = subprocess.run(
        [node, "smoke.mjs"], cwd=JSV3, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, (
        f"smoke.mjs exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_create_meeting_and_attendee(summary: dict[str, Any]) -> None:
    assert summary["createMeeting"]["httpStatusCode"] == 200
    meeting = summary["createMeeting"]["meeting"]
    assert GUID.match(meeting["MeetingId"])
    assert meeting["MeetingArn"] == f"arn:aws:chime:us-east-1:{ACCOUNT_A}:meeting/{meeting['MeetingId']}"
    assert meeting["ExternalMeetingId"] == "jsv3-smoke"
    assert meeting["MediaRegion"] == "us-east-1"
    assert meeting["MediaPlacement"]["SignalingUrl"]
    attendee = summary["createAttendee"]
    assert GUID.match(attendee["AttendeeId"])
    assert attendee["ExternalUserId"] == "jsv3-user"
    assert attendee["JoinToken"]


def test_transcription_start_stop_and_get(summary: dict[str, Any]) -> None:
    assert summary["startTranscription"]["httpStatusCode"] == 200
    assert summary["stopTranscription"]["httpStatusCode"] == 200
    assert summary["getMeeting"] == summary["createMeeting"]["meeting"]


def test_errors_map_to_modeled_exception_classes(summary: dict[str, Any]) -> None:
    not_found = summary["notFound"]
    assert not_found["name"] == "NotFoundException"
    assert not_found["instanceOf"] is True
    assert not_found["httpStatusCode"] == 404
    assert not_found["fault"] == "client"
    assert not_found["message"] == "Meeting <00000000-0000-0000-0000-000000000000> not found"
    bad = summary["badRequest"]
    assert bad["name"] == "BadRequestException"
    assert bad["instanceOf"] is True
    assert bad["httpStatusCode"] == 400
