"""The SQL store: SQLite (default, in the data dir) or PostgreSQL, through SQLAlchemy 2 async.

Write transactions that check a limit before inserting (active meetings per account, attendees
per meeting) must be atomic. On PostgreSQL a row lock on the account or meeting serializes them;
SQLite has one writer anyway, so writes there are serialized in-process with a lock and
``BEGIN IMMEDIATE`` (no upgrade deadlocks). SQLite runs in WAL mode with ``synchronous=NORMAL``:
a committed write survives a process crash or ``kill -9`` (``--sqlite-synchronous full`` also
survives power loss, at the cost of an fsync per commit).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, event, func, insert, or_, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from parley.store import schema
from parley.store.records import Attendee, Meeting, TranscriptionState


class LimitReached(Exception):
    """A count limit checked inside the write transaction was reached."""


class Conflict(Exception):
    """A unique key (client request token, external user id) is already taken."""


def normalize_database_url(url: str) -> str:
    """Accept plain ``postgresql://`` / ``sqlite:///`` URLs and pick the async drivers."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql" and parsed.drivername != "postgresql+asyncpg":
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif backend == "sqlite" and parsed.drivername != "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def _meeting(row: Any) -> Meeting:
    return Meeting(
        meeting_id=row.meeting_id,
        account_id=row.account_id,
        region=row.region,
        media_region=row.media_region,
        created_at=row.created_at,
        external_meeting_id=row.external_meeting_id,
        meeting_host_id=row.meeting_host_id,
        client_request_token=row.client_request_token,
        request_digest=row.request_digest,
        features=row.features,
        notifications=row.notifications,
        primary_meeting_id=row.primary_meeting_id,
        tenant_ids=row.tenant_ids,
        network_type=row.network_type,
    )


def _attendee(row: Any) -> Attendee:
    return Attendee(
        attendee_id=row.attendee_id,
        meeting_id=row.meeting_id,
        external_user_id=row.external_user_id,
        join_token=row.join_token,
        capabilities=row.capabilities,
        created_at=row.created_at,
    )


def _transcription(row: Any) -> TranscriptionState:
    return TranscriptionState(
        meeting_id=row.meeting_id,
        status=row.status,
        configuration=row.configuration,
        region=row.region,
        started_at=row.started_at,
        updated_at=row.updated_at,
        stopped_at=row.stopped_at,
        extra=row.extra or {},
    )


def _meeting_values(m: Meeting) -> dict[str, Any]:
    return {
        "meeting_id": m.meeting_id,
        "account_id": m.account_id,
        "region": m.region,
        "media_region": m.media_region,
        "created_at": m.created_at,
        "external_meeting_id": m.external_meeting_id,
        "meeting_host_id": m.meeting_host_id,
        "client_request_token": m.client_request_token,
        "request_digest": m.request_digest,
        "features": m.features,
        "notifications": m.notifications,
        "primary_meeting_id": m.primary_meeting_id,
        "tenant_ids": m.tenant_ids,
        "network_type": m.network_type,
    }


def _attendee_values(a: Attendee) -> dict[str, Any]:
    return {
        "attendee_id": a.attendee_id,
        "meeting_id": a.meeting_id,
        "external_user_id": a.external_user_id,
        "external_user_key": a.external_user_id.lower(),
        "join_token": a.join_token,
        "capabilities": a.capabilities,
        "created_at": a.created_at,
    }


class Store:
    """Async access to parley's tables. Construct, ``await open()``, and ``await close()``."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "NORMAL") -> None:
        self.url = normalize_database_url(url)
        self.is_sqlite = make_url(self.url).get_backend_name() == "sqlite"
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._engine: AsyncEngine | None = None
        self._sqlite_synchronous = sqlite_synchronous.upper()

    @classmethod
    def for_data_dir(cls, data_dir: Path, database_url: str | None = None, **kwargs: Any) -> Store:
        if database_url:
            return cls(database_url, **kwargs)
        return cls(f"sqlite+aiosqlite:///{(data_dir / 'parley.db').resolve()}", **kwargs)

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("Store is not open")
        return self._engine

    async def open(self) -> None:
        if self.is_sqlite:
            engine = create_async_engine(self.url, pool_size=4, max_overflow=4)
            synchronous = self._sqlite_synchronous

            @event.listens_for(engine.sync_engine, "connect")
            def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                # Autocommit at the driver level; SQLAlchemy emits BEGIN itself (see 'begin' below).
                dbapi_conn.isolation_level = None
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute(f"PRAGMA synchronous={synchronous}")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA busy_timeout=10000")
                cur.close()

            @event.listens_for(engine.sync_engine, "begin")
            def _begin(conn: Any) -> None:
                conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")
        else:
            engine = create_async_engine(self.url, pool_size=10, max_overflow=10, pool_pre_ping=True)
        self._engine = engine
        from parley.store.migrate import upgrade

        async with engine.connect() as conn:
            await conn.run_sync(upgrade)
            await conn.commit()

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        if self._write_lock is not None:
            async with self._write_lock, self.engine.connect() as conn:
                conn.sync_connection.info["write"] = True  # type: ignore[union-attr]
                try:
                    async with conn.begin():
                        yield conn
                finally:
                    conn.sync_connection.info.pop("write", None)  # type: ignore[union-attr]
        else:
            async with self.engine.begin() as conn:
                yield conn

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
        try:
            async with self._write() as conn:
                if not self.is_sqlite:
                    await conn.execute(_pg_upsert_account(meeting.account_id))
                    await conn.execute(
                        select(schema.accounts.c.account_id)
                        .where(schema.accounts.c.account_id == meeting.account_id)
                        .with_for_update()
                    )
                active = await conn.scalar(
                    select(func.count())
                    .select_from(schema.meetings)
                    .where(schema.meetings.c.account_id == meeting.account_id)
                )
                if (active or 0) >= max_active:
                    raise LimitReached(f"The account has reached its limit of {max_active} active meetings")
                await conn.execute(insert(schema.meetings).values(**_meeting_values(meeting)))
                if attendees:
                    await conn.execute(insert(schema.attendees), [_attendee_values(a) for a in attendees])
                if tags:
                    await conn.execute(
                        insert(schema.tags),
                        [{"meeting_id": meeting.meeting_id, "key": k, "value": v} for k, v in tags],
                    )
        except IntegrityError as exc:
            raise Conflict(str(exc.orig)) from None
        return meeting

    async def get_meeting(self, account_id: str, meeting_id: str) -> Meeting | None:
        async with self._read() as conn:
            row = (
                await conn.execute(
                    select(schema.meetings).where(
                        and_(
                            schema.meetings.c.meeting_id == meeting_id,
                            schema.meetings.c.account_id == account_id,
                        )
                    )
                )
            ).first()
        return _meeting(row) if row else None

    async def get_meeting_any_account(self, meeting_id: str) -> Meeting | None:
        async with self._read() as conn:
            row = (
                await conn.execute(select(schema.meetings).where(schema.meetings.c.meeting_id == meeting_id))
            ).first()
        return _meeting(row) if row else None

    async def find_meeting_by_token(self, account_id: str, token: str) -> Meeting | None:
        async with self._read() as conn:
            row = (
                await conn.execute(
                    select(schema.meetings).where(
                        and_(
                            schema.meetings.c.account_id == account_id,
                            schema.meetings.c.client_request_token == token,
                        )
                    )
                )
            ).first()
        return _meeting(row) if row else None

    async def list_meetings(self, account_id: str) -> list[Meeting]:
        async with self._read() as conn:
            rows = await conn.execute(
                select(schema.meetings)
                .where(schema.meetings.c.account_id == account_id)
                .order_by(schema.meetings.c.created_at)
            )
            return [_meeting(r) for r in rows]

    async def list_all_meetings(self) -> list[Meeting]:
        async with self._read() as conn:
            rows = await conn.execute(select(schema.meetings).order_by(schema.meetings.c.created_at))
            return [_meeting(r) for r in rows]

    async def delete_meeting(self, account_id: str, meeting_id: str) -> bool:
        async with self._write() as conn:
            result = await conn.execute(
                delete(schema.meetings).where(
                    and_(
                        schema.meetings.c.meeting_id == meeting_id, schema.meetings.c.account_id == account_id
                    )
                )
            )
        return bool(result.rowcount)

    # -- attendees ------------------------------------------------------------------------------

    async def add_attendees(
        self, meeting_id: str, candidates: Sequence[Attendee], max_count: int
    ) -> list[Attendee | LimitReached] | None:
        """Add attendees in one transaction; idempotent per (case-insensitive) external user id.

        Returns, per candidate, the stored attendee (the existing one for a repeated external user
        id) or ``LimitReached``; ``None`` when the meeting does not exist.
        """
        async with self._write() as conn:
            q = select(schema.meetings.c.meeting_id).where(schema.meetings.c.meeting_id == meeting_id)
            if not self.is_sqlite:
                q = q.with_for_update()
            if (await conn.execute(q)).first() is None:
                return None
            count = (
                await conn.scalar(
                    select(func.count())
                    .select_from(schema.attendees)
                    .where(schema.attendees.c.meeting_id == meeting_id)
                )
                or 0
            )
            keys = [a.external_user_id.lower() for a in candidates]
            existing = {
                row.external_user_key: _attendee(row)
                for row in await conn.execute(
                    select(schema.attendees).where(
                        and_(
                            schema.attendees.c.meeting_id == meeting_id,
                            schema.attendees.c.external_user_key.in_(keys),
                        )
                    )
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
                new_rows.append(_attendee_values(candidate))
                out.append(candidate)
            if new_rows:
                await conn.execute(insert(schema.attendees), new_rows)
        return out

    async def get_attendee(self, meeting_id: str, attendee_id: str) -> Attendee | None:
        async with self._read() as conn:
            row = (
                await conn.execute(
                    select(schema.attendees).where(
                        and_(
                            schema.attendees.c.meeting_id == meeting_id,
                            schema.attendees.c.attendee_id == attendee_id,
                        )
                    )
                )
            ).first()
        return _attendee(row) if row else None

    async def get_attendee_by_token(self, join_token: str) -> Attendee | None:
        async with self._read() as conn:
            row = (
                await conn.execute(
                    select(schema.attendees).where(schema.attendees.c.join_token == join_token)
                )
            ).first()
        return _attendee(row) if row else None

    async def list_attendees(
        self, meeting_id: str, after: tuple[float, str] | None, limit: int
    ) -> list[Attendee]:
        c = schema.attendees.c
        q = select(schema.attendees).where(c.meeting_id == meeting_id)
        if after is not None:
            ts, aid = after
            q = q.where(or_(c.created_at > ts, and_(c.created_at == ts, c.attendee_id > aid)))
        q = q.order_by(c.created_at, c.attendee_id).limit(limit)
        async with self._read() as conn:
            return [_attendee(r) for r in await conn.execute(q)]

    async def delete_attendee(self, meeting_id: str, attendee_id: str) -> bool:
        c = schema.attendees.c
        async with self._write() as conn:
            result = await conn.execute(
                delete(schema.attendees).where(and_(c.meeting_id == meeting_id, c.attendee_id == attendee_id))
            )
        return bool(result.rowcount)

    async def update_capabilities(
        self,
        meeting_id: str,
        capabilities: dict[str, str],
        *,
        only: str | None = None,
        exclude: Sequence[str] = (),
    ) -> int:
        c = schema.attendees.c
        q = update(schema.attendees).where(c.meeting_id == meeting_id)
        if only is not None:
            q = q.where(c.attendee_id == only)
        if exclude:
            q = q.where(c.attendee_id.not_in(list(exclude)))
        async with self._write() as conn:
            result = await conn.execute(q.values(capabilities=capabilities))
        return int(result.rowcount or 0)

    # -- tags -----------------------------------------------------------------------------------

    async def list_tags(self, meeting_id: str) -> list[tuple[str, str]]:
        async with self._read() as conn:
            rows = await conn.execute(
                select(schema.tags.c.key, schema.tags.c.value)
                .where(schema.tags.c.meeting_id == meeting_id)
                .order_by(schema.tags.c.key)
            )
            return [(r.key, r.value) for r in rows]

    async def put_tags(self, meeting_id: str, tags: Sequence[tuple[str, str]], max_tags: int) -> bool:
        """Upsert tags; returns False (and changes nothing) if the result would exceed ``max_tags``."""
        c = schema.tags.c
        async with self._write() as conn:
            current = {r.key for r in await conn.execute(select(c.key).where(c.meeting_id == meeting_id))}
            if len(current | {k for k, _ in tags}) > max_tags:
                return False
            for key, value in tags:
                if key in current:
                    await conn.execute(
                        update(schema.tags)
                        .where(and_(c.meeting_id == meeting_id, c.key == key))
                        .values(value=value)
                    )
                else:
                    await conn.execute(
                        insert(schema.tags).values(meeting_id=meeting_id, key=key, value=value)
                    )
                    current.add(key)
        return True

    async def remove_tags(self, meeting_id: str, keys: Sequence[str]) -> None:
        c = schema.tags.c
        async with self._write() as conn:
            await conn.execute(
                delete(schema.tags).where(and_(c.meeting_id == meeting_id, c.key.in_(list(keys))))
            )

    # -- transcription state --------------------------------------------------------------------

    async def get_transcription(self, meeting_id: str) -> TranscriptionState | None:
        async with self._read() as conn:
            row = (
                await conn.execute(
                    select(schema.transcriptions).where(schema.transcriptions.c.meeting_id == meeting_id)
                )
            ).first()
        return _transcription(row) if row else None

    async def count_active_transcriptions(self, account_id: str) -> int:
        t, m = schema.transcriptions.c, schema.meetings.c
        async with self._read() as conn:
            count = await conn.scalar(
                select(func.count())
                .select_from(schema.transcriptions.join(schema.meetings, t.meeting_id == m.meeting_id))
                .where(and_(m.account_id == account_id, t.status == "started"))
            )
        return int(count or 0)

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
        c = schema.transcriptions.c
        async with self._write() as conn:
            result = await conn.execute(
                update(schema.transcriptions).where(c.meeting_id == state.meeting_id).values(**values)
            )
            if not result.rowcount:
                await conn.execute(insert(schema.transcriptions).values(**values))


def _pg_upsert_account(account_id: str) -> Any:
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    return pg_insert(schema.accounts).values(account_id=account_id).on_conflict_do_nothing()
