"""The console API (``/console/api``) and the page routes, over HTTP against a real server process.

No browser and no speech model: this pins the security decisions (cookie flags, CSRF header, origin
check, account scoping) and that the web routes never shadow an AWS API path.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from harness.console import CSRF, signed_in
from harness.server import IDENTITIES, ServerProcess, write_credentials


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("console")
    proc = ServerProcess(data_dir=root / "data", credentials=write_credentials(root / "credentials")).start()
    yield proc
    proc.stop()


def test_pages_and_static_files_are_served(server: ServerProcess) -> None:
    for path in ("/", "/join"):
        page = httpx.get(server.endpoint + path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    for path in ("/static/js/console.js", "/static/js/protobuf.js", "/static/css/parley.css"):
        response = httpx.get(server.endpoint + path)
        assert response.status_code == 200, path
    assert httpx.get(server.endpoint + "/static/js/nope.js").status_code == 404
    traversal = httpx.get(server.endpoint + "/static/%2e%2e/console.py")
    assert traversal.status_code == 404
    assert "web_routes" not in traversal.text


def test_aws_paths_still_reach_the_api(server: ServerProcess) -> None:
    chime = server.client()
    meeting = chime.create_meeting(ExternalMeetingId="api", MediaRegion="us-east-1")["Meeting"]
    assert chime.get_meeting(MeetingId=meeting["MeetingId"])["Meeting"]["MeetingId"] == meeting["MeetingId"]
    unsigned = httpx.get(server.endpoint + "/meetings/" + meeting["MeetingId"])
    assert unsigned.status_code == 403
    assert "x-amzn-errortype" in unsigned.headers
    assert "x-amzn-errortype" in httpx.post(server.endpoint + "/tags", json={}).headers


def test_login_sets_a_strict_httponly_cookie_and_never_returns_the_secret(server: ServerProcess) -> None:
    key, secret, account = IDENTITIES["alice"]
    response = httpx.post(
        server.endpoint + "/console/api/login",
        json={"accessKeyId": key, "secretAccessKey": secret, "region": "eu-west-1"},
        headers=CSRF,
    )
    assert response.status_code == 200
    assert secret not in response.text
    assert response.json() == {
        "identity": "alice",
        "accessKeyId": key,
        "accountId": account,
        "region": "eu-west-1",
        "expiresAt": response.json()["expiresAt"],
        "transcriptRetentionSeconds": None,  # the default: kept until deleted
    }
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("parley_console=")
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/" in cookie
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (
            {"accessKeyId": IDENTITIES["alice"][0], "secretAccessKey": "wrong"},
            CSRF,
            401,
            "InvalidCredentials",
        ),
        ({"accessKeyId": "AKIANOBODY", "secretAccessKey": "x"}, CSRF, 401, "InvalidCredentials"),
        (
            {"accessKeyId": IDENTITIES["alice"][0], "secretAccessKey": IDENTITIES["alice"][1]},
            {},
            403,
            "CsrfCheckFailed",
        ),
        (
            {"accessKeyId": IDENTITIES["alice"][0], "secretAccessKey": IDENTITIES["alice"][1]},
            {**CSRF, "Origin": "https://evil.example"},
            403,
            "CsrfCheckFailed",
        ),
    ],
)
def test_login_refusals(
    server: ServerProcess, body: dict[str, str], headers: dict[str, str], status: int, code: str
) -> None:
    response = httpx.post(server.endpoint + "/console/api/login", json=body, headers=headers)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert "set-cookie" not in response.headers


def test_state_changes_need_the_console_header(server: ServerProcess) -> None:
    client = signed_in(server)
    response = client.post("/console/api/meetings", json={}, headers={"X-Parley-Console": ""})
    assert response.status_code == 403
    assert response.json()["code"] == "CsrfCheckFailed"
    same_origin = client.post("/console/api/meetings", json={}, headers={"Origin": server.endpoint})
    assert same_origin.status_code == 201, same_origin.text


def test_not_signed_in(server: ServerProcess) -> None:
    response = httpx.get(server.endpoint + "/console/api/meetings")
    assert response.status_code == 401
    assert response.json() == {"code": "NotSignedIn", "message": "Sign in to use the console"}
    forged = httpx.get(server.endpoint + "/console/api/meetings", cookies={"parley_console": "guess"})
    assert forged.status_code == 401


def test_meeting_lifecycle_through_the_console(server: ServerProcess) -> None:
    client = signed_in(server)
    created = client.post("/console/api/meetings", json={"ExternalMeetingId": "Standup"})
    assert created.status_code == 201
    meeting_id = created.json()["MeetingId"]
    assert created.json()["Meeting"]["MediaPlacement"]["AudioFallbackUrl"].endswith(f"/calls/{meeting_id}")
    listed = client.get("/console/api/meetings").json()["Meetings"]
    assert listed[0]["MeetingId"] == meeting_id
    assert listed[0]["Ended"] is False
    # Meetings made elsewhere (boto3 here) are the account's too, and listed.
    other = server.client().create_meeting(ExternalMeetingId="api", MediaRegion="us-east-1")["Meeting"]
    listed = client.get("/console/api/meetings").json()["Meetings"]
    assert [m["MeetingId"] for m in listed[:2]] == [other["MeetingId"], meeting_id]

    attendee = client.post(f"/console/api/meetings/{meeting_id}/attendees", json={"ExternalUserId": "Sam"})
    assert attendee.status_code == 201
    token = attendee.json()["Attendee"]["JoinToken"]
    attendees: list[dict[str, Any]] = client.get(f"/console/api/meetings/{meeting_id}/attendees").json()[
        "Attendees"
    ]
    by_name = {a["ExternalUserId"]: a for a in attendees}
    assert by_name["Sam"]["JoinToken"] == token, "the session keeps tokens to rebuild join links"

    # Modeled validation and modeled errors, as the signed API gives them.
    bad = client.post(f"/console/api/meetings/{meeting_id}/transcription/start", json={})
    assert bad.status_code == 400
    assert bad.json()["code"] == "BadRequestException"
    not_running = client.post(f"/console/api/meetings/{meeting_id}/transcription/stop")
    assert not_running.status_code == 422
    assert not_running.json()["code"] == "UnprocessableEntityException"
    empty = client.get(f"/console/api/meetings/{meeting_id}/transcript?format=vtt")
    assert empty.status_code == 200
    assert empty.text.startswith("WEBVTT")
    assert client.get(f"/console/api/meetings/{meeting_id}/transcript?format=doc").status_code == 400

    # Another account cannot see it.
    bob = signed_in(server, "bob")
    assert bob.get(f"/console/api/meetings/{meeting_id}").json()["code"] == "NotFoundException"
    assert bob.delete(f"/console/api/meetings/{meeting_id}").status_code == 404

    started = client.post(
        f"/console/api/meetings/{meeting_id}/transcription/start",
        json={"TranscriptionConfiguration": {"EngineTranscribeSettings": {"LanguageCode": "en-US"}}},
    )
    assert started.status_code == 200
    assert client.delete(f"/console/api/meetings/{meeting_id}").status_code == 204
    listed = client.get("/console/api/meetings").json()["Meetings"]
    assert next(m for m in listed if m["MeetingId"] == meeting_id)["Ended"] is True

    # The ended meeting's transcript stays, for this account only, until it is deleted.
    kept = client.get("/console/api/transcripts").json()["Transcripts"]
    assert any(t["MeetingId"] == meeting_id and "MeetingEndedAt" in t for t in kept)
    assert client.get(f"/console/api/meetings/{meeting_id}/transcript?format=vtt").status_code == 200
    assert all(
        t["MeetingId"] != meeting_id for t in bob.get("/console/api/transcripts").json()["Transcripts"]
    )
    assert bob.delete(f"/console/api/meetings/{meeting_id}/transcript").status_code == 404
    assert client.delete(f"/console/api/meetings/{meeting_id}/transcript").status_code == 204
    assert client.get(f"/console/api/meetings/{meeting_id}/transcript?format=vtt").status_code == 404
    assert client.get("/console/api/transcripts?max-results=zero").status_code == 400

    assert client.post("/console/api/logout").status_code == 200
    assert client.get("/console/api/meetings").status_code == 401


def close_code(ws: Any) -> int | None:
    """Read until the server closes the socket; the close code it sent."""
    from websockets.exceptions import ConnectionClosed

    with contextlib.suppress(ConnectionClosed):
        while True:
            ws.recv(timeout=15)
    return ws.protocol.close_rcvd.code if ws.protocol.close_rcvd else None


def test_console_captions_are_a_subscription_not_an_attendee(server: ServerProcess) -> None:
    """The console watches a meeting through its session cookie; it never joins, so ListAttendees stays as is."""
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    client = signed_in(server)
    meeting_id = client.post("/console/api/meetings", json={"ExternalMeetingId": "Watched"}).json()[
        "MeetingId"
    ]
    url = server.endpoint.replace("http", "ws") + f"/console/api/meetings/{meeting_id}/events"
    cookie = {"Cookie": f"parley_console={client.cookies['parley_console']}"}
    with pytest.raises(InvalidStatus):
        connect(url, open_timeout=10)  # no session
    with pytest.raises(InvalidStatus):
        connect(url, additional_headers={**cookie, "Origin": "http://evil.example"}, open_timeout=10)
    bob = {"Cookie": f"parley_console={signed_in(server, 'bob').cookies['parley_console']}"}
    with connect(url, additional_headers=bob, open_timeout=10) as other:
        assert close_code(other) == 4404, "another account's meeting"
    with connect(url, additional_headers={**cookie, "Origin": server.endpoint}, open_timeout=10) as ws:
        started = client.post(
            f"/console/api/meetings/{meeting_id}/transcription/start",
            json={"TranscriptionConfiguration": {"EngineTranscribeSettings": {"LanguageCode": "en-US"}}},
        )
        assert started.status_code == 200
        event = json.loads(ws.recv(timeout=10))["events"][0]
        assert event["status"]["type"] == "started"
        assert server.client().list_attendees(MeetingId=meeting_id)["Attendees"] == []
        assert client.delete(f"/console/api/meetings/{meeting_id}").status_code == 204
        assert close_code(ws) == 4410
