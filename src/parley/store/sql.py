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

from parley.store.meetings import MeetingTables
from parley.store.presence import PresenceTable
from parley.store.rooms import RoomTable
from parley.store.rows import Conflict, LimitReached, normalize_database_url
from parley.store.transcription import TranscriptionTable
from parley.store.transcripts import TranscriptTables
from parley.store.vocabularies import VocabularyTables

__all__ = ["Conflict", "LimitReached", "Store", "normalize_database_url"]


class Store(MeetingTables, TranscriptionTable, PresenceTable, RoomTable, TranscriptTables, VocabularyTables):
    """Access to parley's tables: one module per aggregate (meetings.py, transcription.py, presence.py,
    rooms.py, transcripts.py, vocabularies.py) over one database connection (database.py). Construct, ``await open()``,
    and ``await close()``."""
