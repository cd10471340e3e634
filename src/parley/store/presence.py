"""Which node holds which attendee connection, node heartbeats, and what auto-end reads from them."""

from __future__ import annotations

import time

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from parley.store import schema
from parley.store.database import Database
from parley.store.records import Meeting
from parley.store.rows import (
    C,
    M,
    meeting_from_row,
)


class PresenceTable(Database):
    # -- presence (which node holds which attendee connection) ----------------------------------

    async def add_connection(
        self, connection_id: str, meeting_id: str, attendee_id: str, node_id: str
    ) -> bool:
        """Record a live connection; False if the meeting no longer exists."""
        now = time.time()

        def op(conn: Connection) -> None:
            conn.execute(
                insert(schema.connections).values(
                    connection_id=connection_id,
                    meeting_id=meeting_id,
                    attendee_id=attendee_id,
                    node_id=node_id,
                    connected_at=now,
                    heartbeat_at=now,
                )
            )
            conn.execute(update(schema.meetings).where(M.meeting_id == meeting_id).values(last_seen_at=now))

        try:
            await self._write(op)
        except IntegrityError:
            return False
        return True

    async def remove_connection(self, connection_id: str) -> None:
        now = time.time()

        def op(conn: Connection) -> None:
            row = conn.execute(select(C.meeting_id).where(C.connection_id == connection_id)).first()
            conn.execute(delete(schema.connections).where(C.connection_id == connection_id))
            if row is not None:
                conn.execute(
                    update(schema.meetings).where(M.meeting_id == row.meeting_id).values(last_seen_at=now)
                )

        await self._write(op)

    async def heartbeat(self, node_id: str) -> None:
        """Refresh this node's connections and the idle clock of the meetings they are in."""
        now = time.time()

        def op(conn: Connection) -> None:
            conn.execute(update(schema.connections).where(C.node_id == node_id).values(heartbeat_at=now))
            live = select(C.meeting_id).where(C.node_id == node_id).scalar_subquery()
            conn.execute(update(schema.meetings).where(M.meeting_id.in_(live)).values(last_seen_at=now))

        await self._write(op)

    async def clear_node(self, node_id: str) -> None:
        def op(conn: Connection) -> None:
            conn.execute(delete(schema.connections).where(C.node_id == node_id))

        await self._write(op)

    async def purge_stale_connections(self, before: float) -> None:
        def op(conn: Connection) -> None:
            conn.execute(delete(schema.connections).where(C.heartbeat_at < before))

        await self._write(op)

    async def connection_nodes(self, meeting_id: str, fresh_after: float) -> set[str]:
        def op(conn: Connection) -> set[str]:
            q = select(C.node_id).where(C.meeting_id == meeting_id, C.heartbeat_at >= fresh_after).distinct()
            return {r.node_id for r in conn.execute(q)}

        return await self._read(op)

    async def node_connections(self, node_id: str) -> list[tuple[str, str]]:
        """(meeting id, attendee id) of every connection a node has recorded."""

        def op(conn: Connection) -> list[tuple[str, str]]:
            q = select(C.meeting_id, C.attendee_id).where(C.node_id == node_id)
            return [(r.meeting_id, r.attendee_id) for r in conn.execute(q)]

        return await self._read(op)

    async def set_muted(self, connection_id: str, muted: bool) -> None:
        """A Chime SDK client muted or unmuted itself (AUDIO_CONTROL, or its SUBSCRIBE's ``audio_muted``)."""

        def op(conn: Connection) -> None:
            conn.execute(
                update(schema.connections).where(C.connection_id == connection_id).values(muted=muted)
            )

        await self._write(op)

    async def muted_attendees(self, meeting_id: str, fresh_after: float) -> set[str]:
        """The meeting's attendees connected with their microphone muted (heartbeat after ``fresh_after``)."""

        def op(conn: Connection) -> set[str]:
            q = select(C.attendee_id).where(
                C.meeting_id == meeting_id, C.heartbeat_at >= fresh_after, C.muted.is_(True)
            )
            return {r.attendee_id for r in conn.execute(q)}

        return await self._read(op)

    async def connected_attendees(self, meeting_id: str, fresh_after: float) -> set[str]:
        """The meeting's attendees with a live connection on any node (heartbeat after ``fresh_after``)."""

        def op(conn: Connection) -> set[str]:
            q = (
                select(C.attendee_id)
                .where(C.meeting_id == meeting_id, C.heartbeat_at >= fresh_after)
                .distinct()
            )
            return {r.attendee_id for r in conn.execute(q)}

        return await self._read(op)

    async def meetings_to_end(
        self, *, idle_before: float, created_before: float, fresh_after: float
    ) -> list[Meeting]:
        """Meetings past their maximum age, or with no live connection and no presence since ``idle_before``."""

        def op(conn: Connection) -> list[Meeting]:
            live = select(C.meeting_id).where(C.heartbeat_at >= fresh_after)
            idle = and_(M.meeting_id.not_in(live), func.coalesce(M.last_seen_at, M.created_at) < idle_before)
            return [
                meeting_from_row(r)
                for r in conn.execute(select(schema.meetings).where(or_(M.created_at < created_before, idle)))
            ]

        return await self._read(op)
