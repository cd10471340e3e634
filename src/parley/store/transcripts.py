"""Stored transcripts: final results under a row that outlives its meeting (D36)."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from parley.store import schema
from parley.store.database import Database
from parley.store.records import TranscriptRecord
from parley.store.rows import (
    Q_MEETING,
    TS,
    TX,
    delete_transcript_rows,
    meeting_from_row,
    transcript_values,
)


class TranscriptTables(Database):
    # -- transcripts ----------------------------------------------------------------------------

    async def add_transcript_result(
        self,
        *,
        meeting_id: str,
        account_id: str,
        attendee_id: str,
        result_id: str,
        start_time_ms: int,
        end_time_ms: int,
        result: dict[str, Any],
    ) -> bool:
        """Store (or replace) a final result. False when its transcript is gone: the meeting ended and its
        transcript was deleted with it (retention 0), or its owner deleted it after the meeting ended."""
        values = {
            "meeting_id": meeting_id,
            "result_id": result_id,
            "account_id": account_id,
            "attendee_id": attendee_id,
            "start_time_ms": start_time_ms,
            "end_time_ms": end_time_ms,
            "result": result,
        }

        def op(conn: Connection) -> bool:
            if conn.execute(select(TS.meeting_id).where(TS.meeting_id == meeting_id)).first() is None:
                meeting = conn.execute(Q_MEETING, {"mid": meeting_id, "acct": account_id}).first()
                if meeting is None:
                    return False
                conn.execute(
                    insert(schema.transcripts).values(**transcript_values(meeting_from_row(meeting)))
                )
            done = conn.execute(
                update(schema.transcript_results)
                .where(TX.meeting_id == meeting_id, TX.result_id == result_id)
                .values(**values)
            )
            if not done.rowcount:
                conn.execute(insert(schema.transcript_results).values(**values))
            return True

        return await self._write(op)

    async def transcript(self, account_id: str, meeting_id: str) -> tuple[int, list[dict[str, Any]]] | None:
        """(meeting start epoch ms, results in time order), or None if this account has no such transcript."""

        def op(conn: Connection) -> tuple[int, list[dict[str, Any]]] | None:
            started = conn.execute(
                select(TS.meeting_started_ms).where(TS.meeting_id == meeting_id, TS.account_id == account_id)
            ).scalar()
            if started is None:
                return None
            q = select(TX.result).where(TX.meeting_id == meeting_id).order_by(TX.start_time_ms, TX.result_id)
            return int(started), [r.result for r in conn.execute(q)]

        return await self._read(op)

    async def list_transcripts(
        self, account_id: str, *, limit: int, after: tuple[int, str] | None = None
    ) -> list[TranscriptRecord]:
        """An account's transcripts, newest meeting first; ``after`` is the (start ms, meeting id) of the
        last one of the previous page (keyset paging: stable while transcripts are added or deleted)."""

        def op(conn: Connection) -> list[TranscriptRecord]:
            count = (
                select(func.count())
                .select_from(schema.transcript_results)
                .where(TX.meeting_id == TS.meeting_id)
            ).scalar_subquery()
            q = select(schema.transcripts, count.label("result_count")).where(TS.account_id == account_id)
            if after is not None:
                started, mid = after
                q = q.where(
                    or_(
                        TS.meeting_started_ms < started,
                        and_(TS.meeting_started_ms == started, TS.meeting_id < mid),
                    )
                )
            q = q.order_by(TS.meeting_started_ms.desc(), TS.meeting_id.desc()).limit(limit)
            return [
                TranscriptRecord(**{f.name: getattr(r, f.name) for f in dataclasses.fields(TranscriptRecord)})
                for r in conn.execute(q)
            ]

        return await self._read(op)

    async def delete_transcript(self, account_id: str, meeting_id: str) -> bool:
        """Delete a stored transcript (of a live or an ended meeting); False if the account has none such."""

        def op(conn: Connection) -> bool:
            owned = conn.execute(
                select(TS.meeting_id).where(TS.meeting_id == meeting_id, TS.account_id == account_id)
            ).first()
            if owned is None:
                return False
            delete_transcript_rows(conn, meeting_id)
            return True

        return await self._write(op)

    async def purge_expired_transcripts(self, now: float) -> int:
        """Delete transcripts past their retention; returns how many."""

        def op(conn: Connection) -> int:
            expired = [
                r.meeting_id
                for r in conn.execute(
                    select(TS.meeting_id).where(TS.expires_at.is_not(None), TS.expires_at < now)
                )
            ]
            for meeting_id in expired:
                delete_transcript_rows(conn, meeting_id)
            return len(expired)

        return await self._write(op)
