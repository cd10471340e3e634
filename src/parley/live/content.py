"""Content share: the second session an SDK client opens to share its screen (decision D39).

amazon-chime-sdk-js derives that session's credentials from the attendee's own (DefaultContentShareController):
attendee id ``<AttendeeId>#content``, join token ``<JoinToken>#content``, the same external user id. Nobody calls
CreateAttendee for it, so parley derives the attendee from the stored one whenever such a token arrives; it lives
exactly as long as the attendee it belongs to (DeleteAttendee of the base ends it, and its token stops working).
"""

from __future__ import annotations

import dataclasses

from parley.store import Attendee

MODALITY = "#content"


def is_content(attendee_id: str) -> bool:
    return attendee_id.endswith(MODALITY)


def video_capability(attendee_id: str) -> str:
    """The capability that governs this attendee's video: a content share's is Content, a camera's Video."""
    return "Content" if is_content(attendee_id) else "Video"


def base_token(token: str) -> str | None:
    """The join token of the attendee a content-share token belongs to; None for an ordinary token."""
    return token[: -len(MODALITY)] if token.endswith(MODALITY) else None


def content_attendee(base: Attendee) -> Attendee:
    return dataclasses.replace(
        base, attendee_id=base.attendee_id + MODALITY, join_token=base.join_token + MODALITY
    )
