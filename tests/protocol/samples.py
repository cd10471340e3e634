"""Sample inputs and outputs for every Chime SDK Meetings operation (used by the round-trip tests)."""

from __future__ import annotations

from typing import Any

MID = "5d3b0d6c-2f1e-4b8a-9c0d-1e2f3a4b5c6d"
AID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
ARN = f"arn:aws:chime:us-east-1:111122223333:meeting/{MID}"
CAPS = {"Audio": "SendReceive", "Video": "Receive", "Content": "None"}
PLACEMENT = {
    "AudioHostUrl": "127.0.0.1:8000/calls/x",
    "AudioFallbackUrl": "ws://127.0.0.1:8000/calls/x",
    "SignalingUrl": "ws://127.0.0.1:8000/control/x",
    "TurnControlUrl": "http://127.0.0.1:8000/v2/turn_sessions",
}
MEETING = {
    "MeetingId": MID,
    "ExternalMeetingId": "ext-1",
    "MediaRegion": "us-east-1",
    "MediaPlacement": PLACEMENT,
    "MeetingFeatures": {"Audio": {"EchoReduction": "AVAILABLE"}, "Attendee": {"MaxCount": 3}},
    "TenantIds": ["tenant-1"],
    "MeetingArn": ARN,
}
ATTENDEE = {"ExternalUserId": "user-1", "AttendeeId": AID, "JoinToken": "dG9rZW4", "Capabilities": CAPS}

INPUTS: dict[str, dict[str, Any]] = {
    "CreateMeeting": {
        "ClientRequestToken": "token-1",
        "MediaRegion": "us-east-1",
        "ExternalMeetingId": "ext-1",
        "MeetingHostId": "host-1",
        "NotificationsConfiguration": {"SnsTopicArn": "arn:aws:sns:us-east-1:111122223333:t"},
        "MeetingFeatures": {"Audio": {"EchoReduction": "AVAILABLE"}, "Video": {"MaxResolution": "HD"}},
        "TenantIds": ["tenant-1"],
        "Tags": [{"Key": "team", "Value": "blue"}],
        "MediaPlacementNetworkType": "DualStack",
    },
    "CreateMeetingWithAttendees": {
        "ClientRequestToken": "token-2",
        "MediaRegion": "eu-central-1",
        "ExternalMeetingId": "ext-2",
        "Attendees": [{"ExternalUserId": "user-1", "Capabilities": CAPS}, {"ExternalUserId": "user-2"}],
    },
    "GetMeeting": {"MeetingId": MID},
    "DeleteMeeting": {"MeetingId": MID},
    "CreateAttendee": {"MeetingId": MID, "ExternalUserId": "user-1", "Capabilities": CAPS},
    "BatchCreateAttendee": {
        "MeetingId": MID,
        "Attendees": [{"ExternalUserId": "a-1"}, {"ExternalUserId": "a-2"}],
    },
    "GetAttendee": {"MeetingId": MID, "AttendeeId": AID},
    "ListAttendees": {"MeetingId": MID, "MaxResults": 7, "NextToken": "abc/def+ghi=="},
    "DeleteAttendee": {"MeetingId": MID, "AttendeeId": AID},
    "UpdateAttendeeCapabilities": {"MeetingId": MID, "AttendeeId": AID, "Capabilities": CAPS},
    "BatchUpdateAttendeeCapabilitiesExcept": {
        "MeetingId": MID,
        "ExcludedAttendeeIds": [{"AttendeeId": AID}],
        "Capabilities": CAPS,
    },
    "StartMeetingTranscription": {
        "MeetingId": MID,
        "TranscriptionConfiguration": {
            "EngineTranscribeSettings": {
                "LanguageCode": "en-US",
                "EnablePartialResultsStabilization": True,
                "PartialResultsStability": "medium",
                "ContentIdentificationType": "PII",
                "PiiEntityTypes": "NAME,PHONE",
            }
        },
    },
    "StopMeetingTranscription": {"MeetingId": MID},
    "ListTagsForResource": {"ResourceARN": ARN},
    "TagResource": {"ResourceARN": ARN, "Tags": [{"Key": "k", "Value": "v"}]},
    "UntagResource": {"ResourceARN": ARN, "TagKeys": ["k", "other"]},
}

OUTPUTS: dict[str, dict[str, Any]] = {
    "CreateMeeting": {"Meeting": MEETING},
    "CreateMeetingWithAttendees": {
        "Meeting": MEETING,
        "Attendees": [ATTENDEE],
        "Errors": [{"ExternalUserId": "user-2", "ErrorCode": "BadRequest", "ErrorMessage": "nope"}],
    },
    "GetMeeting": {"Meeting": MEETING},
    "CreateAttendee": {"Attendee": ATTENDEE},
    "BatchCreateAttendee": {"Attendees": [ATTENDEE], "Errors": []},
    "GetAttendee": {"Attendee": {k: v for k, v in ATTENDEE.items() if k != "JoinToken"}},
    "ListAttendees": {"Attendees": [ATTENDEE], "NextToken": "next"},
    "UpdateAttendeeCapabilities": {"Attendee": ATTENDEE},
    "ListTagsForResource": {"Tags": [{"Key": "k", "Value": "v"}]},
    "TagResource": {},
    "UntagResource": {},
}
