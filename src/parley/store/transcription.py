"""Each meeting's transcription state (started/stopped/failed and its configuration)."""

from __future__ import annotations

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from parley.store import schema
from parley.store.database import Database
from parley.store.records import TranscriptionState
from parley.store.rows import (
    Q_TRANSCRIPTION,
    TR,
    M,
    transcription_from_row,
)


class TranscriptionTable(Database):
    # -- transcription state --------------------------------------------------------------------

    async def get_transcription(self, meeting_id: str) -> TranscriptionState | None:
        def op(conn: Connection) -> TranscriptionState | None:
            row = conn.execute(Q_TRANSCRIPTION, {"mid": meeting_id}).first()
            return transcription_from_row(row) if row else None

        return await self._read(op)

    async def count_active_transcriptions(self, account_id: str) -> int:
        def op(conn: Connection) -> int:
            q = (
                select(func.count())
                .select_from(schema.transcriptions.join(schema.meetings, TR.meeting_id == M.meeting_id))
                .where(M.account_id == account_id, TR.status == "started")
            )
            return int(conn.execute(q).scalar() or 0)

        return await self._read(op)

    async def save_transcription(self, state: TranscriptionState) -> None:
        values = {
            "meeting_id": state.meeting_id,
            "status": state.status,
            "configuration": state.configuration,
            "region": state.region,
            "started_at": state.started_at,
            "updated_at": state.updated_at,
            "stopped_at": state.stopped_at,
            "extra": state.extra,
        }

        def op(conn: Connection) -> None:
            result = conn.execute(
                update(schema.transcriptions).where(TR.meeting_id == state.meeting_id).values(**values)
            )
            if not result.rowcount:
                conn.execute(insert(schema.transcriptions).values(**values))

        await self._write(op)
