"""Operation name → meetings service call. Every operation in the model must have an entry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from parley.meetings.service import Caller, MeetingService

Handler = Callable[[Caller, dict[str, Any], str], Awaitable[dict[str, Any] | None]]


def meeting_handlers(service: MeetingService) -> dict[str, Handler]:
    s = service

    def plain(fn: Callable[[Caller, dict[str, Any]], Awaitable[dict[str, Any] | None]]) -> Handler:
        async def call(caller: Caller, params: dict[str, Any], _base_url: str) -> dict[str, Any] | None:
            return await fn(caller, params)

        return call

    return {
        "CreateMeeting": s.create_meeting,
        "CreateMeetingWithAttendees": s.create_meeting_with_attendees,
        "GetMeeting": s.get_meeting,
        "DeleteMeeting": plain(s.delete_meeting),
        "CreateAttendee": plain(s.create_attendee),
        "BatchCreateAttendee": plain(s.batch_create_attendee),
        "GetAttendee": plain(s.get_attendee),
        "ListAttendees": plain(s.list_attendees),
        "DeleteAttendee": plain(s.delete_attendee),
        "UpdateAttendeeCapabilities": plain(s.update_attendee_capabilities),
        "BatchUpdateAttendeeCapabilitiesExcept": plain(s.batch_update_attendee_capabilities_except),
        "StartMeetingTranscription": plain(s.start_meeting_transcription),
        "StopMeetingTranscription": plain(s.stop_meeting_transcription),
        "ListTagsForResource": plain(s.list_tags_for_resource),
        "TagResource": plain(s.tag_resource),
        "UntagResource": plain(s.untag_resource),
    }
