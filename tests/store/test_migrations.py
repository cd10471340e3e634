"""The migrations build exactly the tables ``store/schema.py`` describes, on both backends."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from parley.store import Store, schema
from parley.store.sql import normalize_database_url


def _diff(conn: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(conn), schema.metadata))


async def test_migrations_match_the_schema(store_url: str) -> None:
    store = Store(store_url)
    await store.open()  # runs every migration
    await store.close()
    url = normalize_database_url(store_url)
    if store.is_sqlite:
        engine = create_engine(url)
        with engine.connect() as conn:
            diff = _diff(conn)
        engine.dispose()
    else:
        async_engine = create_async_engine(url)
        async with async_engine.connect() as aconn:
            diff = await aconn.run_sync(_diff)
        await async_engine.dispose()
    # A schema change without its migration (or the reverse) shows up here.
    assert diff == []
