"""Malformed requests over real HTTP: every one gets a modeled AWS error, never a 500 or a traceback."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from harness.server import ServerProcess
from harness.signing import signed_request

MID = "5d3b0d6c-2f1e-4b8a-9c0d-1e2f3a4b5c6d"


def signed(
    server: ServerProcess,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    service: str = "chime",
) -> httpx.Response:
    return signed_request(server.endpoint, method, path, body, headers, service=service)


def assert_modeled_error(resp: httpx.Response, code: str, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["x-amzn-ErrorType"].split(":")[0] == code
    request_id = resp.headers["x-amzn-RequestId"]
    assert resp.headers["content-type"] == "application/json"
    body = json.loads(resp.content)
    assert set(body) >= {"Code", "Message", "RequestId"}
    assert body["RequestId"] == request_id
    assert "Traceback" not in resp.text
    return body


@pytest.mark.parametrize(
    ("method", "path", "body", "code", "status"),
    [
        ("POST", "/meetings", b"{not json", "BadRequestException", 400),
        ("POST", "/meetings", b"[1, 2, 3]", "BadRequestException", 400),
        ("POST", "/meetings", b'"just a string"', "BadRequestException", 400),
        ("POST", "/meetings", b"\xff\xfe\x00garbage", "BadRequestException", 400),
        ("POST", "/meetings", b'{"MediaRegion": 5, "ExternalMeetingId": [], "ClientRequestToken": "t"}', "BadRequestException", 400),
        ("POST", "/meetings", b'{"MediaRegion": "us-east-1", "ExternalMeetingId": "xx", "ClientRequestToken": "tok", "Nope": 1}', None, 200),
        ("GET", "/definitely/not/an/api", b"", "NotFoundException", 404),
        ("PATCH", "/meetings", b"", "NotFoundException", 404),
        ("POST", f"/meetings/{MID}/transcription?operation=rewind", b"", "NotFoundException", 404),
        ("GET", "/meetings/%ZZ", b"", "BadRequestException", 400),
        ("GET", f"/meetings/{MID}/attendees?max-results=abc", b"", "BadRequestException", 400),
        ("GET", f"/meetings/{MID}/attendees?max-results=99999999999999999999999", b"", "BadRequestException", 400),
        ("POST", f"/meetings/{MID}/transcription?operation=start", b'{"TranscriptionConfiguration": "no"}', "BadRequestException", 400),
        ("POST", f"/meetings/{MID}/transcription?operation=start", b"{}", "BadRequestException", 400),
        ("PUT", f"/meetings/{MID}/attendees/capabilities?operation=batch-update-except", b'{"ExcludedAttendeeIds": [null], "Capabilities": {}}', "BadRequestException", 400),
        ("GET", "/tags", b"", "BadRequestException", 400),
    ],
)  # fmt: skip
def test_malformed_requests_get_modeled_errors(
    server: ServerProcess, method: str, path: str, body: bytes, code: str | None, status: int
) -> None:
    resp = signed(server, method, path, body, {"Content-Type": "application/json"} if body else None)
    if code is None:
        assert resp.status_code == status, resp.text
    else:
        assert_modeled_error(resp, code, status)


# Classes the fuzzers (tests/fuzz) found answering 500; each is refused at the JSON boundary (protocol/jsondoc.py).
FUZZ_FOUND = {
    "deeply-nested-array": b'{"MediaRegion":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "deeply-nested-object": b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    "integer-with-thousands-of-digits": b'{"MeetingFeatures":{"Attendee":{"MaxCount":'
    + b"9" * 5_000
    + b"}}}",
    "lone-surrogate": b'{"ExternalMeetingId":"\\ud800"}',
    "nan": b'{"MeetingFeatures":{"Attendee":{"MaxCount":NaN}}}',
    "out-of-range-float": b'{"MeetingFeatures":{"Attendee":{"MaxCount":1e999}}}',
}


@pytest.mark.parametrize("case", sorted(FUZZ_FOUND))
def test_json_the_fuzzers_found_is_a_client_error_on_both_apis(server: ServerProcess, case: str) -> None:
    body = FUZZ_FOUND[case]
    resp = signed(server, "POST", "/meetings", body, {"Content-Type": "application/json"})
    assert (
        "Could not parse request body into json"
        in assert_modeled_error(resp, "BadRequestException", 400)["Message"]
    )
    target = {"X-Amz-Target": "Transcribe.CreateVocabulary", "Content-Type": "application/x-amz-json-1.1"}
    resp = signed(server, "POST", "/", body, target, service="transcribe")
    assert resp.status_code == 400, resp.text
    assert resp.headers["x-amzn-ErrorType"] == "BadRequestException"
    assert resp.headers["x-amzn-RequestId"]
    assert "Could not parse request body into json" in resp.json()["Message"]


def test_unknown_console_calls_answer_json(server: ServerProcess) -> None:
    for method, path in (
        ("GET", "/console/api/nope"),
        ("PATCH", "/console/api/meetings"),
        ("POST", "/console/api/session"),
        # A line break in the path (found by tests/fuzz in its long profile): Starlette's path pattern stops there.
        ("POST", "/console/api/meetings/%0A/viewer"),
        ("GET", "/console/api/x%0Ay"),
    ):
        resp = httpx.request(method, server.endpoint + path, headers={"X-Parley-Console": "1"}, timeout=10)
        assert resp.status_code == 404, (method, path, resp.text)
        assert resp.json()["code"] == "NotFound"


def test_oversized_body_is_rejected(server: ServerProcess) -> None:
    body = json.dumps({"MediaRegion": "us-east-1", "ExternalMeetingId": "x" * (2 << 20)}).encode()
    resp = signed(server, "POST", "/meetings", body, {"Content-Type": "application/json"})
    assert_modeled_error(resp, "BadRequestException", 400)


def test_unsigned_and_garbled_auth(server: ServerProcess) -> None:
    resp = httpx.get(f"{server.endpoint}/meetings/{MID}", timeout=10)
    assert_modeled_error(resp, "MissingAuthenticationTokenException", 403)
    resp = httpx.get(
        f"{server.endpoint}/meetings/{MID}", headers={"Authorization": "AWS4-HMAC-SHA256 garbage"}, timeout=10
    )
    body = assert_modeled_error(resp, "IncompleteSignatureException", 403)
    assert body["Message"]
    resp = httpx.get(f"{server.endpoint}/definitely/not/an/api", timeout=10)
    assert_modeled_error(resp, "MissingAuthenticationTokenException", 403)


def test_server_still_serves_after_abuse(server: ServerProcess) -> None:
    chime = server.client()
    assert chime.create_meeting(ExternalMeetingId="after-abuse", MediaRegion="us-east-1")["Meeting"][
        "MeetingId"
    ]
