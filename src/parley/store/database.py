"""The database under the store: SQLite on a writer thread and reader pool, or PostgreSQL through asyncpg (see
store/sql.py for the design); every table module reads and writes through ``_read``/``_write`` here."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Self

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from parley.store.rows import (
    T,
    normalize_database_url,
)

#: PostgreSQL ends a session that sits inside a transaction this long without sending anything. parley's
#: transactions are a few statements with no waiting between them, so only a node that stopped mid-transaction
#: (SIGSTOP, a paused VM, a process wedged) ever reaches it; without it such a node keeps its row locks until its
#: TCP connection dies, and every other node's write of those rows (a room lease claim: the meeting could never
#: move) waits with it. The server never notices a stopped client by itself.
IDLE_TRANSACTION_TIMEOUT_S = 5.0


class Database:
    """The connection to the database (engines, thread pools, migrations) that every table module builds on.

    Construct, ``await open()``, and ``await close()``; the table modules add their calls as mixins of ``Store``.
    """

    def __init__(
        self,
        url: str,
        *,
        sqlite_synchronous: str = "NORMAL",
        on_statement: Callable[[float], None] | None = None,
        idle_transaction_timeout_s: float = IDLE_TRANSACTION_TIMEOUT_S,
    ) -> None:
        """``on_statement(seconds)`` is called after every SQL statement (the metrics hook)."""
        self.url = normalize_database_url(url)
        self._idle_transaction_timeout_ms = max(1, int(idle_transaction_timeout_s * 1000))
        self._on_statement = on_statement
        self.is_sqlite = make_url(self.url).get_backend_name() == "sqlite"
        self._sqlite_synchronous = sqlite_synchronous.upper()
        self._sync_engine: Engine | None = None
        self._async_engine: AsyncEngine | None = None
        self._reader: ThreadPoolExecutor | None = None
        self._writer: ThreadPoolExecutor | None = None

    @classmethod
    def for_data_dir(cls, data_dir: Path, database_url: str | None = None, **kwargs: Any) -> Self:
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
                self.url,
                pool_size=10,
                max_overflow=10,
                pool_pre_ping=True,
                connect_args={
                    "server_settings": {
                        "idle_in_transaction_session_timeout": str(self._idle_transaction_timeout_ms)
                    }
                },
            )
            self._time_statements(self._async_engine.sync_engine)
            async with self._async_engine.connect() as conn:
                # A migration may work between statements on a large database: the idle limit is for stopped
                # nodes, not for it (LOCAL: the pooled session keeps the limit afterwards).
                await conn.execute(text("SET LOCAL idle_in_transaction_session_timeout = 0"))
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
