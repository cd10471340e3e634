"""Rows and statements shared by the store's modules: record <-> row conversion, column aliases, hot queries."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.engine import Connection, make_url

from parley.store import schema
from parley.store.records import Attendee, Meeting, TranscriptionState

T = TypeVar("T")


class LimitReached(Exception):
    """A count limit checked inside the write transaction was reached."""


class Conflict(Exception):
    """A unique key (client request token, external user id) is already taken."""


def normalize_database_url(url: str) -> str:
    """Accept plain ``postgresql://`` / ``sqlite:///`` URLs and pick the drivers parley uses."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql" and parsed.drivername != "postgresql+asyncpg":
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif backend == "sqlite" and parsed.drivername != "sqlite+pysqlite":
        parsed = parsed.set(drivername="sqlite+pysqlite")
    return parsed.render_as_string(hide_password=False)


def _names(record: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(record))


# A record's fields are its table's columns of the same names (store/schema.py).
_MEETING_COLUMNS = _names(Meeting)
_ATTENDEE_COLUMNS = _names(Attendee)
_TRANSCRIPTION_COLUMNS = _names(TranscriptionState)


def meeting_from_row(row: Any) -> Meeting:
    return Meeting(**{name: getattr(row, name) for name in _MEETING_COLUMNS})


def attendee_from_row(row: Any) -> Attendee:
    return Attendee(**{name: getattr(row, name) for name in _ATTENDEE_COLUMNS})


def transcription_from_row(row: Any) -> TranscriptionState:
    values = {name: getattr(row, name) for name in _TRANSCRIPTION_COLUMNS}
    values["extra"] = values["extra"] or {}
    return TranscriptionState(**values)


def meeting_values(m: Meeting) -> dict[str, Any]:
    return {name: getattr(m, name) for name in _MEETING_COLUMNS}


def attendee_values(a: Attendee) -> dict[str, Any]:
    # external_user_key: the case-folded key CreateAttendee's idempotency is checked on.
    return {name: getattr(a, name) for name in _ATTENDEE_COLUMNS} | {
        "external_user_key": a.external_user_id.lower()
    }


M, A, TG, TR, C, TX, TS = (
    schema.meetings.c,
    schema.attendees.c,
    schema.tags.c,
    schema.transcriptions.c,
    schema.connections.c,
    schema.transcript_results.c,
    schema.transcripts.c,
)

# Hot statements, built once (SQLAlchemy then reuses their compiled form).
Q_MEETING = select(schema.meetings).where(M.meeting_id == bindparam("mid"), M.account_id == bindparam("acct"))
Q_MEETING_ANY = select(schema.meetings).where(M.meeting_id == bindparam("mid"))
Q_ATTENDEE = select(schema.attendees).where(
    A.meeting_id == bindparam("mid"), A.attendee_id == bindparam("aid")
)
Q_ATTENDEE_BY_TOKEN = select(schema.attendees).where(A.join_token == bindparam("token"))
Q_COUNT_ATTENDEES = select(func.count()).select_from(schema.attendees).where(A.meeting_id == bindparam("mid"))
Q_TRANSCRIPTION = select(schema.transcriptions).where(TR.meeting_id == bindparam("mid"))
Q_COUNT_ACTIVE_MEETINGS = (
    select(func.count()).select_from(schema.meetings).where(M.account_id == bindparam("acct"))
)


def transcript_values(meeting: Meeting) -> dict[str, Any]:
    return {
        "meeting_id": meeting.meeting_id,
        "account_id": meeting.account_id,
        "external_meeting_id": meeting.external_meeting_id,
        "meeting_started_ms": int(meeting.created_at * 1000),
    }


def delete_transcript_rows(conn: Connection, meeting_id: str) -> None:
    conn.execute(delete(schema.transcript_results).where(TX.meeting_id == meeting_id))
    conn.execute(delete(schema.transcripts).where(TS.meeting_id == meeting_id))


def pg_upsert_account(account_id: str) -> Any:
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    return pg_insert(schema.accounts).values(account_id=account_id).on_conflict_do_nothing()
