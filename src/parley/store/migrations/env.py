"""Alembic environment: parley always hands Alembic an open connection (see store/migrate.py)."""

from __future__ import annotations

from alembic import context

from parley.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("parley runs migrations through parley.store.migrate.upgrade(connection)")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
