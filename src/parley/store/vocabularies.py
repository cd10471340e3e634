"""Transcribe custom vocabularies, medical vocabularies and vocabulary filters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from parley.store import schema
from parley.store.database import Database
from parley.store.records import VocabularyRecord
from parley.store.rows import (
    Conflict,
    LimitReached,
    pg_upsert_account,
)


class VocabularyTables(Database):
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
        values = {"account_id": record.account_id, "name": record.name, **_content(table, record)}

        def op(conn: Connection) -> None:
            if postgres:
                conn.execute(pg_upsert_account(record.account_id))
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
        values = _content(table, record)

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


def _content(table: Any, record: VocabularyRecord) -> dict[str, Any]:
    """The columns a create and an update both write (filters have no ``state``)."""
    values: dict[str, Any] = {
        "language_code": record.language_code,
        "entries": record.entries,
        "file_uri": record.file_uri,
        "last_modified": record.last_modified,
    }
    if "state" in table.c:
        values["state"] = record.state
    return values
