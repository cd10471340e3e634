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


def test_upgrading_keeps_transcripts_stored_before_they_outlived_meetings(tmp_path: Any) -> None:
    """0006: results stored under 0005 get a transcript each (an ended one where the meeting is gone)."""
    from alembic import command
    from sqlalchemy import text

    from parley.store.migrate import alembic_config

    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0005")
        conn.execute(
            text(
                "INSERT INTO meetings (meeting_id, account_id, region, media_region, created_at,"
                " external_meeting_id) VALUES ('live', '111111111111', 'us-east-1', 'us-east-1', 1.0, 'ext')"
            )
        )
        for n, (meeting_id, expires) in enumerate((("live", None), ("live", None), ("deleted", 99.0))):
            conn.execute(
                text(
                    "INSERT INTO transcript_results (meeting_id, result_id, account_id, attendee_id,"
                    " start_time_ms, end_time_ms, meeting_started_ms, result, expires_at)"
                    " VALUES (:m, :r, '111111111111', 'a', 0, 1, 1000, '{}', :e)"
                ),
                {"m": meeting_id, "r": f"r{n}", "e": expires},
            )
        command.upgrade(alembic_config(conn), "head")
        rows = {
            r.meeting_id: r
            for r in conn.execute(
                text(
                    "SELECT meeting_id, external_meeting_id, meeting_started_ms, ended_at, expires_at FROM transcripts"
                )
            )
        }
        assert set(rows) == {"live", "deleted"}
        assert (rows["live"].external_meeting_id, rows["live"].ended_at) == ("ext", None)
        assert rows["live"].meeting_started_ms == 1000
        assert rows["deleted"].ended_at is not None
        assert rows["deleted"].expires_at == 99.0
        assert conn.execute(text("SELECT COUNT(*) FROM transcript_results")).scalar() == 3
        command.downgrade(alembic_config(conn), "0005")
        assert (
            conn.execute(
                text("SELECT expires_at FROM transcript_results WHERE meeting_id='deleted'")
            ).scalar()
            == 99.0
        )
    engine.dispose()
