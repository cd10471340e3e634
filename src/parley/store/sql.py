"""The SQL store: SQLite (default, in the data dir) or PostgreSQL, through SQLAlchemy 2.

Every store call is one synchronous function over a SQLAlchemy ``Connection``, run in one hop: for SQLite on
a small thread pool (one dedicated writer thread, so writes are serialized without locks and each call costs
one thread hop rather than one per statement, as aiosqlite would), for PostgreSQL through asyncpg with
``AsyncConnection.run_sync``. Write transactions that check a limit before inserting (active meetings per
account, attendees per meeting) are atomic: PostgreSQL takes a row lock on the account or meeting; SQLite has
the single writer and ``BEGIN IMMEDIATE``. SQLite runs in WAL mode with ``synchronous=NORMAL``: a committed
write survives a process crash or ``kill -9`` (``--sqlite-synchronous FULL`` also survives power loss, at the
cost of an fsync per commit).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import and_, bindparam, create_engine, delete, event, func, insert, or_, select, text, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from parley.store import schema
from parley.store.records import Attendee, Meeting, TranscriptionState, TranscriptRecord, VocabularyRecord

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


def _meeting(row: Any) -> Meeting:
    return Meeting(**{name: getattr(row, name) for name in _MEETING_COLUMNS})


def _attendee(row: Any) -> Attendee:
    return Attendee(**{name: getattr(row, name) for name in _ATTENDEE_COLUMNS})


def _transcription(row: Any) -> TranscriptionState:
    values = {name: getattr(row, name) for name in _TRANSCRIPTION_COLUMNS}
    values["extra"] = values["extra"] or {}
    return TranscriptionState(**values)


def _meeting_values(m: Meeting) -> dict[str, Any]:
    return {name: getattr(m, name) for name in _MEETING_COLUMNS}


def _attendee_values(a: Attendee) -> dict[str, Any]:
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


def _transcript_values(meeting: Meeting) -> dict[str, Any]:
    return {
        "meeting_id": meeting.meeting_id,
        "account_id": meeting.account_id,
        "external_meeting_id": meeting.external_meeting_id,
        "meeting_started_ms": int(meeting.created_at * 1000),
    }


def _delete_transcript(conn: Connection, meeting_id: str) -> None:
    conn.execute(delete(schema.transcript_results).where(TX.meeting_id == meeting_id))
    conn.execute(delete(schema.transcripts).where(TS.meeting_id == meeting_id))


class Store:
    """Access to parley's tables. Construct, ``await open()``, and ``await close()``."""

    def __init__(
        self,
        url: str,
        *,
        sqlite_synchronous: str = "NORMAL",
        on_statement: Callable[[float], None] | None = None,
    ) -> None:
        """``on_statement(seconds)`` is called after every SQL statement (the metrics hook)."""
        self.url = normalize_database_url(url)
        self._on_statement = on_statement
        self.is_sqlite = make_url(self.url).get_backend_name() == "sqlite"
        self._sqlite_synchronous = sqlite_synchronous.upper()
        self._sync_engine: Engine | None = None
        self._async_engine: AsyncEngine | None = None
        self._reader: ThreadPoolExecutor | None = None
        self._writer: ThreadPoolExecutor | None = None

    @classmethod
    def for_data_dir(cls, data_dir: Path, database_url: str | None = None, **kwargs: Any) -> Store:
        if database_url:
            return cls(database_url, **kwargs)
        return cls(f"sqlite:///{(data_dir / 'parley.db').resolve()}", **kwargs)

    async def open(self) -> None:
        from parley.store.migrate import upgrade

        if self.is_sqlite:
            engine = create_engine(self.url, pool_size=4, max_overflow=0)
            synchronous = self._sqlite_synchronous

            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                # Autocommit at the driver level; SQLAlchemy emits BEGIN itself (see 'begin' below).
                dbapi_conn.isolation_level = None
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute(f"PRAGMA synchronous={synchronous}")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA busy_timeout=10000")
                cur.close()

            @event.listens_for(engine, "begin")
            def _begin(conn: Any) -> None:
                conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")

            self._sync_engine = engine
            self._time_statements(engine)
            self._reader = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sqlite-read")
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-write")
            await self._write(upgrade)
        else:
            self._async_engine = create_async_engine(
                self.url, pool_size=10, max_overflow=10, pool_pre_ping=True
            )
            self._time_statements(self._async_engine.sync_engine)
            async with self._async_engine.connect() as conn:
                await conn.run_sync(upgrade)
                await conn.commit()

    def _time_statements(self, engine: Engine) -> None:
        hook = self._on_statement
        if hook is None:
            return

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn: Any, _cursor: Any, _stmt: Any, _params: Any, _context: Any, _many: Any) -> None:
            conn.info["parley_t0"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn: Any, _cursor: Any, _stmt: Any, _params: Any, _context: Any, _many: Any) -> None:
            started = conn.info.pop("parley_t0", None)
            if started is not None:
                hook(time.perf_counter() - started)

    async def ping(self) -> None:
        """One round trip to the database (readiness); raises whatever the driver raises."""
        await self._read(lambda conn: conn.execute(text("SELECT 1")).scalar())

    async def close(self) -> None:
        if self._async_engine is not None:
            await self._async_engine.dispose()
            self._async_engine = None
        if self._sync_engine is not None:
            for pool in (self._reader, self._writer):
                if pool is not None:
                    pool.shutdown(wait=True)
            self._sync_engine.dispose()
            self._sync_engine = None

    def _run_sqlite(self, fn: Callable[[Connection], T], write: bool) -> T:
        assert self._sync_engine is not None, "Store is not open"
        with self._sync_engine.connect() as conn:
            if write:
                conn.info["write"] = True
            try:
                with conn.begin():
                    return fn(conn)
            finally:
                conn.info.pop("write", None)

    async def _read(self, fn: Callable[[Connection], T]) -> T:
        if self.is_sqlite:
            return await asyncio.get_running_loop().run_in_executor(self._reader, self._run_sqlite, fn, False)
        if self._async_engine is None:
            raise RuntimeError("Store is not open")
        async with self._async_engine.connect() as conn:
            return await conn.run_sync(fn)

    async def _write(self, fn: Callable[[Connection], T]) -> T:
        if self.is_sqlite:
            return await asyncio.get_running_loop().run_in_executor(self._writer, self._run_sqlite, fn, True)
        if self._async_engine is None:
            raise RuntimeError("Store is not open")
        async with self._async_engine.begin() as conn:
            return await conn.run_sync(fn)

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
                conn.execute(_pg_upsert_account(meeting.account_id))
                conn.execute(
                    select(schema.accounts.c.account_id)
                    .where(schema.accounts.c.account_id == meeting.account_id)
                    .with_for_update()
                )
            active = conn.execute(Q_COUNT_ACTIVE_MEETINGS, {"acct": meeting.account_id}).scalar() or 0
            if active >= max_active:
                raise LimitReached(f"The account has reached its limit of {max_active} active meetings")
            conn.execute(insert(schema.meetings).values(**_meeting_values(meeting)))
            if attendees:
                conn.execute(insert(schema.attendees), [_attendee_values(a) for a in attendees])
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
            return _meeting(row) if row else None

        return await self._read(op)

    async def get_meeting_any_account(self, meeting_id: str) -> Meeting | None:
        def op(conn: Connection) -> Meeting | None:
            row = conn.execute(Q_MEETING_ANY, {"mid": meeting_id}).first()
            return _meeting(row) if row else None

        return await self._read(op)

    async def find_meeting_by_token(self, account_id: str, token: str) -> Meeting | None:
        def op(conn: Connection) -> Meeting | None:
            q = select(schema.meetings).where(M.account_id == account_id, M.client_request_token == token)
            row = conn.execute(q).first()
            return _meeting(row) if row else None

        return await self._read(op)

    async def list_meetings(self, account_id: str) -> list[Meeting]:
        def op(conn: Connection) -> list[Meeting]:
            q = select(schema.meetings).where(M.account_id == account_id).order_by(M.created_at)
            return [_meeting(r) for r in conn.execute(q)]

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
                _delete_transcript(conn, meeting_id)
                return nodes
            ended = {"ended_at": time.time(), "expires_at": transcript_expires_at}
            done = conn.execute(update(schema.transcripts).where(TS.meeting_id == meeting_id).values(**ended))
            if not done.rowcount and transcribed:
                conn.execute(
                    insert(schema.transcripts).values(**_transcript_values(_meeting(meeting)), **ended)
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
                row.external_user_key: _attendee(row)
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
                new_rows.append(_attendee_values(candidate))
                out.append(candidate)
            if new_rows:
                conn.execute(insert(schema.attendees), new_rows)
            return out

        return await self._write(op)

    async def get_attendee(self, meeting_id: str, attendee_id: str) -> Attendee | None:
        def op(conn: Connection) -> Attendee | None:
            row = conn.execute(Q_ATTENDEE, {"mid": meeting_id, "aid": attendee_id}).first()
            return _attendee(row) if row else None

        return await self._read(op)

    async def get_attendee_by_token(self, join_token: str) -> Attendee | None:
        def op(conn: Connection) -> Attendee | None:
            row = conn.execute(Q_ATTENDEE_BY_TOKEN, {"token": join_token}).first()
            return _attendee(row) if row else None

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
            return [_attendee(r) for r in conn.execute(q)]

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

    # -- transcription state --------------------------------------------------------------------

    async def get_transcription(self, meeting_id: str) -> TranscriptionState | None:
        def op(conn: Connection) -> TranscriptionState | None:
            row = conn.execute(Q_TRANSCRIPTION, {"mid": meeting_id}).first()
            return _transcription(row) if row else None

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

    async def meetings_to_end(
        self, *, idle_before: float, created_before: float, fresh_after: float
    ) -> list[Meeting]:
        """Meetings past their maximum age, or with no live connection and no presence since ``idle_before``."""

        def op(conn: Connection) -> list[Meeting]:
            live = select(C.meeting_id).where(C.heartbeat_at >= fresh_after)
            idle = and_(M.meeting_id.not_in(live), func.coalesce(M.last_seen_at, M.created_at) < idle_before)
            return [
                _meeting(r)
                for r in conn.execute(select(schema.meetings).where(or_(M.created_at < created_before, idle)))
            ]

        return await self._read(op)

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
                conn.execute(insert(schema.transcripts).values(**_transcript_values(_meeting(meeting))))
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
            _delete_transcript(conn, meeting_id)
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
                _delete_transcript(conn, meeting_id)
            return len(expired)

        return await self._write(op)

    # -- Transcribe vocabularies and vocabulary filters -------------------------------------------------

    @staticmethod
    def _vocabulary_table(kind: str) -> Any:
        return {
            "vocabulary": schema.vocabularies,
            "medical": schema.medical_vocabularies,
            "filter": schema.vocabulary_filters,
        }[kind]

    @staticmethod
    def _vocabulary(kind: str, row: Any) -> VocabularyRecord:
        return VocabularyRecord(
            kind=kind,
            account_id=row.account_id,
            name=row.name,
            language_code=row.language_code,
            entries=row.entries,
            last_modified=row.last_modified,
            state=getattr(row, "state", "READY"),
            file_uri=row.file_uri,
        )

    async def create_vocabulary(self, record: VocabularyRecord, max_per_account: int) -> None:
        """Insert a vocabulary or filter. Raises ``Conflict`` if the name is taken, ``LimitReached`` at the limit."""
        table = self._vocabulary_table(record.kind)
        postgres = not self.is_sqlite
        values: dict[str, Any] = {
            "account_id": record.account_id,
            "name": record.name,
            "language_code": record.language_code,
            "entries": record.entries,
            "file_uri": record.file_uri,
            "last_modified": record.last_modified,
        }
        if "state" in table.c:
            values["state"] = record.state

        def op(conn: Connection) -> None:
            if postgres:
                conn.execute(_pg_upsert_account(record.account_id))
                conn.execute(
                    select(schema.accounts.c.account_id)
                    .where(schema.accounts.c.account_id == record.account_id)
                    .with_for_update()
                )
            taken = conn.execute(
                select(table.c.name).where(
                    table.c.account_id == record.account_id, table.c.name == record.name
                )
            ).first()
            if taken is not None:
                raise Conflict(record.name)
            count = conn.execute(
                select(func.count()).select_from(table).where(table.c.account_id == record.account_id)
            ).scalar()
            if (count or 0) >= max_per_account:
                raise LimitReached(f"The account has reached its limit of {max_per_account}")
            conn.execute(insert(table).values(**values))

        try:
            await self._write(op)
        except IntegrityError as exc:
            raise Conflict(str(exc.orig)) from None

    async def update_vocabulary(self, record: VocabularyRecord) -> bool:
        """Replace the content of an existing vocabulary or filter; False if there is none of that name."""
        table = self._vocabulary_table(record.kind)
        values: dict[str, Any] = {
            "language_code": record.language_code,
            "entries": record.entries,
            "file_uri": record.file_uri,
            "last_modified": record.last_modified,
        }
        if "state" in table.c:
            values["state"] = record.state

        def op(conn: Connection) -> bool:
            result = conn.execute(
                update(table)
                .where(table.c.account_id == record.account_id, table.c.name == record.name)
                .values(**values)
            )
            return bool(result.rowcount)

        return await self._write(op)

    async def get_vocabularies(
        self, kind: str, account_id: str, names: Sequence[str]
    ) -> list[VocabularyRecord]:
        """The account's vocabularies (or filters) among ``names``; missing names are simply absent."""
        table = self._vocabulary_table(kind)

        def op(conn: Connection) -> list[VocabularyRecord]:
            q = select(table).where(table.c.account_id == account_id, table.c.name.in_(list(names)))
            return [self._vocabulary(kind, r) for r in conn.execute(q)]

        return await self._read(op) if names else []

    async def list_vocabularies(
        self,
        kind: str,
        account_id: str,
        *,
        after: str | None,
        limit: int,
        name_contains: str | None = None,
        state: str | None = None,
    ) -> list[VocabularyRecord]:
        """Up to ``limit`` records ordered by name, starting after the name ``after``."""
        table = self._vocabulary_table(kind)

        def op(conn: Connection) -> list[VocabularyRecord]:
            q = select(table).where(table.c.account_id == account_id)
            if after is not None:
                q = q.where(table.c.name > after)
            if name_contains:
                q = q.where(func.lower(table.c.name).contains(name_contains.lower(), autoescape=True))
            if state is not None and "state" in table.c:
                q = q.where(table.c.state == state)
            q = q.order_by(table.c.name).limit(limit)
            return [self._vocabulary(kind, r) for r in conn.execute(q)]

        return await self._read(op)

    async def delete_vocabulary(self, kind: str, account_id: str, name: str) -> bool:
        table = self._vocabulary_table(kind)

        def op(conn: Connection) -> bool:
            result = conn.execute(delete(table).where(table.c.account_id == account_id, table.c.name == name))
            return bool(result.rowcount)

        return await self._write(op)


def _pg_upsert_account(account_id: str) -> Any:
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    return pg_insert(schema.accounts).values(account_id=account_id).on_conflict_do_nothing()
