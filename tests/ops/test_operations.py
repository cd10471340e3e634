"""Running parley as a service: /metrics, /healthz and /readyz against real backends, JSON logs, PARLEY_*
variables configuring a served process (docs/operations.md "Observability")."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from harness.attendee import AttendeeClient
from harness.server import IDENTITIES, ServerProcess, write_credentials
from harness.services import PrivatePostgres, PrivateRedis
from harness.signaling import SignalingClient, signaling_url


def get(url: str) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def scrape(server: ServerProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, parsed by Prometheus' own text parser."""
    status, body, headers = get(f"{server.endpoint}/metrics")
    assert status == 200
    assert headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_ready(server: ServerProcess, expect: int, seconds: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        status, body, _ = get(f"{server.endpoint}/readyz")
        if status == expect or time.monotonic() > deadline:
            assert status == expect, body
            return json.loads(body)
        time.sleep(0.2)


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Any]:
    started: list[ServerProcess] = []

    def make(*args: str, env: dict[str, str] | None = None, name: str = "s") -> ServerProcess:
        proc = ServerProcess(
            data_dir=tmp_path / name, credentials=write_credentials(tmp_path / f"{name}-credentials"),
            extra_args=args, env=env or {},
        )  # fmt: skip
        started.append(proc)
        return proc.start()

    yield make
    for proc in started:
        proc.stop()


def test_metrics_parse_and_move_with_traffic(server: ServerProcess) -> None:
    chime = server.client("alice")
    before = scrape(server)
    meeting = chime.create_meeting(MediaRegion="us-east-1", ExternalMeetingId="metrics")["Meeting"]
    chime.get_meeting(MeetingId=meeting["MeetingId"])
    with pytest.raises(ClientError):
        chime.get_meeting(MeetingId=str(uuid.uuid4()))
    after = scrape(server)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    ok = {"service": "chime", "operation": "CreateMeeting", "status": "200"}
    assert moved("parley_api_requests_total", **ok) == 1
    assert moved("parley_api_requests_total", service="chime", operation="GetMeeting", status="200") == 1
    assert moved("parley_api_requests_total", service="chime", operation="GetMeeting", status="404") == 1
    assert moved("parley_api_request_seconds_count", service="chime", operation="GetMeeting") == 2
    assert moved("parley_db_statement_seconds_count") >= 3
    assert ("parley_live_meetings", ()) in after
    assert value(after, "parley_speech_model_loaded") == 0  # --lazy-model: nothing transcribed yet


def test_healthz_and_readyz_answer_json(server: ServerProcess) -> None:
    status, body, _ = get(f"{server.endpoint}/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    report = wait_ready(server, 200)
    assert report["ready"] is True
    assert set(report["checks"]) == {"database", "bus", "speech_model"}


@pytest.mark.redis
def test_readyz_follows_redis(make_server: Any, tmp_path: Path) -> None:
    redis = PrivateRedis(tmp_path / "redis").start()
    try:
        server = make_server("--redis-url", redis.url)
        wait_ready(server, 200)
        port = redis.port
        redis.kill()
        report = wait_ready(server, 503)
        assert report["checks"]["bus"] == {"ready": False, "reason": "not connected"}
        assert report["checks"]["database"]["ready"] is True
        redis = PrivateRedis(tmp_path / "redis", port=port).start()
        assert wait_ready(server, 200)["checks"]["bus"] == {"ready": True}
    finally:
        redis.kill()


@pytest.mark.postgres
def test_readyz_follows_postgresql(make_server: Any) -> None:
    pg = PrivatePostgres().init().start()
    try:
        server = make_server("--database-url", pg.url)
        wait_ready(server, 200)
        pg.stop()
        report = wait_ready(server, 503)
        assert report["checks"]["database"]["ready"] is False
        assert report["checks"]["database"]["reason"]
        pg.start()
        wait_ready(server, 200)
    finally:
        pg.remove()


async def test_json_logs_carry_ids_and_no_secrets(make_server: Any) -> None:
    # Configured through the environment, as a container would (flags would win over these).
    server = make_server(env={"PARLEY_LOG_FORMAT": "json", "PARLEY_LOG_LEVEL": "debug"})
    chime = server.client("alice")
    meeting = chime.create_meeting(MediaRegion="us-east-1", ExternalMeetingId="logs")["Meeting"]
    response = chime.get_meeting(MeetingId=meeting["MeetingId"])
    request_id = response["ResponseMetadata"]["RequestId"]
    attendee = chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId="logger")["Attendee"]
    client = await AttendeeClient(server.endpoint, meeting["MeetingId"], attendee["JoinToken"]).connect()
    await client.close()
    deadline = time.monotonic() + 10
    while "attendee disconnected" not in server.log() and time.monotonic() < deadline:  # noqa: ASYNC110 - another process's log file
        await asyncio.sleep(0.1)
    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    assert lines, server.log()
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line)
    get_line = next(x for x in lines if x.get("request_id") == request_id)
    assert get_line["account_id"] == "111122223333"
    assert get_line["meeting_id"] == meeting["MeetingId"]
    assert "GetMeeting answered 200" in get_line["message"]
    joined = next(x for x in lines if x["message"].startswith("attendee connected"))
    assert (joined["meeting_id"], joined["attendee_id"]) == (meeting["MeetingId"], attendee["AttendeeId"])
    text = server.log()
    for _key, secret, _ in IDENTITIES.values():
        assert secret not in text
    assert attendee["JoinToken"] not in text


async def test_environment_configures_a_served_process(make_server: Any) -> None:
    server = make_server(env={"PARLEY_MAX_ACTIVE_MEETINGS": "1", "PARLEY_VIDEO_SUBSCRIPTION_LIMIT": "4"})
    chime = server.client("alice")
    meeting = chime.create_meeting(MediaRegion="us-east-1", ExternalMeetingId="env-1")["Meeting"]
    with pytest.raises(ClientError) as exc:
        chime.create_meeting(MediaRegion="us-east-1", ExternalMeetingId="env-2")
    assert exc.value.response["Error"]["Code"] == "LimitExceededException"
    # What a Chime SDK client is told it may subscribe to (the SDK's own limit is 25).
    attendee = chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId="env-viewer")["Attendee"]
    client = await SignalingClient(signaling_url(meeting), attendee["JoinToken"]).connect()
    try:
        join_ack, _index = await client.join()
    finally:
        await client.close()
    assert join_ack.joinack.video_subscription_limit == 4
