"""AWS-style throttling: ThrottlingException (429) in the modeled shape beyond the per-account, per-operation
rate; AWS SDK retries then complete every call; nodes on one Redis share one budget (D37)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from harness.server import ServerProcess, write_credentials
from harness.services import PrivateRedis
from harness.signing import signed_request
from parley.throttle import LocalThrottle
from tests.ops.test_operations import scrape, value


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_bucket_allows_the_burst_then_the_rate_per_account_and_operation() -> None:
    clock = FakeClock()
    throttle = LocalThrottle(rate=10, burst=20, clock=clock)
    assert [await throttle.allow("a", "GetMeeting") for _ in range(21)] == [True] * 20 + [False]
    assert await throttle.allow("a", "CreateMeeting")  # another operation has its own bucket
    assert await throttle.allow("b", "GetMeeting")  # and another account
    clock.now += 0.1  # one token back at 10 per second
    assert await throttle.allow("a", "GetMeeting")
    assert not await throttle.allow("a", "GetMeeting")
    clock.now += 100  # never more than the burst, however long idle
    assert [await throttle.allow("a", "GetMeeting") for _ in range(21)] == [True] * 20 + [False]


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Any]:
    started: list[ServerProcess] = []

    def make(*args: str, name: str = "s") -> ServerProcess:
        proc = ServerProcess(
            data_dir=tmp_path / name, credentials=write_credentials(tmp_path / "credentials"), extra_args=args
        )
        started.append(proc)
        return proc.start()

    yield make
    for proc in started:
        proc.stop()


def get_meeting(server: ServerProcess, identity: str = "alice") -> Any:
    return signed_request(server.endpoint, "GET", f"/meetings/{uuid.uuid4()}", identity=identity)


def test_a_burst_beyond_the_limit_gets_the_modeled_throttling_error(servers: Any) -> None:
    server = servers("--api-rate", "0.5", "--api-burst", "5")
    answers = [get_meeting(server) for _ in range(8)]
    assert [r.status_code for r in answers[:5]] == [404] * 5  # within the burst: the call itself answers
    throttled = [r for r in answers[5:] if r.status_code == 429]
    assert throttled, [r.status_code for r in answers]
    r = throttled[0]
    assert r.headers["x-amzn-ErrorType"].split(":")[0] == "ThrottlingException"
    assert r.headers["x-amzn-RequestId"]
    body = json.loads(r.content)
    assert (body["Code"], body["Message"]) == ("Throttling", "Rate exceeded")
    # boto3 reads it as the modeled error (one attempt, no retries)
    chime = server.client("alice")
    with pytest.raises(ClientError) as exc:
        chime.get_meeting(MeetingId=str(uuid.uuid4()))
    assert exc.value.response["Error"]["Code"] == "ThrottlingException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    # other operations and other accounts have budgets of their own
    with pytest.raises(ClientError) as exc:
        chime.list_attendees(MeetingId=str(uuid.uuid4()))
    assert exc.value.response["Error"]["Code"] == "NotFoundException"
    assert get_meeting(server, identity="bob").status_code == 404


def test_boto3_standard_retries_complete_every_call(servers: Any) -> None:
    server = servers("--api-rate", "5", "--api-burst", "5")
    chime = server.client("alice", retries={"mode": "standard", "max_attempts": 10})

    def create(i: int) -> str:
        return str(
            chime.create_meeting(MediaRegion="us-east-1", ExternalMeetingId=f"burst-{i}")["Meeting"][
                "MeetingId"
            ]
        )

    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(create, range(20)))
    assert len(set(ids)) == 20
    samples = scrape(server)
    assert (
        value(samples, "parley_api_throttled_requests_total", service="chime", operation="CreateMeeting") > 0
    )
    assert (
        value(samples, "parley_api_requests_total", service="chime", operation="CreateMeeting", status="200")
        == 20
    )


@pytest.mark.redis
def test_two_nodes_share_one_accounts_budget_through_redis(servers: Any, tmp_path: Path) -> None:
    redis = PrivateRedis(tmp_path / "redis").start()
    try:
        args = ("--redis-url", redis.url, "--api-rate", "0.2", "--api-burst", "4")
        a, b = servers(*args, name="a"), servers(*args, name="b")
        assert [get_meeting(a).status_code for _ in range(4)] == [404] * 4
        assert get_meeting(b).status_code == 429  # the budget spent on node a is spent on node b
        assert get_meeting(b, identity="bob").status_code == 404
    finally:
        redis.kill()
