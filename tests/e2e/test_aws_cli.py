"""The AWS CLI (v1, from PyPI) against the real server process.

The CLI builds requests from its own copy of the service model and parses responses with its own
botocore, so this proves parley is usable from a shell exactly as the AWS docs show, not only from
the boto3 the tests were written with.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from harness.server import ACCOUNT_A, IDENTITIES, ServerProcess

GUID = re.compile(r"^[a-f0-9]{8}(-[a-f0-9]{4}){3}-[a-f0-9]{12}$")
AWS = Path(sys.executable).parent / "aws"


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment that names alice and nothing else: empty config files keep the machine's
    ~/.aws (profiles, regions, endpoint overrides) from changing what the CLI sends."""
    home = tmp_path_factory.mktemp("awscli")
    (home / "config").write_text("")
    (home / "credentials").write_text("")
    key, secret, _account = IDENTITIES["alice"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=key,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(home / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
        AWS_MAX_ATTEMPTS="1",
        AWS_PAGER="",
        HOME=str(home),
    )
    return env


def aws(server: ServerProcess, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    assert AWS.exists(), f"awscli is not installed in the venv ({AWS}); install the test extra"
    cmd = [str(AWS), "chime-sdk-meetings", *args, "--endpoint-url", server.endpoint, "--output", "json"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)


def ok(proc: subprocess.CompletedProcess[str]) -> Any:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    return json.loads(proc.stdout) if proc.stdout.strip() else None


def test_meeting_lifecycle_through_the_cli(server: ServerProcess, cli_env: dict[str, str]) -> None:
    token = "cli-" + uuid.uuid4().hex
    meeting = ok(
        aws(
            server, cli_env, "create-meeting",
            "--client-request-token", token,
            "--media-region", "us-east-1",
            "--external-meeting-id", "cli-standup",
        )
    )["Meeting"]  # fmt: skip
    meeting_id = meeting["MeetingId"]
    assert GUID.match(meeting_id)
    assert meeting["MeetingArn"] == f"arn:aws:chime:us-east-1:{ACCOUNT_A}:meeting/{meeting_id}"
    assert meeting["ExternalMeetingId"] == "cli-standup"
    assert meeting["MediaRegion"] == "us-east-1"
    assert meeting["MediaPlacement"]["AudioHostUrl"]

    attendee = ok(
        aws(server, cli_env, "create-attendee", "--meeting-id", meeting_id, "--external-user-id", "cli-user")
    )["Attendee"]
    assert GUID.match(attendee["AttendeeId"])
    assert attendee["ExternalUserId"] == "cli-user"
    assert attendee["JoinToken"]

    got = ok(aws(server, cli_env, "get-meeting", "--meeting-id", meeting_id))["Meeting"]
    assert got == meeting

    config = json.dumps({"EngineTranscribeSettings": {"LanguageCode": "en-US"}})
    started = aws(
        server, cli_env, "start-meeting-transcription",
        "--meeting-id", meeting_id, "--transcription-configuration", config,
    )  # fmt: skip
    assert ok(started) is None
    assert started.stdout.strip() == ""
    stopped = aws(server, cli_env, "stop-meeting-transcription", "--meeting-id", meeting_id)
    assert ok(stopped) is None
    assert stopped.stdout.strip() == ""


def test_missing_meeting_is_not_found(server: ServerProcess, cli_env: dict[str, str]) -> None:
    proc = aws(server, cli_env, "get-meeting", "--meeting-id", "00000000-0000-0000-0000-000000000000")
    assert proc.returncode != 0
    assert "NotFoundException" in proc.stderr
    assert proc.stdout.strip() == ""


def test_malformed_meeting_id_is_bad_request(server: ServerProcess, cli_env: dict[str, str]) -> None:
    proc = aws(server, cli_env, "get-meeting", "--meeting-id", "not-a-meeting-id")
    assert proc.returncode != 0
    assert "BadRequestException" in proc.stderr
