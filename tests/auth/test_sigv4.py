"""SigV4 verification against requests signed by botocore itself (header and presigned auth)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSPreparedRequest, AWSRequest, AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials

from parley.auth import AuthError, SigV4Verifier, VerifiedRequest
from parley.credentials import CredentialStore, Identity

ALICE = Identity(
    "alice", "AKIAALICE00000000001", "alice-secret/key+0000000000000000000000001", "111122223333"
)
BOB = Identity("bob", "AKIABOB0000000000003", "bob-secret-key-000000000000000000000000003", "444455556666")
STRANGER = Identity(
    "eve", "AKIAEVE0000000000009", "eve-secret-key-000000000000000000000000009", "999999999999"
)

NOW = dt.datetime(2026, 11, 24, 8, 15, 0, tzinfo=dt.UTC)
NOW_TS = NOW.timestamp()
ENDPOINT = "http://127.0.0.1:8000"
BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

Wire = tuple[str, str, str, list[tuple[str, str]], bytes]


# -- helpers -----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def frozen_signing_time() -> Iterator[None]:
    """botocore signs at NOW; the verifier's clock defaults to NOW too (see ``verifier``)."""
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        yield


def verifier(offset_s: float = 0.0, **kw: Any) -> SigV4Verifier:
    return SigV4Verifier(CredentialStore([ALICE, BOB]), clock=lambda: NOW_TS + offset_s, **kw)


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def to_wire(prepared: AWSPreparedRequest) -> Wire:
    """What the server sees: the request target split as on the wire, plus urllib3's own headers."""
    parts = urlsplit(prepared.url)
    headers = [(name, _text(value)) for name, value in prepared.headers.items()]
    if not any(name.lower() == "host" for name, _ in headers):
        headers.append(("Host", parts.netloc))
    headers.append(("Accept-Encoding", "identity"))  # added by urllib3, never signed
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return prepared.method, parts.path, parts.query, headers, body


def sign(
    method: str,
    url: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
    identity: Identity = ALICE,
    service: str = "chime",
    region: str = "us-east-1",
) -> Wire:
    request = AWSRequest(method=method, url=url, data=body)
    items = headers.items() if isinstance(headers, dict) else (headers or [])
    for name, value in items:
        request.headers[name] = value  # HTTPHeaders appends, so repeats become repeated headers
    creds = Credentials(identity.access_key_id, identity.secret_access_key)
    SigV4Auth(creds, service, region).add_auth(request)
    method, path, query, _, body = to_wire(request.prepare())
    # Not the prepared headers: preparing keeps only the last of repeated headers, while
    # AWSRequest.headers (and the signature) has them all.
    headers_sent = [(name, _text(value)) for name, value in request.headers.items()]
    headers_sent += [("Host", urlsplit(url).netloc), ("Accept-Encoding", "identity")]
    return method, path, query, headers_sent, body


def replace_header(wire: Wire, name: str, value: str) -> Wire:
    method, path, query, headers, body = wire
    headers = [(n, value if n.lower() == name.lower() else v) for n, v in headers]
    return method, path, query, headers, body


def drop_header(wire: Wire, name: str) -> Wire:
    method, path, query, headers, body = wire
    return method, path, query, [(n, v) for n, v in headers if n.lower() != name.lower()], body


def header(wire: Wire, name: str) -> str:
    return next(v for n, v in wire[3] if n.lower() == name.lower())


class _FakeRaw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_kw: Any) -> Iterator[bytes]:
        yield self._body


def client(identity: Identity = ALICE, endpoint: str = ENDPOINT, **kw: Any) -> Any:
    return boto3.session.Session().client(
        "chime-sdk-meetings",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=identity.access_key_id,
        aws_secret_access_key=identity.secret_access_key,
        config=Config(retries={"max_attempts": 1}),
        **kw,
    )


def capture(call: Callable[[Any], Any], identity: Identity = ALICE) -> Wire:
    """Run ``call(client)`` against a real boto3 client, intercepting the signed request."""
    captured: list[AWSPreparedRequest] = []

    def before_send(request: AWSPreparedRequest, **_kw: Any) -> AWSResponse:
        captured.append(request)
        return AWSResponse(request.url, 200, {"Content-Type": "application/json"}, _FakeRaw(b"{}"))

    c = client(identity)
    c.meta.events.register("before-send", before_send)
    call(c)
    assert len(captured) == 1
    return to_wire(captured[0])


def presigned_wire(url: str, method: str = "GET") -> Wire:
    parts = urlsplit(url)
    return method, parts.path, parts.query, [("Host", parts.netloc)], b""


def expect_error(wire: Wire, code: str, v: SigV4Verifier | None = None) -> AuthError:
    with pytest.raises(AuthError) as info:
        (v or verifier()).verify(*wire)
    assert info.value.code == code, info.value.message
    return info.value


MEETING_ID = "8f6b3f8e-1b7e-4a5e-9a8c-0f3c2e4d5a6b"
ARN = "arn:aws:chime:us-east-1:111122223333:meeting/" + MEETING_ID

OPERATIONS: dict[str, Callable[[Any], Any]] = {
    "get_meeting": lambda c: c.get_meeting(MeetingId=MEETING_ID),
    "get_meeting_encoded_path": lambda c: c.get_meeting(MeetingId="a b/c%d~ü+&=?#x"),
    "get_attendee_encoded_path": lambda c: c.get_attendee(MeetingId="m/../x", AttendeeId="a;b,c"),
    "create_meeting_json": lambda c: c.create_meeting(
        ClientRequestToken="t1", MediaRegion="us-east-1", ExternalMeetingId="démo  spaces"
    ),
    "create_meeting_with_attendees": lambda c: c.create_meeting_with_attendees(
        MediaRegion="us-east-1", ExternalMeetingId="demo", Attendees=[{"ExternalUserId": "user-1"}]
    ),
    "stop_transcription_empty_post": lambda c: c.stop_meeting_transcription(MeetingId=MEETING_ID),
    "delete_meeting": lambda c: c.delete_meeting(MeetingId=MEETING_ID),
    "list_tags_arn_query": lambda c: c.list_tags_for_resource(ResourceARN=ARN),
    "tag_resource": lambda c: c.tag_resource(ResourceARN=ARN, Tags=[{"Key": "k", "Value": "v w"}]),
    "list_attendees_paging": lambda c: c.list_attendees(
        MeetingId=MEETING_ID, MaxResults=5, NextToken="a+b/c==&x y~*'()!ü"
    ),
    "batch_update_put": lambda c: c.batch_update_attendee_capabilities_except(
        MeetingId=MEETING_ID,
        ExcludedAttendeeIds=[{"AttendeeId": "a1"}],
        Capabilities={"Audio": "SendReceive", "Video": "None", "Content": "None"},
    ),
}


# -- acceptance: botocore-signed requests ------------------------------------------------------


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_boto3_client_requests_verify(operation: str) -> None:
    wire = capture(OPERATIONS[operation])
    result = verifier().verify(*wire)
    assert result == VerifiedRequest(identity=ALICE, region="us-east-1", service="chime")


def test_stop_transcription_really_is_an_empty_untyped_post() -> None:
    method, _path, query, headers, body = capture(OPERATIONS["stop_transcription_empty_post"])
    assert (method, body, query) == ("POST", b"", "operation=stop")
    assert not any(name.lower() == "content-type" for name, _ in headers)


def test_encoded_path_is_double_encoded_like_botocore() -> None:
    wire = capture(OPERATIONS["get_meeting_encoded_path"])
    assert "%2F" in wire[1]
    assert "%25" in wire[1]
    assert verifier().verify(*wire).identity == ALICE


def test_second_identity_and_other_account() -> None:
    wire = capture(OPERATIONS["get_meeting"], identity=BOB)
    assert verifier().verify(*wire).identity == BOB


@pytest.mark.parametrize("region", ["eu-west-1", "ap-southeast-2", "local"])
def test_any_region_is_accepted(region: str) -> None:
    wire = sign("GET", f"{ENDPOINT}/meetings/{MEETING_ID}", region=region)
    assert verifier().verify(*wire).region == region


def test_extra_service_names_can_be_allowed() -> None:
    wire = sign("GET", f"{ENDPOINT}/meetings/{MEETING_ID}", service="parley")
    assert verifier(services=("chime", "parley")).verify(*wire).service == "parley"


def test_date_header_instead_of_x_amz_date() -> None:
    wire = sign("GET", f"{ENDPOINT}/meetings/{MEETING_ID}", headers={"Date": "placeholder"})
    assert header(wire, "Date") == "Tue, 24 Nov 2026 08:15:00 -0000"
    assert not any(n.lower() == "x-amz-date" for n, _ in wire[3])
    assert verifier().verify(*wire).identity == ALICE


def test_signed_custom_headers_trimmed_collapsed_and_joined() -> None:
    wire = sign(
        "POST",
        f"{ENDPOINT}/meetings",
        body=b"{}",
        headers=[
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Custom", "  a   b \t c  "),
            ("X-Custom", "second  value"),
        ],
    )
    assert "x-custom" in header(wire, "Authorization")
    assert verifier().verify(*wire).identity == ALICE
    # The verifier must see both occurrences, in order.
    method, path, query, headers, body = wire
    reordered = [h for h in headers if h[1] != "second  value"] + [("x-custom", "second  value")]
    assert verifier().verify(method, path, query, reordered, body).identity == ALICE
    only_first = [h for h in headers if h[1] != "second  value"]
    assert expect_error((method, path, query, only_first, body), "InvalidSignatureException")


def test_x_amz_content_sha256_matching_body_is_fine() -> None:
    import hashlib

    body = b'{"MediaRegion":"us-east-1"}'
    wire = sign(
        "POST",
        f"{ENDPOINT}/meetings",
        body=body,
        headers={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()},
    )
    assert verifier().verify(*wire).identity == ALICE


def test_aws_sigv4_test_suite_get_vanilla() -> None:
    """The published AWS SigV4 test vector, independent of botocore."""
    ident = Identity("example", "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "123456789012")
    v = SigV4Verifier(
        CredentialStore([ident]),
        services=["service"],
        clock=lambda: dt.datetime(2015, 8, 30, 12, 36, tzinfo=dt.UTC).timestamp(),
    )
    headers = [
        ("Host", "example.amazonaws.com"),
        ("X-Amz-Date", "20150830T123600Z"),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        ),
    ]
    assert v.verify("GET", "/", "", headers, b"").service == "service"


def test_signing_keys_are_cached() -> None:
    v = verifier()
    wire = capture(OPERATIONS["get_meeting"])
    for _ in range(3):
        v.verify(*wire)
    info = v._signing_key.cache_info()
    assert (info.misses, info.hits) == (1, 2)


# -- acceptance: a real socket, so the path and headers are exactly what urllib3 put on the wire --


class _Recorder(BaseHTTPRequestHandler):
    seen: list[Wire]

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        self.seen.append((self.command, path, query, list(self.headers.items()), body))
        payload = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recording_server() -> Iterator[tuple[str, list[Wire]]]:
    seen: list[Wire] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_requests_captured_from_a_real_socket_verify(recording_server: tuple[str, list[Wire]]) -> None:
    endpoint, seen = recording_server
    c = client(endpoint=endpoint)
    for call in OPERATIONS.values():
        call(c)
    assert len(seen) == len(OPERATIONS)
    v = verifier()
    for wire in seen:
        assert v.verify(*wire).identity == ALICE, wire[:3]


# -- presigned URLs ------------------------------------------------------------------------------


def test_presigned_get_meeting() -> None:
    url = client().generate_presigned_url("get_meeting", Params={"MeetingId": MEETING_ID}, ExpiresIn=300)
    result = verifier().verify(*presigned_wire(url))
    assert result == VerifiedRequest(identity=ALICE, region="us-east-1", service="chime", presigned=True)


def test_presigned_with_encoded_path_and_query() -> None:
    url = client().generate_presigned_url(
        "list_attendees",
        Params={"MeetingId": "a b/ü", "MaxResults": 5, "NextToken": "a+b/c==&x y~"},
        ExpiresIn=60,
    )
    assert verifier(offset_s=59).verify(*presigned_wire(url)).presigned


def test_presigned_uses_empty_body_hash_not_unsigned_payload() -> None:
    """botocore's non-S3 SigV4QueryAuth signs sha256(b"") -- check we track what it really does."""
    import hashlib

    from botocore.auth import SigV4QueryAuth

    request = AWSRequest(method="GET", url=f"{ENDPOINT}/meetings/{MEETING_ID}")
    auth = SigV4QueryAuth(Credentials(ALICE.access_key_id, ALICE.secret_access_key), "chime", "us-east-1", 60)
    auth.add_auth(request)
    canonical = auth.canonical_request(request)
    assert canonical.endswith("\n" + hashlib.sha256(b"").hexdigest())
    assert verifier().verify(*presigned_wire(request.url)).presigned


def test_presigned_expired_and_not_yet_valid() -> None:
    url = client().generate_presigned_url("get_meeting", Params={"MeetingId": MEETING_ID}, ExpiresIn=60)
    wire = presigned_wire(url)
    assert verifier(offset_s=60).verify(*wire).presigned
    err = expect_error(wire, "InvalidSignatureException", verifier(offset_s=61))
    assert err.message.startswith("Signature expired: 20261124T081500Z is now earlier than")
    err = expect_error(wire, "InvalidSignatureException", verifier(offset_s=-901))
    assert err.message.startswith("Signature not yet current: 20261124T081500Z")


def test_presigned_tampering() -> None:
    url = client().generate_presigned_url(
        "list_attendees", Params={"MeetingId": MEETING_ID, "MaxResults": 5}, ExpiresIn=60
    )
    method, path, query, headers, body = presigned_wire(url)
    expect_error(
        (method, path, query.replace("max-results=5", "max-results=6"), headers, body),
        "InvalidSignatureException",
    )
    expect_error(
        (method, path.replace(MEETING_ID, "other"), query, headers, body), "InvalidSignatureException"
    )
    expect_error((method, path, query + "&extra=1", headers, body), "InvalidSignatureException")
    expect_error(
        (method, path, query.replace("X-Amz-Expires=60", "X-Amz-Expires=600"), headers, body),
        "InvalidSignatureException",
    )
    expect_error(("POST", path, query, headers, body), "InvalidSignatureException")
    expect_error((method, path, query, [("Host", "evil.example:8000")], body), "InvalidSignatureException")
    expect_error((method, path, query, headers, b"smuggled"), "InvalidSignatureException")


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda q: q.replace("X-Amz-Algorithm=AWS4-HMAC-SHA256&", ""), "IncompleteSignatureException"),
        (
            lambda q: q.replace("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1"),
            "IncompleteSignatureException",
        ),
        (lambda q: q.split("&X-Amz-Signature=")[0], "IncompleteSignatureException"),
        (lambda q: q.replace("X-Amz-Expires=60", "X-Amz-Expires=-1"), "IncompleteSignatureException"),
        (lambda q: q.replace("X-Amz-Expires=60", "X-Amz-Expires=604801"), "IncompleteSignatureException"),
        (lambda q: q.replace("AKIAALICE00000000001", "AKIAEVE0000000000009"), "UnrecognizedClientException"),
        (lambda q: q.replace("%2Fchime%2F", "%2Fs3%2F"), "InvalidSignatureException"),
    ],
)
def test_presigned_malformed(mutate: Callable[[str], str], code: str) -> None:
    url = client().generate_presigned_url("get_meeting", Params={"MeetingId": MEETING_ID}, ExpiresIn=60)
    method, path, query, headers, body = presigned_wire(url)
    expect_error((method, path, mutate(query), headers, body), code)


def test_presigned_and_authorization_header_together_is_rejected() -> None:
    url = client().generate_presigned_url("get_meeting", Params={"MeetingId": MEETING_ID}, ExpiresIn=60)
    method, path, query, headers, body = presigned_wire(url)
    signed = capture(OPERATIONS["get_meeting"])
    headers = [*headers, ("Authorization", header(signed, "Authorization"))]
    expect_error((method, path, query, headers, body), "IncompleteSignatureException")


# -- failures: header auth -----------------------------------------------------------------------


def test_missing_authentication() -> None:
    wire = drop_header(capture(OPERATIONS["get_meeting"]), "Authorization")
    err = expect_error(wire, "MissingAuthenticationTokenException")
    assert err.message == "Missing Authentication Token"
    assert str(err).startswith("MissingAuthenticationTokenException")


def test_unknown_access_key() -> None:
    wire = capture(OPERATIONS["get_meeting"], identity=STRANGER)
    err = expect_error(wire, "UnrecognizedClientException")
    assert err.message == "The security token included in the request is invalid."


def test_wrong_secret() -> None:
    impostor = Identity("alice", ALICE.access_key_id, "not-the-secret", ALICE.account_id)
    err = expect_error(capture(OPERATIONS["get_meeting"], identity=impostor), "InvalidSignatureException")
    assert err.message == BAD_SIGNATURE


def test_tampered_body() -> None:
    method, path, query, headers, body = capture(OPERATIONS["create_meeting_json"])
    tampered = body.replace(b"us-east-1", b"us-west-2")
    assert tampered != body
    assert expect_error((method, path, query, headers, tampered), "InvalidSignatureException").message == (
        BAD_SIGNATURE
    )


def test_body_added_to_empty_post() -> None:
    method, path, query, headers, _ = capture(OPERATIONS["stop_transcription_empty_post"])
    expect_error((method, path, query, headers, b"{}"), "InvalidSignatureException")


def test_tampered_path() -> None:
    method, path, query, headers, body = capture(OPERATIONS["get_meeting"])
    expect_error(
        (method, path.replace(MEETING_ID[:8], "00000000"), query, headers, body), "InvalidSignatureException"
    )
    expect_error(("DELETE", path, query, headers, body), "InvalidSignatureException")


def test_tampered_query() -> None:
    method, path, query, headers, body = capture(OPERATIONS["list_tags_arn_query"])
    assert query.startswith("arn=arn%3Aaws%3Achime%3A")
    expect_error(
        (method, path, query.replace("111122223333", "444455556666"), headers, body),
        "InvalidSignatureException",
    )
    expect_error((method, path, query + "&max-results=1", headers, body), "InvalidSignatureException")
    # Equivalent encodings of the same query are still the same request.
    assert verifier().verify(method, path, query.replace("%3A", "%3a"), headers, body).identity == ALICE


def test_tampered_signed_header() -> None:
    wire = sign("POST", f"{ENDPOINT}/meetings", body=b"{}", headers={"Content-Type": "application/json"})
    assert "content-type" in header(wire, "Authorization")
    expect_error(replace_header(wire, "Content-Type", "text/plain"), "InvalidSignatureException")
    expect_error(replace_header(wire, "Host", "127.0.0.1:9000"), "InvalidSignatureException")


def test_unsigned_extra_headers_still_pass() -> None:
    method, path, query, headers, body = capture(OPERATIONS["create_meeting_json"])
    headers = [*headers, ("X-Forwarded-For", "10.0.0.1"), ("User-Agent", "changed"), ("X-Custom", "x")]
    headers = [(n, "changed" if n.lower() == "amz-sdk-request" else v) for n, v in headers]
    assert verifier().verify(method, path, query, headers, body).identity == ALICE


def test_x_amz_content_sha256_mismatch_and_unsigned_payload() -> None:
    wire = capture(OPERATIONS["create_meeting_json"])
    method, path, query, headers, body = wire
    bogus = [*headers, ("X-Amz-Content-SHA256", "0" * 64)]
    expect_error((method, path, query, bogus, body), "InvalidSignatureException")
    unsigned = sign(
        "POST", f"{ENDPOINT}/meetings", body=b"{}", headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}
    )
    assert "UNSIGNED-PAYLOAD" in expect_error(unsigned, "InvalidSignatureException").message


def test_wrong_service() -> None:
    wire = sign("GET", f"{ENDPOINT}/meetings/{MEETING_ID}", service="execute-api")
    err = expect_error(wire, "InvalidSignatureException")
    assert err.message == "Credential should be scoped to correct service: 'chime'. "


def test_skew_past() -> None:
    wire = capture(OPERATIONS["get_meeting"])
    assert verifier(offset_s=900).verify(*wire).identity == ALICE
    err = expect_error(wire, "InvalidSignatureException", verifier(offset_s=8 * 3600))
    assert err.message == (
        "Signature expired: 20261124T081500Z is now earlier than 20261124T160000Z "
        "(20261124T161500Z - 15 min.)"
    )


def test_skew_future() -> None:
    wire = capture(OPERATIONS["get_meeting"])
    assert verifier(offset_s=-900).verify(*wire).identity == ALICE
    err = expect_error(wire, "InvalidSignatureException", verifier(offset_s=-3600))
    assert err.message == (
        "Signature not yet current: 20261124T081500Z is still later than 20261124T073000Z "
        "(20261124T071500Z + 15 min.)"
    )


def test_custom_skew_window() -> None:
    wire = capture(OPERATIONS["get_meeting"])
    err = expect_error(wire, "InvalidSignatureException", verifier(offset_s=31, max_skew_s=30))
    assert err.message.endswith("(20261124T081531Z - 30 sec.)")


def _auth_variants() -> list[tuple[str, Callable[[str], str], str]]:
    return [
        ("no credential", lambda a: a.replace("Credential=", "Cred="), "IncompleteSignatureException"),
        ("no signature", lambda a: a.split(", Signature=")[0], "IncompleteSignatureException"),
        (
            "no signed headers",
            lambda a: a.replace("SignedHeaders=", "Signed="),
            "IncompleteSignatureException",
        ),
        (
            "missing equal sign",
            lambda a: a.replace("SignedHeaders=", "SignedHeaders"),
            "IncompleteSignatureException",
        ),
        ("bearer token", lambda a: "Bearer abc.def", "IncompleteSignatureException"),
        (
            "other algorithm",
            lambda a: a.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"),
            "IncompleteSignatureException",
        ),
        ("short scope", lambda a: a.replace("/us-east-1/chime", ""), "IncompleteSignatureException"),
        (
            "bad terminator",
            lambda a: a.replace("aws4_request", "aws5_request"),
            "IncompleteSignatureException",
        ),
        ("bad scope date", lambda a: a.replace("/20261124/", "/2026-11-24/"), "IncompleteSignatureException"),
        ("empty region", lambda a: a.replace("/us-east-1/", "//"), "IncompleteSignatureException"),
        (
            "host not signed",
            lambda a: a.replace("SignedHeaders=host;", "SignedHeaders="),
            "IncompleteSignatureException",
        ),
        ("scope date mismatch", lambda a: a.replace("/20261124/", "/20261123/"), "InvalidSignatureException"),
        ("signature tampered", lambda a: a[:-4] + "0000", "InvalidSignatureException"),
        ("signature non-ascii", lambda a: a[:-1] + "é", "InvalidSignatureException"),
        (
            "signature uppercase",
            lambda a: a.split("Signature=")[0] + "Signature=" + a.split("Signature=")[1].upper(),
            "InvalidSignatureException",
        ),
        ("empty", lambda a: "", "MissingAuthenticationTokenException"),
    ]


@pytest.mark.parametrize(
    ("mutate", "code"), [v[1:] for v in _auth_variants()], ids=[v[0] for v in _auth_variants()]
)
def test_malformed_authorization_header(mutate: Callable[[str], str], code: str) -> None:
    wire = capture(OPERATIONS["get_meeting"])
    expect_error(replace_header(wire, "Authorization", mutate(header(wire, "Authorization"))), code)


def test_missing_parameters_are_all_named() -> None:
    wire = drop_header(capture(OPERATIONS["get_meeting"]), "X-Amz-Date")
    wire = replace_header(wire, "Authorization", "AWS4-HMAC-SHA256 SignedHeaders=host")
    err = expect_error(wire, "IncompleteSignatureException")
    assert "requires 'Credential' parameter." in err.message
    assert "requires 'Signature' parameter." in err.message
    assert "'X-Amz-Date' or a 'Date' header." in err.message


def test_bad_x_amz_date() -> None:
    wire = replace_header(capture(OPERATIONS["get_meeting"]), "X-Amz-Date", "2026-11-24T08:15:00Z")
    err = expect_error(wire, "IncompleteSignatureException")
    assert "ISO-8601 'basic format'" in err.message


def test_tampered_x_amz_date_within_window() -> None:
    wire = replace_header(capture(OPERATIONS["get_meeting"]), "X-Amz-Date", "20261124T081501Z")
    expect_error(wire, "InvalidSignatureException")


def test_duplicate_authorization_header() -> None:
    method, path, query, headers, body = capture(OPERATIONS["get_meeting"])
    headers = [*headers, ("authorization", header((method, path, query, headers, body), "Authorization"))]
    expect_error((method, path, query, headers, body), "IncompleteSignatureException")


def test_auth_error_is_an_exception_with_code_and_message() -> None:
    err = AuthError("InvalidSignatureException", "nope")
    assert isinstance(err, Exception)
    assert (err.code, err.message) == ("InvalidSignatureException", "nope")


def test_verifier_requires_a_service() -> None:
    with pytest.raises(ValueError, match="services"):
        SigV4Verifier(CredentialStore([ALICE]), services=())


def test_json_body_is_what_was_signed() -> None:
    """Sanity check on the capture helper: the body we verify is the serialized JSON."""
    _, _, _, _, body = capture(OPERATIONS["create_meeting_json"])
    assert json.loads(body)["ExternalMeetingId"] == "démo  spaces"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "",
        "/meetings",
        "/meetings/",
        "//meetings//a",
        "/meetings/./a/../b",
        "/a/.",
        "/a/..",
        "/..",
        "/.well-known/x",
        "/a%2Fb%20c~d",
        "/a%25b",
        "/ü/é",
        "/a b/c;d=e",
    ],
)
def test_canonical_uri_matches_botocore(path: str) -> None:
    from urllib.parse import quote

    from botocore.utils import normalize_url_path

    from parley.auth import _canonical_uri

    # The verifier receives the wire bytes decoded as latin-1 (ASGI raw_path); botocore signs the
    # str it put in the URL, encoding it as UTF-8.
    on_the_wire = path.encode("utf-8").decode("latin-1")
    assert _canonical_uri(on_the_wire) == quote(normalize_url_path(path), safe="/~")


def test_dot_segments_and_double_slashes_on_the_wire() -> None:
    wire = sign("GET", f"{ENDPOINT}/meetings//{MEETING_ID}/./attendees/../attendees/")
    assert "//" in wire[1]
    assert verifier().verify(*wire).identity == ALICE
