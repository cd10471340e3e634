"""Round trips through botocore itself: its serializer builds each request and our router and parser
must read back exactly what was sent; our serializer answers and botocore's parser must read it back,
and each modeled error must become the right exception class in a real boto3 client."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from parley.protocol.parser import parse_request
from parley.protocol.router import Router, parse_query
from parley.protocol.serializer import serialize_error, serialize_response
from parley.protocol.spec import CHIME_SDK_MEETINGS, load_service_model
from parley.protocol.validate import validate
from tests.protocol.samples import INPUTS, MID, OUTPUTS

SERVICE = load_service_model(*CHIME_SDK_MEETINGS)
ROUTER = Router(SERVICE)


def test_samples_cover_every_operation() -> None:
    assert set(INPUTS) == set(SERVICE.operation_names)
    assert len(SERVICE.operation_names) == 16


def _botocore_request(op_name: str, params: dict[str, Any]) -> dict[str, Any]:
    serializer = create_serializer("rest-json", include_validation=True)
    return serializer.serialize_to_request(params, SERVICE.operation_model(op_name))


@pytest.mark.parametrize("op_name", sorted(INPUTS))
def test_request_round_trip(op_name: str) -> None:
    request = _botocore_request(op_name, INPUTS[op_name])
    split = urlsplit(request["url_path"])
    raw_query = split.query
    if request["query_string"]:
        from urllib.parse import urlencode

        extra = urlencode(request["query_string"], doseq=True)
        raw_query = f"{raw_query}&{extra}" if raw_query else extra
    query = parse_query(raw_query)
    match = ROUTER.match(request["method"], split.path, query)
    assert match is not None, f"{request['method']} {request['url_path']} did not route"
    assert match.operation.name == op_name
    body = request["body"] if isinstance(request["body"], bytes) else request["body"].encode()
    headers = {k.lower(): v for k, v in request["headers"].items()}
    params = parse_request(match.operation, match.path_params, query, headers, body)
    assert params == INPUTS[op_name]
    assert validate(match.operation.input_shape, params).messages == []


def test_stop_transcription_has_no_body_and_routes() -> None:
    request = _botocore_request("StopMeetingTranscription", {"MeetingId": MID})
    assert not request["body"]
    assert "Content-Type" not in request["headers"]


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("POST", "/meetings", "", "CreateMeeting"),
        ("POST", "/meetings", "operation=create-attendees", "CreateMeetingWithAttendees"),
        ("POST", f"/meetings/{MID}/attendees", "", "CreateAttendee"),
        ("POST", f"/meetings/{MID}/attendees", "operation=batch-create", "BatchCreateAttendee"),
        ("POST", f"/meetings/{MID}/transcription", "operation=start", "StartMeetingTranscription"),
        ("POST", f"/meetings/{MID}/transcription", "operation=stop", "StopMeetingTranscription"),
        ("PUT", f"/meetings/{MID}/attendees/capabilities", "operation=batch-update-except",
         "BatchUpdateAttendeeCapabilitiesExcept"),
        ("PUT", f"/meetings/{MID}/attendees/x/capabilities", "", "UpdateAttendeeCapabilities"),
        ("POST", "/tags", "operation=tag-resource", "TagResource"),
        ("POST", "/tags", "operation=untag-resource", "UntagResource"),
        ("GET", "/tags", "arn=x", "ListTagsForResource"),
    ],
)  # fmt: skip
def test_routing_prefers_required_query_literals(method: str, path: str, query: str, expected: str) -> None:
    match = ROUTER.match(method, path, parse_query(query))
    assert match is not None
    assert match.operation.name == expected


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("GET", "/nothing", ""),
        ("PATCH", "/meetings", ""),
        ("POST", f"/meetings/{MID}/transcription", ""),  # Start/Stop need ?operation=
        ("POST", f"/meetings/{MID}/transcription", "operation=pause"),
        ("GET", f"/meetings/{MID}/attendees/a/b/c", ""),
    ],
)
def test_unknown_routes_do_not_match(method: str, path: str, query: str) -> None:
    assert ROUTER.match(method, path, parse_query(query)) is None


@pytest.mark.parametrize("op_name", sorted(INPUTS))
def test_response_round_trip(op_name: str) -> None:
    op = SERVICE.operation_model(op_name)
    status, headers, body = serialize_response(op, OUTPUTS.get(op_name))
    assert status == int(op.http.get("responseCode", 200))
    parsed = create_parser("rest-json").parse(
        {"status_code": status, "headers": headers, "body": body}, op.output_shape
    )
    parsed.pop("ResponseMetadata", None)
    assert parsed == OUTPUTS.get(op_name, {})
    if op.output_shape is None or status == 204:
        assert body == b""


ERROR_SHAPES = sorted(
    {e.name for name in SERVICE.operation_names for e in SERVICE.operation_model(name).error_shapes}
)


def test_there_are_twelve_error_shapes() -> None:
    assert len(ERROR_SHAPES) == 12


def _client_answering(status: int, headers: dict[str, str], body: bytes) -> Any:
    client = boto3.client(
        "chime-sdk-meetings",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        aws_access_key_id="AKIAEXAMPLE000000000",
        aws_secret_access_key="secret",
        config=Config(retries={"total_max_attempts": 1}),
    )

    def answer(request: Any, **_kw: Any) -> AWSResponse:
        from botocore.awsrequest import AWSResponse as Response

        class Raw:
            def stream(self, **_k: Any) -> Any:
                yield body

        return Response(request.url, status, headers, Raw())

    client.meta.events.register("before-send", answer)
    return client


@pytest.mark.parametrize("code", ERROR_SHAPES)
def test_each_error_shape_becomes_its_exception_class(code: str) -> None:
    fields = {"RetryAfterSeconds": "7"} if code == "ServiceUnavailableException" else {}
    status, headers, body = serialize_error(SERVICE, code, f"message for {code}", "req-123", fields)
    assert status == SERVICE.shape_for(code).metadata["error"]["httpStatusCode"]
    assert json.loads(body)["RequestId"] == "req-123"
    client = _client_answering(status, headers, body)
    exc_class = getattr(client.exceptions, code)
    # botocore looks exception classes up by code for the whole service, so one operation shows it.
    with pytest.raises(exc_class) as info:
        client.get_meeting(MeetingId=MID)
    err = info.value.response
    assert err["Error"]["Code"] == code
    assert err["Error"]["Message"] == f"message for {code}"
    assert err["ResponseMetadata"]["RequestId"] == "req-123"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == status
    if code == "ServiceUnavailableException":
        assert err["RetryAfterSeconds"] == "7"


@pytest.mark.parametrize(
    ("op_name", "params", "fragment"),
    [
        ("GetMeeting", {"MeetingId": "x"}, "Member must satisfy regular expression pattern"),
        ("CreateMeeting", {}, "Value null at 'mediaRegion' failed to satisfy constraint: Member must not be null"),
        ("CreateMeeting", {"MediaRegion": "u"}, "Member must have length greater than or equal to 2"),
        ("CreateMeeting", {"MediaRegion": "us-east-1", "MediaPlacementNetworkType": "IPv9"},
         "Member must satisfy enum value set: [Ipv4Only, DualStack]"),
        ("CreateMeeting", {"MediaRegion": "us-east-1", "ExternalMeetingId": 5}, "Member must be of type string"),
        ("ListAttendees", {"MeetingId": MID, "MaxResults": 0}, "Member must have value greater than or equal to 1"),
        ("ListAttendees", {"MeetingId": MID, "MaxResults": "ten"}, "Member must be of type integer"),
        ("BatchCreateAttendee", {"MeetingId": MID, "Attendees": []}, "Member must have length greater than or equal to 1"),
        ("BatchCreateAttendee", {"MeetingId": MID, "Attendees": [{}]},
         "Value null at 'attendees.1.member.externalUserId'"),
        ("StartMeetingTranscription",
         {"MeetingId": MID, "TranscriptionConfiguration": {"EngineTranscribeSettings": {"LanguageCode": "xx-XX"}}},
         "Value 'xx-XX' at 'transcriptionConfiguration.engineTranscribeSettings.languageCode'"),
    ],
)  # fmt: skip
def test_validation_messages(op_name: str, params: dict[str, Any], fragment: str) -> None:
    violations = validate(SERVICE.operation_model(op_name).input_shape, params)
    assert violations.messages, "expected a violation"
    assert fragment in violations.summary()


def test_sensitive_values_are_not_echoed() -> None:
    secret = "aws:" + "x" * 100
    violations = validate(
        SERVICE.operation_model("CreateAttendee").input_shape, {"MeetingId": MID, "ExternalUserId": secret}
    )
    assert violations.messages
    assert secret not in violations.summary()
    assert "Value at 'externalUserId'" in violations.summary()
