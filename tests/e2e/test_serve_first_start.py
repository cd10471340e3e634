"""`parley serve` without --credentials creates <data-dir>/credentials (0600) and prints how to use it."""

from __future__ import annotations

import configparser
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3

from harness.server import free_port


def test_first_start_creates_credentials_and_prints_usage(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "state"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "parley",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--lazy-model",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        creds_file = data_dir / "credentials"
        assert stat.S_IMODE(creds_file.stat().st_mode) == 0o600
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(creds_file)
        (section,) = parser.sections()
        identity = parser[section]
        assert len(identity["account_id"]) == 12
        assert identity["account_id"].isdigit()
        client = boto3.client(
            "chime-sdk-meetings",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id=identity["aws_access_key_id"],
            aws_secret_access_key=identity["aws_secret_access_key"],
        )
        meeting = client.create_meeting(ExternalMeetingId="first", MediaRegion="us-east-1")["Meeting"]
        assert meeting["MeetingArn"].split(":")[4] == identity["account_id"]
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
    assert f"export AWS_ACCESS_KEY_ID={identity['aws_access_key_id']}" in output
    assert f"export AWS_SECRET_ACCESS_KEY={identity['aws_secret_access_key']}" in output
    assert "boto3.client(" in output
    assert f'endpoint_url="http://127.0.0.1:{port}"' in output
    assert f"parley: listening on http://127.0.0.1:{port}" in output


def test_a_busy_port_is_refused_clearly_before_listening(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "parley", "serve", "--port", str(port), "--data-dir", str(tmp_path / "d")],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"parley: cannot listen on 127.0.0.1:{port}: the port is already in use" in result.stderr
    assert "listening" not in result.stdout
    assert "Traceback" not in result.stderr
