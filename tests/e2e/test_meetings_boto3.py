"""boto3 against the real server process over HTTP: all 16 operations and their error cases."""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from harness.server import ACCOUNT_A, ServerProcess

GUID = re.compile(r"^[a-f0-9]{8}(-[a-f0-9]{4}){3}-[a-f0-9]{12}$")
DEFAULT_CAPS = {"Audio": "SendReceive", "Video": "SendReceive", "Content": "SendReceive"}


def code_of(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


# -- meetings ---------------------------------------------------------------------------------


def test_create_get_delete_meeting(chime: Any, server: ServerProcess) -> None:
    m = chime.create_meeting(
        ClientRequestToken="create-get-delete",
        MediaRegion="eu-central-1",
        ExternalMeetingId="standup",
        MeetingFeatures={"Audio": {"EchoReduction": "AVAILABLE"}, "Attendee": {"MaxCount": 3}},
        TenantIds=["tenant-a"],
        Tags=[{"Key": "team", "Value": "blue"}],
    )["Meeting"]
    assert GUID.match(m["MeetingId"])
    assert m["MeetingArn"] == f"arn:aws:chime:us-east-1:{ACCOUNT_A}:meeting/{m['MeetingId']}"
    assert m["MediaRegion"] == "eu-central-1"
    assert m["ExternalMeetingId"] == "standup"
    assert m["MeetingFeatures"] == {"Audio": {"EchoReduction": "AVAILABLE"}, "Attendee": {"MaxCount": 3}}
    assert m["TenantIds"] == ["tenant-a"]
    placement = m["MediaPlacement"]
    host = server.endpoint.removeprefix("http://")
    assert placement["SignalingUrl"] == f"ws://{host}/control/{m['MeetingId']}"
    assert placement["AudioFallbackUrl"] == f"ws://{host}/calls/{m['MeetingId']}"
    assert "?" not in placement["SignalingUrl"]
    assert placement["AudioHostUrl"]
    assert chime.get_meeting(MeetingId=m["MeetingId"])["Meeting"] == m
    assert chime.get_meeting(MeetingId=m["MeetingId"].upper())["Meeting"]["MeetingId"] == m["MeetingId"]
    resp = chime.delete_meeting(MeetingId=m["MeetingId"])
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(chime.exceptions.NotFoundException) as info:
        chime.get_meeting(MeetingId=m["MeetingId"])
    assert info.value.response["Error"]["Message"] == f"Meeting <{m['MeetingId']}> not found"
    with pytest.raises(chime.exceptions.NotFoundException):
        chime.delete_meeting(MeetingId=m["MeetingId"])


def test_client_request_token_is_idempotent(chime: Any) -> None:
    token = "idem-" + uuid.uuid4().hex[:8]
    first = chime.create_meeting(ClientRequestToken=token, MediaRegion="us-east-1", ExternalMeetingId="x1")
    again = chime.create_meeting(ClientRequestToken=token, MediaRegion="us-east-1", ExternalMeetingId="x1")
    assert first["Meeting"] == again["Meeting"]
    with pytest.raises(chime.exceptions.ConflictException):
        chime.create_meeting(ClientRequestToken=token, MediaRegion="us-west-2", ExternalMeetingId="x1")


def test_boto3_fills_the_token_so_two_calls_make_two_meetings(chime: Any) -> None:
    a = chime.create_meeting(ExternalMeetingId="e2e", MediaRegion="us-east-1")["Meeting"]["MeetingId"]
    b = chime.create_meeting(ExternalMeetingId="e2e", MediaRegion="us-east-1")["Meeting"]["MeetingId"]
    assert a != b


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ExternalMeetingId": "e2e", "MediaRegion": "mars-north-1"},
        {"MediaRegion": "us-east-1", "ExternalMeetingId": "aws:reserved"},
        {"ExternalMeetingId": "e2e", "MediaRegion": "us-east-1", "MediaPlacementNetworkType": "IPv9"},
        {"ExternalMeetingId": "e2e", "MediaRegion": "us-east-1", "ClientRequestToken": "has space"},
        {
            "ExternalMeetingId": "e2e",
            "MediaRegion": "us-east-1",
            "MeetingFeatures": {"Video": {"MaxResolution": "FHD"}},
        },
        {
            "ExternalMeetingId": "e2e",
            "MediaRegion": "us-east-1",
            "MeetingFeatures": {"Attendee": {"MaxCount": 251}},
        },
        {
            "ExternalMeetingId": "e2e",
            "MediaRegion": "us-east-1",
            "Tags": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}],
        },
        {"ExternalMeetingId": "e2e", "MediaRegion": "us-east-1", "PrimaryMeetingId": str(uuid.uuid4())},
        {"ExternalMeetingId": "e2e", "MediaRegion": "us-east-1", "TenantIds": ["aaaa-bad"]},
    ],
)
def test_create_meeting_rejects_bad_input(chime: Any, kwargs: dict[str, Any]) -> None:
    with pytest.raises(chime.exceptions.BadRequestException) as info:
        chime.create_meeting(**kwargs)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert info.value.response["ResponseMetadata"]["RequestId"]


def test_create_meeting_with_attendees(chime: Any) -> None:
    out = chime.create_meeting_with_attendees(
        ExternalMeetingId="e2e",
        MediaRegion="us-west-2",
        Attendees=[
            {"ExternalUserId": "ann"},
            {
                "ExternalUserId": "ben",
                "Capabilities": {"Audio": "Receive", "Video": "None", "Content": "None"},
            },
            {"ExternalUserId": "aws:nope"},
            {
                "ExternalUserId": "cat",
                "Capabilities": {"Audio": "SendReceive", "Video": "None", "Content": "Receive"},
            },
        ],
    )
    assert [a["ExternalUserId"] for a in out["Attendees"]] == ["ann", "ben"]
    assert out["Attendees"][0]["Capabilities"] == DEFAULT_CAPS
    assert out["Attendees"][1]["Capabilities"] == {"Audio": "Receive", "Video": "None", "Content": "None"}
    assert {e["ExternalUserId"] for e in out["Errors"]} == {"aws:nope", "cat"}
    assert all(e["ErrorCode"] == "BadRequest" and e["ErrorMessage"] for e in out["Errors"])
    listed = chime.list_attendees(MeetingId=out["Meeting"]["MeetingId"])["Attendees"]
    assert {a["AttendeeId"] for a in listed} == {a["AttendeeId"] for a in out["Attendees"]}


def test_create_meeting_with_attendees_limits(chime: Any) -> None:
    with pytest.raises(chime.exceptions.BadRequestException):
        chime.create_meeting_with_attendees(
            ExternalMeetingId="e2e",
            MediaRegion="us-east-1",
            Attendees=[{"ExternalUserId": f"u{i:02}"} for i in range(21)],
        )
    out = chime.create_meeting_with_attendees(
        ExternalMeetingId="e2e",
        MediaRegion="us-east-1",
        MeetingFeatures={"Attendee": {"MaxCount": 2}},
        Attendees=[{"ExternalUserId": f"u{i:02}"} for i in range(3)],
    )
    assert len(out["Attendees"]) == 2
    assert [e["ErrorCode"] for e in out["Errors"]] == ["ResourceLimitExceeded"]


# -- attendees --------------------------------------------------------------------------------


def test_attendee_lifecycle(chime: Any, meeting: dict[str, Any]) -> None:
    mid = meeting["MeetingId"]
    a = chime.create_attendee(MeetingId=mid, ExternalUserId="Alice Example")["Attendee"]
    assert GUID.match(a["AttendeeId"])
    assert a["Capabilities"] == DEFAULT_CAPS
    token = a["JoinToken"]
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token), "JoinToken must be base64url without padding"
    decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    assert decoded.startswith(a["AttendeeId"] + ":")
    # ExternalUserId is an idempotency token (case-insensitive): the same attendee comes back.
    again = chime.create_attendee(MeetingId=mid, ExternalUserId="alice example")["Attendee"]
    assert again == a
    got = chime.get_attendee(MeetingId=mid, AttendeeId=a["AttendeeId"])["Attendee"]
    assert got == {k: v for k, v in a.items() if k != "JoinToken"}
    resp = chime.delete_attendee(MeetingId=mid, AttendeeId=a["AttendeeId"])
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(chime.exceptions.NotFoundException):
        chime.get_attendee(MeetingId=mid, AttendeeId=a["AttendeeId"])
    with pytest.raises(chime.exceptions.NotFoundException):
        chime.delete_attendee(MeetingId=mid, AttendeeId=a["AttendeeId"])
    fresh = chime.create_attendee(MeetingId=mid, ExternalUserId="Alice Example")["Attendee"]
    assert fresh["AttendeeId"] != a["AttendeeId"]


def test_attendee_errors(chime: Any, meeting: dict[str, Any]) -> None:
    mid = meeting["MeetingId"]
    missing = str(uuid.uuid4())
    with pytest.raises(chime.exceptions.NotFoundException):
        chime.create_attendee(MeetingId=missing, ExternalUserId="someone")
    with pytest.raises(chime.exceptions.NotFoundException):
        chime.get_attendee(MeetingId=mid, AttendeeId=missing)
    with pytest.raises(chime.exceptions.BadRequestException):
        chime.get_attendee(MeetingId=mid, AttendeeId="not-a-guid")
    with pytest.raises(chime.exceptions.BadRequestException):
        chime.create_attendee(MeetingId=mid, ExternalUserId="aws:reserved")
    with pytest.raises(chime.exceptions.BadRequestException):
        chime.create_attendee(MeetingId=mid, ExternalUserId="bad<chars>")
    with pytest.raises(chime.exceptions.BadRequestException):
        chime.create_attendee(
            MeetingId=mid,
            ExternalUserId="someone",
            Capabilities={"Audio": "Loud", "Video": "None", "Content": "None"},
        )


def test_attendee_limit_from_max_count(chime: Any) -> None:
    mid = chime.create_meeting(
        ExternalMeetingId="e2e", MediaRegion="us-east-1", MeetingFeatures={"Attendee": {"MaxCount": 2}}
    )["Meeting"]["MeetingId"]
    chime.create_attendee(MeetingId=mid, ExternalUserId="one")
    chime.create_attendee(MeetingId=mid, ExternalUserId="two")
    with pytest.raises(chime.exceptions.LimitExceededException):
        chime.create_attendee(MeetingId=mid, ExternalUserId="three")
    # A deleted attendee frees its seat.
    first = chime.list_attendees(MeetingId=mid)["Attendees"][0]
    chime.delete_attendee(MeetingId=mid, AttendeeId=first["AttendeeId"])
    chime.create_attendee(MeetingId=mid, ExternalUserId="three")


def test_batch_create_attendee(chime: Any, meeting: dict[str, Any]) -> None:
    mid = meeting["MeetingId"]
    out = chime.batch_create_attendee(
        MeetingId=mid,
        Attendees=[
            {"ExternalUserId": "b-1"},
            {"ExternalUserId": "b-2", "Capabilities": {"Audio": "Send", "Video": "None", "Content": "None"}},
            {"ExternalUserId": "aws:b-3"},
        ],
    )
    assert [a["ExternalUserId"] for a in out["Attendees"]] == ["b-1", "b-2"]
    assert all(a["JoinToken"] for a in out["Attendees"])
    assert [e["ExternalUserId"] for e in out["Errors"]] == ["aws:b-3"]
    with pytest.raises(chime.exceptions.BadRequestException):
        chime.batch_create_attendee(
            MeetingId=mid, Attendees=[{"ExternalUserId": f"x{i:03}"} for i in range(101)]
        )
    with pytest.raises(chime.exceptions.NotFoundException):
        chime.batch_create_attendee(MeetingId=str(uuid.uuid4()), Attendees=[{"ExternalUserId": "x1"}])


def test_list_attendees_pagination(chime: Any, meeting: dict[str, Any]) -> None:
    mid = meeting["MeetingId"]
    made = chime.batch_create_attendee(
        MeetingId=mid, Attendees=[{"ExternalUserId": f"p-{i:02}"} for i in range(7)]
    )
    expected = [a["AttendeeId"] for a in made["Attendees"]]
    seen: list[str] = []
    kwargs: dict[str, Any] = {"MeetingId": mid, "MaxResults": 3}
    pages = 0
    while True:
        page = chime.list_attendees(**kwargs)
        pages += 1
        assert len(page["Attendees"]) <= 3
        assert all("JoinToken" not in a for a in page["Attendees"])
        seen += [a["AttendeeId"] for a in page["Attendees"]]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert seen == expected
    assert pages == 3
    with pytest.raises(chime.exceptions.BadRequestException):
        chime.list_attendees(MeetingId=mid, NextToken="garbage!")
    with pytest.raises(chime.exceptions.BadRequestException):
        chime.list_attendees(MeetingId=mid, MaxResults=101)


def test_capabilities_update_and_rules(chime: Any) -> None:
    mid = chime.create_meeting(
        ExternalMeetingId="e2e",
        MediaRegion="us-east-1",
        MeetingFeatures={"Video": {"MaxResolution": "None"}, "Content": {"MaxResolution": "FHD"}},
    )["Meeting"]["MeetingId"]
    # Rule 4: video off but content on → default Video Receive, Content SendReceive.
    a = chime.create_attendee(MeetingId=mid, ExternalUserId="rule-four")["Attendee"]
    assert a["Capabilities"] == {"Audio": "SendReceive", "Video": "Receive", "Content": "SendReceive"}
    b = chime.create_attendee(
        MeetingId=mid,
        ExternalUserId="other",
        Capabilities={"Audio": "Receive", "Video": "None", "Content": "None"},
    )["Attendee"]
    # Rule 1: video capability with Video MaxResolution None.
    with pytest.raises(chime.exceptions.BadRequestException):
        chime.update_attendee_capabilities(
            MeetingId=mid,
            AttendeeId=a["AttendeeId"],
            Capabilities={"Audio": "SendReceive", "Video": "Send", "Content": "None"},
        )
    updated = chime.update_attendee_capabilities(
        MeetingId=mid,
        AttendeeId=a["AttendeeId"],
        Capabilities={"Audio": "None", "Video": "None", "Content": "None"},
    )["Attendee"]
    assert updated["Capabilities"] == {"Audio": "None", "Video": "None", "Content": "None"}
    # Rule 3: content receive needs video receive (in a meeting that allows video).
    mid2 = chime.create_meeting(ExternalMeetingId="e2e", MediaRegion="us-east-1")["Meeting"]["MeetingId"]
    c = chime.create_attendee(MeetingId=mid2, ExternalUserId="rule-three")["Attendee"]
    with pytest.raises(chime.exceptions.BadRequestException):
        chime.update_attendee_capabilities(
            MeetingId=mid2,
            AttendeeId=c["AttendeeId"],
            Capabilities={"Audio": "SendReceive", "Video": "Send", "Content": "Receive"},
        )
    # Rule 2: content with Content MaxResolution None.
    mid3 = chime.create_meeting(
        ExternalMeetingId="e2e",
        MediaRegion="us-east-1",
        MeetingFeatures={"Content": {"MaxResolution": "None"}},
    )["Meeting"]["MeetingId"]
    with pytest.raises(chime.exceptions.BadRequestException):
        chime.create_attendee(
            MeetingId=mid3,
            ExternalUserId="rule-two",
            Capabilities={"Audio": "SendReceive", "Video": "SendReceive", "Content": "Send"},
        )
    with pytest.raises(chime.exceptions.NotFoundException):
        chime.update_attendee_capabilities(
            MeetingId=mid,
            AttendeeId=str(uuid.uuid4()),
            Capabilities={"Audio": "None", "Video": "None", "Content": "None"},
        )
    # Batch update except one attendee.
    resp = chime.batch_update_attendee_capabilities_except(
        MeetingId=mid,
        ExcludedAttendeeIds=[{"AttendeeId": b["AttendeeId"]}],
        Capabilities={"Audio": "Receive", "Video": "None", "Content": "None"},
    )
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    caps = {x["ExternalUserId"]: x["Capabilities"] for x in chime.list_attendees(MeetingId=mid)["Attendees"]}
    assert caps["rule-four"] == {"Audio": "Receive", "Video": "None", "Content": "None"}
    assert caps["other"] == {
        "Audio": "Receive",
        "Video": "None",
        "Content": "None",
    }  # unchanged (it was already)
    with pytest.raises(chime.exceptions.BadRequestException):
        chime.batch_update_attendee_capabilities_except(
            MeetingId=mid,
            ExcludedAttendeeIds=[{"AttendeeId": b["AttendeeId"]}],
            Capabilities={"Audio": "Receive", "Video": "Receive", "Content": "None"},
        )


def test_delete_meeting_removes_attendees_and_tokens(chime: Any) -> None:
    out = chime.create_meeting_with_attendees(
        ExternalMeetingId="e2e", MediaRegion="us-east-1", Attendees=[{"ExternalUserId": "gone"}]
    )
    mid = out["Meeting"]["MeetingId"]
    aid = out["Attendees"][0]["AttendeeId"]
    chime.delete_meeting(MeetingId=mid)
    for call in (
        lambda: chime.get_attendee(MeetingId=mid, AttendeeId=aid),
        lambda: chime.list_attendees(MeetingId=mid),
        lambda: chime.create_attendee(MeetingId=mid, ExternalUserId="late"),
    ):
        with pytest.raises(chime.exceptions.NotFoundException):
            call()


# -- tags -------------------------------------------------------------------------------------


def test_tags(chime: Any) -> None:
    m = chime.create_meeting(
        ExternalMeetingId="e2e", MediaRegion="us-east-1", Tags=[{"Key": "env", "Value": "dev"}]
    )["Meeting"]
    arn = m["MeetingArn"]
    assert chime.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]
    resp = chime.tag_resource(
        ResourceARN=arn, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "a"}]
    )
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert chime.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "env", "Value": "prod"},
        {"Key": "team", "Value": "a"},
    ]
    chime.untag_resource(ResourceARN=arn, TagKeys=["env", "never-there"])
    assert chime.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    with pytest.raises(chime.exceptions.TooManyTagsException):
        chime.tag_resource(ResourceARN=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    missing = arn.rsplit("/", 1)[0] + "/" + str(uuid.uuid4())
    for call in (
        lambda: chime.list_tags_for_resource(ResourceARN=missing),
        lambda: chime.tag_resource(ResourceARN=missing, Tags=[{"Key": "a", "Value": "b"}]),
        lambda: chime.untag_resource(ResourceARN=missing, TagKeys=["a"]),
    ):
        with pytest.raises(chime.exceptions.ResourceNotFoundException):
            call()
    with pytest.raises(chime.exceptions.BadRequestException):
        chime.list_tags_for_resource(ResourceARN="arn:aws:s3:::bucket")
    with pytest.raises(chime.exceptions.BadRequestException):
        chime.list_tags_for_resource(ResourceARN="not-an-arn")
    with pytest.raises(chime.exceptions.BadRequestException):
        chime.tag_resource(ResourceARN=arn, Tags=[{"Key": "aws:internal", "Value": "x"}])
    chime.delete_meeting(MeetingId=m["MeetingId"])
    with pytest.raises(chime.exceptions.ResourceNotFoundException):
        chime.list_tags_for_resource(ResourceARN=arn)


# -- transcription ----------------------------------------------------------------------------

EN = {"EngineTranscribeSettings": {"LanguageCode": "en-US"}}


def test_start_and_stop_transcription(chime: Any, meeting: dict[str, Any]) -> None:
    mid = meeting["MeetingId"]
    with pytest.raises(chime.exceptions.UnprocessableEntityException):
        chime.stop_meeting_transcription(MeetingId=mid)
    resp = chime.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration=EN)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert set(resp) == {"ResponseMetadata"}
    # A second Start updates the configuration (200).
    chime.start_meeting_transcription(
        MeetingId=mid, TranscriptionConfiguration={"EngineTranscribeSettings": {"LanguageCode": "de-DE"}}
    )
    resp = chime.stop_meeting_transcription(MeetingId=mid)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp["ResponseMetadata"]["HTTPHeaders"].get("content-length", "0") == "0"
    with pytest.raises(chime.exceptions.UnprocessableEntityException):
        chime.stop_meeting_transcription(MeetingId=mid)


def test_transcription_errors(chime: Any, chime_other_account: Any, meeting: dict[str, Any]) -> None:
    mid = meeting["MeetingId"]
    for call in (
        lambda c: c.stop_meeting_transcription(MeetingId=str(uuid.uuid4())),
        lambda c: c.start_meeting_transcription(MeetingId=str(uuid.uuid4()), TranscriptionConfiguration=EN),
    ):
        with pytest.raises(chime.exceptions.NotFoundException):
            call(chime)
    for bad in (
        {},
        {
            "EngineTranscribeSettings": {"LanguageCode": "en-US"},
            "EngineTranscribeMedicalSettings": {
                "LanguageCode": "en-US",
                "Specialty": "PRIMARYCARE",
                "Type": "DICTATION",
            },
        },
        {"EngineTranscribeSettings": {"LanguageCode": "xx-XX"}},
        {"EngineTranscribeSettings": {"LanguageCode": "en-US", "PartialResultsStability": "bogus"}},
        {"EngineTranscribeSettings": {"LanguageCode": "en-US", "PiiEntityTypes": "lowercase"}},
        {"EngineTranscribeSettings": {"LanguageCode": "en-US", "Region": "mars-1"}},
        {
            "EngineTranscribeMedicalSettings": {
                "LanguageCode": "en-US",
                "Specialty": "DENTISTRY",
                "Type": "DICTATION",
            }
        },
    ):
        with pytest.raises(chime.exceptions.BadRequestException):
            chime.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration=bad)
    with pytest.raises(chime.exceptions.BadRequestException):
        chime.stop_meeting_transcription(MeetingId="not-a-meeting-id")
    # Another account's meeting does not exist for it.
    with pytest.raises(chime_other_account.exceptions.NotFoundException):
        chime_other_account.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration=EN)
    chime.start_meeting_transcription(MeetingId=mid, TranscriptionConfiguration=EN)
    with pytest.raises(chime_other_account.exceptions.NotFoundException):
        chime_other_account.stop_meeting_transcription(MeetingId=mid)
    chime.delete_meeting(MeetingId=mid)
    with pytest.raises(chime.exceptions.NotFoundException):
        chime.stop_meeting_transcription(MeetingId=mid)


def test_invalid_engine_combination_is_accepted_then_fails(chime: Any, meeting: dict[str, Any]) -> None:
    """As the real service: 200 now, a `failed` status later; the meeting is not transcribing."""
    mid = meeting["MeetingId"]
    resp = chime.start_meeting_transcription(
        MeetingId=mid,
        TranscriptionConfiguration={
            "EngineTranscribeSettings": {"IdentifyLanguage": True, "PreferredLanguage": "en-US"}
        },
    )
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(chime.exceptions.UnprocessableEntityException):
        chime.stop_meeting_transcription(MeetingId=mid)


def test_medical_transcription(chime: Any, meeting: dict[str, Any]) -> None:
    medical = {"LanguageCode": "en-US", "Specialty": "CARDIOLOGY", "Type": "CONVERSATION"}
    chime.start_meeting_transcription(
        MeetingId=meeting["MeetingId"],
        TranscriptionConfiguration={"EngineTranscribeMedicalSettings": medical},
    )
    chime.stop_meeting_transcription(MeetingId=meeting["MeetingId"])
    # PHI identification is served (parley.pii; tests/pii/test_live_pii.py): the transcription starts.
    chime.start_meeting_transcription(
        MeetingId=meeting["MeetingId"],
        TranscriptionConfiguration={
            "EngineTranscribeMedicalSettings": {**medical, "ContentIdentificationType": "PHI"}
        },
    )
    chime.stop_meeting_transcription(MeetingId=meeting["MeetingId"])


# -- accounts and authentication --------------------------------------------------------------


def test_accounts_are_isolated(
    chime: Any, chime_other_account: Any, server: ServerProcess, meeting: dict[str, Any]
) -> None:
    mid = meeting["MeetingId"]
    with pytest.raises(chime_other_account.exceptions.NotFoundException):
        chime_other_account.get_meeting(MeetingId=mid)
    with pytest.raises(chime_other_account.exceptions.NotFoundException):
        chime_other_account.delete_meeting(MeetingId=mid)
    with pytest.raises(chime_other_account.exceptions.NotFoundException):
        chime_other_account.create_attendee(MeetingId=mid, ExternalUserId="intruder")
    with pytest.raises(chime_other_account.exceptions.ResourceNotFoundException):
        chime_other_account.list_tags_for_resource(ResourceARN=meeting["MeetingArn"])
    # A second identity in the same account sees the meeting.
    same_account = server.client("alex")
    assert same_account.get_meeting(MeetingId=mid)["Meeting"]["MeetingId"] == mid


def test_authentication_failures(server: ServerProcess, meeting: dict[str, Any]) -> None:
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    unknown = boto3.client(
        "chime-sdk-meetings", endpoint_url=server.endpoint, region_name="us-east-1",
        aws_access_key_id="AKIANOBODY0000000000", aws_secret_access_key="x" * 40,
        config=Config(retries={"total_max_attempts": 1}),
    )  # fmt: skip
    with pytest.raises(ClientError) as info:
        unknown.get_meeting(MeetingId=meeting["MeetingId"])
    assert code_of(info.value) == "UnrecognizedClientException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    from harness.server import IDENTITIES

    key, _secret, _ = IDENTITIES["alice"]
    wrong_secret = boto3.client(
        "chime-sdk-meetings", endpoint_url=server.endpoint, region_name="us-east-1",
        aws_access_key_id=key, aws_secret_access_key="y" * 40, config=Config(retries={"total_max_attempts": 1}),
    )  # fmt: skip
    with pytest.raises(ClientError) as info:
        wrong_secret.get_meeting(MeetingId=meeting["MeetingId"])
    assert code_of(info.value) == "InvalidSignatureException"

    anonymous = boto3.client(
        "chime-sdk-meetings", endpoint_url=server.endpoint, region_name="us-east-1",
        config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}),
    )  # fmt: skip
    with pytest.raises(ClientError) as info:
        anonymous.get_meeting(MeetingId=meeting["MeetingId"])
    assert code_of(info.value) == "MissingAuthenticationTokenException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    other_service = server.client("alice", service="chime")  # legacy Chime API signs as 'chime' too
    assert other_service is not None


def test_any_region_signs(server: ServerProcess) -> None:
    client = server.client("alice", region="eu-west-1")
    m = client.create_meeting(ExternalMeetingId="e2e", MediaRegion="eu-west-1")["Meeting"]
    assert m["MeetingArn"].startswith(f"arn:aws:chime:eu-west-1:{ACCOUNT_A}:meeting/")
