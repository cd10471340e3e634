"""Model-driven fuzzing of every HTTP surface against the real server: no 5xx, the surface's own error shape.

For each operation parley serves from the botocore models (Chime SDK Meetings, rest-json; Amazon Transcribe
vocabularies, awsJson 1.1) requests are drawn from the operation's input shape (strategies.py), put on the wire
by botocore's own serializer and signed with SigV4 as an SDK would, then often broken further: an unknown member,
a member replaced by a value of the wrong type, the whole body replaced by hostile JSON text, or the body cut
short. The stored-transcript calls and the console's JSON API get hostile queries, paths and bodies the same
way. Every answer must be below 500 and carry the surface's error shape; at the end the server still answers and
its log holds no traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from botocore.model import OperationModel, ServiceModel
from botocore.serialize import create_serializer
from botocore.session import get_session
from hypothesis import assume, given
from hypothesis import strategies as st

from harness.server import IDENTITIES, ServerProcess, write_credentials
from harness.signing import signed_request
from tests.fuzz.strategies import HOSTILE_JSON_TEXTS, HOSTILE_TEXT, json_values, params_for

_SESSION = get_session()
CHIME: ServiceModel = _SESSION.get_service_model("chime-sdk-meetings")
TRANSCRIBE: ServiceModel = _SESSION.get_service_model("transcribe")
TRANSCRIBE_SERVED = [
    f"{verb}{noun}"
    for noun in ("Vocabulary", "MedicalVocabulary", "VocabularyFilter")
    for verb in ("Create", "Get", "Update", "Delete")
] + ["ListVocabularies", "ListMedicalVocabularies", "ListVocabularyFilters"]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One server for the module, a real meeting and attendee to aim at, and an HTTP client."""
    root = tmp_path_factory.mktemp("fuzz")
    server = ServerProcess(
        data_dir=root / "data", credentials=write_credentials(root / "credentials")
    ).start()
    chime = server.client()
    meeting = chime.create_meeting(ExternalMeetingId="fuzz", MediaRegion="us-east-1")["Meeting"]
    attendee = chime.create_attendee(MeetingId=meeting["MeetingId"], ExternalUserId="fuzz")["Attendee"]
    with httpx.Client(timeout=30) as http:
        yield {"server": server, "meeting": meeting, "attendee": attendee, "http": http}
    alive = httpx.get(server.endpoint + "/ping", timeout=10)
    log = server.log()
    server.stop()
    assert alive.status_code == 200, "the server stopped answering"
    assert "Traceback" not in log, log[log.index("Traceback") - 500 :][:4000]


def send(
    target: dict[str, Any],
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    service: str = "chime",
) -> httpx.Response:
    endpoint = target["server"].endpoint
    return signed_request(endpoint, method, path, body, headers, service=service, client=target["http"])


def assert_aws_answer(response: httpx.Response) -> None:
    assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"
    assert response.headers.get("x-amzn-RequestId"), "every answer names its request"
    if response.status_code >= 400:
        assert response.headers.get("x-amzn-ErrorType"), response.text[:300]
        body = response.json()
        assert body.get("Message") or body.get("message"), body


# -- how a serialized request gets broken further ---------------------------------------------------------


@st.composite
def broken_body(draw: st.DrawFn, body: bytes) -> bytes:
    mode = draw(st.sampled_from(["as-is", "unknown-member", "wrong-type", "hostile-text", "truncated"]))
    if mode == "as-is":
        return body
    if mode == "hostile-text":
        return draw(HOSTILE_JSON_TEXTS).encode("utf-8", "surrogatepass")
    if mode == "truncated":
        return body[: draw(st.integers(min_value=0, max_value=max(0, len(body) - 1)))]
    document = json.loads(body) if body else {}
    if not isinstance(document, dict):
        return body
    if mode == "unknown-member" or not document:
        document[draw(HOSTILE_TEXT)] = draw(json_values())
    else:
        document[draw(st.sampled_from(sorted(document)))] = draw(json_values())
    return json.dumps(document).encode()


def _aim(params: dict[str, Any], target: dict[str, Any], aim: bool) -> dict[str, Any]:
    """Point path members at the real meeting and attendee (so validation passes and handlers run)."""
    if aim:
        if "MeetingId" in params or not params:
            params["MeetingId"] = target["meeting"]["MeetingId"]
        if "AttendeeId" in params:
            params["AttendeeId"] = target["attendee"]["AttendeeId"]
        if "ResourceARN" in params:
            params["ResourceARN"] = target["meeting"]["MeetingArn"]
    return params


@pytest.mark.parametrize("name", CHIME.operation_names)
@given(data=st.data())
def test_chime_operations_never_fail_on_input(target: dict[str, Any], name: str, data: st.DataObject) -> None:
    operation: OperationModel = CHIME.operation_model(name)
    params = _aim(data.draw(params_for(operation.input_shape)), target, data.draw(st.booleans()))
    try:
        wire = create_serializer("rest-json", include_validation=False).serialize_to_request(
            params, operation
        )
    except (KeyError, TypeError, ValueError, UnicodeError):
        assume(
            False
        )  # a missing path member or a value botocore itself cannot put on the wire; broken_body covers raw bodies
    body = data.draw(broken_body(wire["body"])) if operation.http["method"] != "GET" else wire["body"]
    query = urlencode(wire["query_string"], doseq=True)
    path = wire["url_path"] + (f"?{query}" if query else "")
    assert_aws_answer(send(target, wire["method"], path, body, dict(wire["headers"])))


@pytest.mark.parametrize("name", TRANSCRIBE_SERVED)
@given(data=st.data())
def test_transcribe_operations_never_fail_on_input(
    target: dict[str, Any], name: str, data: st.DataObject
) -> None:
    operation = TRANSCRIBE.operation_model(name)
    params = data.draw(params_for(operation.input_shape))
    try:
        wire = create_serializer("json", include_validation=False).serialize_to_request(params, operation)
    except (KeyError, TypeError, ValueError, UnicodeError):
        assume(False)
    body = data.draw(broken_body(wire["body"]))
    assert_aws_answer(send(target, "POST", "/", body, dict(wire["headers"]), service="transcribe"))


@given(
    method=st.sampled_from(["GET", "DELETE", "POST", "PUT", "PATCH"]),
    meeting=st.one_of(HOSTILE_TEXT, st.just("5d3b0d6c-2f1e-4b8a-9c0d-1e2f3a4b5c6d")),
    query=st.dictionaries(
        st.sampled_from(["format", "max-results", "next-token", "x"]), HOSTILE_TEXT, max_size=3
    ),
    listing=st.booleans(),
)
def test_transcript_calls_never_fail_on_input(
    target: dict[str, Any], method: str, meeting: str, query: dict[str, str], listing: bool
) -> None:
    path = "/transcripts" if listing else f"/meetings/{quote(meeting, safe='')}/transcript"
    encoded = urlencode(query)
    assert_aws_answer(send(target, method, path + (f"?{encoded}" if encoded else "")))


# -- the console's JSON API -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def console(target: dict[str, Any]) -> httpx.Client:
    key, secret, _ = IDENTITIES["alice"]
    client = httpx.Client(base_url=target["server"].endpoint, headers={"X-Parley-Console": "1"}, timeout=30)
    signed_in = client.post(
        "/console/api/login", json={"accessKeyId": key, "secretAccessKey": secret, "region": "us-east-1"}
    )
    assert signed_in.status_code == 200
    return client


CONSOLE_CALLS = [
    ("POST", "/console/api/meetings"),
    ("POST", "/console/api/meetings/{m}/attendees"),
    ("POST", "/console/api/meetings/{m}/transcription/start"),
    ("POST", "/console/api/meetings/{m}/viewer"),
    ("GET", "/console/api/meetings/{m}/transcript?format={q}"),
    ("GET", "/console/api/transcripts?max-results={q}&next-token={q}"),
    ("DELETE", "/console/api/meetings/{m}/attendees/{q}"),
    ("POST", "/console/api/login"),
]


@given(
    call=st.sampled_from(CONSOLE_CALLS),
    real=st.booleans(),
    text=HOSTILE_TEXT,
    body=st.one_of(
        json_values().map(lambda v: json.dumps(v).encode()),
        HOSTILE_JSON_TEXTS.map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.binary(max_size=64),
    ),
)
def test_console_api_never_fails_on_input(
    target: dict[str, Any], console: httpx.Client, call: tuple[str, str], real: bool, text: str, body: bytes
) -> None:
    method, template = call
    meeting = target["meeting"]["MeetingId"] if real else quote(text, safe="")
    path = template.format(m=meeting, q=quote(text, safe=""))
    response = console.request(method, path, content=body if method == "POST" else None)
    assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"
    if response.status_code >= 400:
        error = response.json()
        assert error.get("code")
        assert error.get("message")
