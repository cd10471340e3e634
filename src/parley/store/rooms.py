"""Room leases: which node hosts each meeting's Chime SDK room (parley/signaling/hosting.py says why)."""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from parley.store import schema
from parley.store.database import Database

R = schema.rooms.c


@dataclass(frozen=True)
class RoomLease:
    node_id: str
    node_url: str
    expires_at: float
    # The node this claim took the room over from (its lease ran out, or it was taken for dead).
    taken_from: str | None = None


def _takeable(
    row: Row[tuple[str, str, float]], node_id: str, node_url: str, now: float, dead: Collection[str]
) -> bool:
    # A lease at this node's own URL under another id is an earlier run of this node (restarted): it is gone.
    return row.node_id == node_id or row.expires_at <= now or row.node_id in dead or row.node_url == node_url


def _has_lease(conn: Connection, meeting_id: str) -> bool:
    return conn.execute(select(R.meeting_id).where(R.meeting_id == meeting_id)).first() is not None


class RoomTable(Database):
    async def claim_room(
        self, meeting_id: str, node_id: str, node_url: str, ttl_s: float, dead: Collection[str] = ()
    ) -> RoomLease | None:
        """Take or keep the lease on hosting ``meeting_id``'s room; the lease in force afterwards (this node's or
        another's), or None if the meeting does not exist.

        Clocks: leases compare the nodes' wall clocks, as presence does; nodes are expected to run NTP, and a
        skew well under the TTL only moves a takeover by that much.
        """
        # A concurrent first claim of the same meeting may win the insert: then read the lease it made.
        for _attempt in range(2):
            try:
                return await self._write(
                    lambda conn: self._claim(conn, meeting_id, node_id, node_url, ttl_s, dead)
                )
            except IntegrityError:
                if not await self._read(lambda conn: _has_lease(conn, meeting_id)):
                    return None  # the foreign key: no such meeting
        return None

    @staticmethod
    def _claim(
        conn: Connection, meeting_id: str, node_id: str, node_url: str, ttl_s: float, dead: Collection[str]
    ) -> RoomLease:
        now = time.time()
        row = conn.execute(
            select(R.node_id, R.node_url, R.expires_at).where(R.meeting_id == meeting_id).with_for_update()
        ).first()
        mine = {"node_id": node_id, "node_url": node_url, "expires_at": now + ttl_s}
        if row is None:
            conn.execute(insert(schema.rooms).values(meeting_id=meeting_id, **mine))
            return RoomLease(node_id, node_url, now + ttl_s)
        if not _takeable(row, node_id, node_url, now, dead):
            return RoomLease(row.node_id, row.node_url, row.expires_at)
        conn.execute(update(schema.rooms).where(R.meeting_id == meeting_id).values(**mine))
        return RoomLease(node_id, node_url, now + ttl_s, None if row.node_id == node_id else row.node_id)

    async def renew_rooms(
        self, meeting_ids: Collection[str], node_id: str, node_url: str, ttl_s: float
    ) -> set[str]:
        """Extend this node's leases on ``meeting_ids`` (re-taking any that lapsed); the ids another node now holds.

        Unlike a claim, a renewal never takes a live lease from a node this one believes dead: a node that wakes
        from a freeze renews at once, before it has heard anyone, and must find out it lost its rooms rather than
        take them back. A meeting deleted meanwhile is neither renewed nor reported: its end closes its room.
        """
        ids = sorted(set(meeting_ids))
        if not ids:
            return set()

        def op(conn: Connection) -> set[str]:
            now = time.time()
            rows = {
                r.meeting_id: r
                for r in conn.execute(
                    select(R.meeting_id, R.node_id, R.node_url, R.expires_at)
                    .where(R.meeting_id.in_(ids))
                    .with_for_update()
                )
            }
            existing = set(
                conn.execute(
                    select(schema.meetings.c.meeting_id).where(schema.meetings.c.meeting_id.in_(ids))
                ).scalars()
            )
            lost: set[str] = set()
            mine = {"node_id": node_id, "node_url": node_url, "expires_at": now + ttl_s}
            for meeting_id in ids:
                row = rows.get(meeting_id)
                if row is None:
                    if meeting_id in existing:
                        conn.execute(insert(schema.rooms).values(meeting_id=meeting_id, **mine))
                elif _takeable(row, node_id, node_url, now, ()):
                    conn.execute(update(schema.rooms).where(R.meeting_id == meeting_id).values(**mine))
                else:
                    lost.add(meeting_id)
            return lost

        return await self._write(op)

    async def release_room(self, meeting_id: str, node_id: str) -> None:
        """Give up this node's lease (its room closed): the next node a client reaches may host at once."""

        def op(conn: Connection) -> None:
            conn.execute(delete(schema.rooms).where(R.meeting_id == meeting_id, R.node_id == node_id))

        await self._write(op)

    async def release_rooms(self, node_id: str) -> None:
        def op(conn: Connection) -> None:
            conn.execute(delete(schema.rooms).where(R.node_id == node_id))

        await self._write(op)
