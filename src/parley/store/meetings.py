"""Meetings, their attendees and tags."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from parley.store import schema
from parley.store.database import Database
from parley.store.records import Attendee, Meeting
from parley.store.rows import (
    Q_ATTENDEE,
    Q_ATTENDEE_BY_TOKEN,
    Q_COUNT_ACTIVE_MEETINGS,
    Q_COUNT_ATTENDEES,
    Q_MEETING,
    Q_MEETING_ANY,
    Q_TRANSCRIPTION,
    TG,
    TS,
    A,
    C,
    Conflict,
    LimitReached,
    M,
    attendee_from_row,
    attendee_values,
    delete_transcript_rows,
    meeting_from_row,
    meeting_values,
    pg_upsert_account,
    transcript_values,
)


class MeetingTables(Database):
    # -- meetings -------------------------------------------------------------------------------

    async def create_meeting(
        self,
        meeting: Meeting,
        attendees: Sequence[Attendee],
        tags: Sequence[tuple[str, str]],
        max_active: int,
    ) -> Meeting:
        """Insert a meeting (with its first attendees and tags) unless the account is at its limit.

        Raises ``Conflict`` when the account already used the client request token.
        """
        postgres = not self.is_sqlite

        def op(conn: Connection) -> None:
            if postgres:
                conn.execute(pg_upsert_account(meeting.account_id))
                conn.execute(
                    select(schema.accounts.c.account_id)
                    .where(schema.accounts.c.account_id == meeting.account_id)
                    .with_for_update()
                )
            active = conn.execute(Q_COUNT_ACTIVE_MEETINGS, {"acct": meeting.account_id}).scalar() or 0
            if active >= max_active:
                raise LimitReached(f"The account has reached its limit of {max_active} active meetings")
            conn.execute(insert(schema.meetings).values(**meeting_values(meeting)))
            if attendees:
                conn.execute(insert(schema.attendees), [attendee_values(a) for a in attendees])
            if tags:
                conn.execute(
                    insert(schema.tags),
                    [{"meeting_id": meeting.meeting_id, "key": k, "value": v} for k, v in tags],
                )

        try:
            await self._write(op)
        except IntegrityError as exc:
            raise Conflict(str(exc.orig)) from None
        return meeting

    async def get_meeting(self, account_id: str, meeting_id: str) -> Meeting | None:
        def op(conn: Connection) -> Meeting | None:
            row = conn.execute(Q_MEETING, {"mid": meeting_id, "acct": account_id}).first()
            return meeting_from_row(row) if row else None

        return await self._read(op)

    async def get_meeting_any_account(self, meeting_id: str) -> Meeting | None:
        def op(conn: Connection) -> Meeting | None:
            row = conn.execute(Q_MEETING_ANY, {"mid": meeting_id}).first()
            return meeting_from_row(row) if row else None

        return await self._read(op)

    async def find_meeting_by_token(self, account_id: str, token: str) -> Meeting | None:
        def op(conn: Connection) -> Meeting | None:
            q = select(schema.meetings).where(M.account_id == account_id, M.client_request_token == token)
            row = conn.execute(q).first()
            return meeting_from_row(row) if row else None

        return await self._read(op)

    async def list_meetings(self, account_id: str) -> list[Meeting]:
        def op(conn: Connection) -> list[Meeting]:
            q = select(schema.meetings).where(M.account_id == account_id).order_by(M.created_at)
            return [meeting_from_row(r) for r in conn.execute(q)]

        return await self._read(op)

    async def delete_meeting(
        self,
        account_id: str,
        meeting_id: str,
        *,
        keep_transcript: bool = False,
        transcript_expires_at: float | None = None,
    ) -> frozenset[str] | None:
        """Delete a meeting with its attendees, tags, state and presence; None if there is no such meeting,
        else the nodes that held its connections (they finish its speech in flight: docs/architecture.md).

        Its transcript goes too unless ``keep_transcript``: then it is marked ended and kept until
        ``transcript_expires_at`` (None: until its owner deletes it). A meeting that was being transcribed
        gets its transcript row now even if no result is stored yet, so the finals of speech in flight at the
        end are kept as well.
        """

        def op(conn: Connection) -> frozenset[str] | None:
            meeting = conn.execute(Q_MEETING, {"mid": meeting_id, "acct": account_id}).first()
            if meeting is None:
                return None
            transcribed = conn.execute(Q_TRANSCRIPTION, {"mid": meeting_id}).first() is not None
            nodes = frozenset(
                r.node_id
                for r in conn.execute(select(C.node_id).where(C.meeting_id == meeting_id).distinct())
            )
            conn.execute(delete(schema.meetings).where(M.meeting_id == meeting_id))
            if not keep_transcript:
                delete_transcript_rows(conn, meeting_id)
                return nodes
            ended = {"ended_at": time.time(), "expires_at": transcript_expires_at}
            done = conn.execute(update(schema.transcripts).where(TS.meeting_id == meeting_id).values(**ended))
            if not done.rowcount and transcribed:
                conn.execute(
                    insert(schema.transcripts).values(**transcript_values(meeting_from_row(meeting)), **ended)
                )
            return nodes

        return await self._write(op)

    # -- attendees ------------------------------------------------------------------------------

    async def add_attendees(
        self, meeting_id: str, candidates: Sequence[Attendee], max_count: int
    ) -> list[Attendee | LimitReached] | None:
        """Add attendees in one transaction; idempotent per (case-insensitive) external user id.

        Returns, per candidate, the stored attendee (the existing one for a repeated external user
        id) or ``LimitReached``; ``None`` when the meeting does not exist.
        """
        postgres = not self.is_sqlite

        def op(conn: Connection) -> list[Attendee | LimitReached] | None:
            q = select(M.meeting_id).where(M.meeting_id == meeting_id)
            if postgres:
                q = q.with_for_update()
            if conn.execute(q).first() is None:
                return None
            count = conn.execute(Q_COUNT_ATTENDEES, {"mid": meeting_id}).scalar() or 0
            keys = [a.external_user_id.lower() for a in candidates]
            existing = {
                row.external_user_key: attendee_from_row(row)
                for row in conn.execute(
                    select(schema.attendees).where(A.meeting_id == meeting_id, A.external_user_key.in_(keys))
                )
            }
            out: list[Attendee | LimitReached] = []
            new_rows: list[dict[str, Any]] = []
            for candidate, key in zip(candidates, keys, strict=True):
                if key in existing:
                    out.append(existing[key])
                    continue
                if count >= max_count:
                    out.append(LimitReached(f"The meeting has reached its limit of {max_count} attendees"))
                    continue
                count += 1
                existing[key] = candidate
                new_rows.append(attendee_values(candidate))
                out.append(candidate)
            if new_rows:
                conn.execute(insert(schema.attendees), new_rows)
            return out

        return await self._write(op)

    async def get_attendee(self, meeting_id: str, attendee_id: str) -> Attendee | None:
        def op(conn: Connection) -> Attendee | None:
            row = conn.execute(Q_ATTENDEE, {"mid": meeting_id, "aid": attendee_id}).first()
            return attendee_from_row(row) if row else None

        return await self._read(op)

    async def get_attendee_by_token(self, join_token: str) -> Attendee | None:
        def op(conn: Connection) -> Attendee | None:
            row = conn.execute(Q_ATTENDEE_BY_TOKEN, {"token": join_token}).first()
            return attendee_from_row(row) if row else None

        return await self._read(op)

    async def list_attendees(
        self, meeting_id: str, after: tuple[float, str] | None, limit: int
    ) -> list[Attendee]:
        def op(conn: Connection) -> list[Attendee]:
            q = select(schema.attendees).where(A.meeting_id == meeting_id)
            if after is not None:
                ts, aid = after
                q = q.where(or_(A.created_at > ts, and_(A.created_at == ts, A.attendee_id > aid)))
            q = q.order_by(A.created_at, A.attendee_id).limit(limit)
            return [attendee_from_row(r) for r in conn.execute(q)]

        return await self._read(op)

    async def delete_attendee(self, meeting_id: str, attendee_id: str) -> bool:
        def op(conn: Connection) -> bool:
            result = conn.execute(
                delete(schema.attendees).where(A.meeting_id == meeting_id, A.attendee_id == attendee_id)
            )
            return bool(result.rowcount)

        return await self._write(op)

    async def update_capabilities(
        self,
        meeting_id: str,
        capabilities: dict[str, str],
        *,
        only: str | None = None,
        exclude: Sequence[str] = (),
    ) -> int:
        def op(conn: Connection) -> int:
            q = update(schema.attendees).where(A.meeting_id == meeting_id)
            if only is not None:
                q = q.where(A.attendee_id == only)
            if exclude:
                q = q.where(A.attendee_id.not_in(list(exclude)))
            return int(conn.execute(q.values(capabilities=capabilities)).rowcount or 0)

        return await self._write(op)

    # -- tags -----------------------------------------------------------------------------------

    async def list_tags(self, meeting_id: str) -> list[tuple[str, str]]:
        def op(conn: Connection) -> list[tuple[str, str]]:
            q = select(TG.key, TG.value).where(TG.meeting_id == meeting_id).order_by(TG.key)
            return [(r.key, r.value) for r in conn.execute(q)]

        return await self._read(op)

    async def put_tags(self, meeting_id: str, tags: Sequence[tuple[str, str]], max_tags: int) -> bool:
        """Upsert tags; returns False (and changes nothing) if the result would exceed ``max_tags``."""

        def op(conn: Connection) -> bool:
            current = {r.key for r in conn.execute(select(TG.key).where(TG.meeting_id == meeting_id))}
            if len(current | {k for k, _ in tags}) > max_tags:
                return False
            for key, value in tags:
                if key in current:
                    conn.execute(
                        update(schema.tags)
                        .where(TG.meeting_id == meeting_id, TG.key == key)
                        .values(value=value)
                    )
                else:
                    conn.execute(insert(schema.tags).values(meeting_id=meeting_id, key=key, value=value))
                    current.add(key)
            return True

        return await self._write(op)

    async def remove_tags(self, meeting_id: str, keys: Sequence[str]) -> None:
        def op(conn: Connection) -> None:
            conn.execute(delete(schema.tags).where(TG.meeting_id == meeting_id, TG.key.in_(list(keys))))

        await self._write(op)
