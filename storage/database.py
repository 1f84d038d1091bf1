"""Creates the async engine and sessions for SQLite (embedded) or PostgreSQL (scale)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    NotSupportedError,
    ProgrammingError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 30_000
_SQLITE_PASSING_ERRORS = ("locked", "busy", "unable to open", "disk i/o", "disk is full")
# SQLSTATE classes (and codes) of errors about reaching the database, not about what was
# sent: 08 connection exception, 28 authorization, 3D database missing, 53 insufficient
# resources, 55 not in the state to accept connections (ALLOW_CONNECTIONS false) or a lock
# timeout, 57 operator intervention (shutdown, cannot connect now, cancelled), 58 system
# (I/O) error, 40001/40P01 serialization failure and deadlock. Everything else (22 data
# exception such as a NUL in text, 23 constraint, 42 statement) is the data's fault.
_PASSING_SQLSTATES = ("08", "28", "3D", "53", "55", "57", "58", "40001", "40P01")


# The scheme people copy from hosting providers and docs, and the async driver ideabot uses.
_ASYNC_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


def with_async_driver(database_url: str) -> str:
    """``postgres://``, ``postgresql://`` and ``sqlite://`` with the async driver ideabot uses."""
    scheme, separator, rest = database_url.partition("://")
    driver = _ASYNC_DRIVERS.get(scheme.lower())
    return f"{driver}{separator}{rest}" if separator and driver else database_url


def sqlite_file(database_url: str) -> Path | None:
    """The SQLite file ``database_url`` names, or None (PostgreSQL, or SQLite in memory)."""
    url = make_url(with_async_driver(database_url))
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).expanduser()


def create_engine(
    database_url: str, *, echo: bool = False, reads_only: bool = False
) -> AsyncEngine:
    """An engine for ``database_url``; SQLite gets WAL, a busy timeout and write transactions.

    With ``reads_only``, SQLite transactions are reads (no write lock; writing fails).
    """
    url = make_url(with_async_driver(database_url))
    if url.get_backend_name() != "sqlite":
        # hide_parameters: error messages would otherwise carry customers' words into logs.
        return create_async_engine(url, echo=echo, pool_pre_ping=True, hide_parameters=True)
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    # SQLite has one writer at a time. One connection per process makes transactions queue
    # in asyncio (FIFO, no cost) instead of in SQLite's busy handler, which sleeps in
    # steps of milliseconds. Other processes on the same file still wait on busy_timeout.
    engine = create_async_engine(
        url,
        echo=echo,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        pool_size=1,
        max_overflow=0,
        pool_timeout=120,
        hide_parameters=True,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if reads_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        # Take the write lock at the start, so two turns never both read and then fail to write.
        # A reader takes none: in WAL mode it reads beside the writer, waiting for nobody.
        connection.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")

    return engine


@asynccontextmanager
async def reading_sessions(
    database_url: str, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions for reads that must not wait for this process's writes, nor hold them up.

    A SQLite file gets a second connection of its own that only reads, so a read in the
    middle of a transaction of the one writing connection needs no second turn of it.
    PostgreSQL (a pool) and SQLite in memory (one database per connection) keep ``sessions``.
    """
    if sqlite_file(database_url) is None:
        yield sessions
        return
    engine = create_engine(database_url, reads_only=True)
    try:
        yield create_sessions(engine)
    finally:
        await engine.dispose()


def create_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """A session factory whose objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def is_database_outage(error: BaseException) -> bool:
    """True for errors that say the database is unreachable, not that a statement was wrong."""
    sqlstate = _sqlstate(error)
    if sqlstate is not None:
        # PostgreSQL says exactly what went wrong: only these classes pass by themselves.
        return sqlstate.startswith(_PASSING_SQLSTATES)
    if isinstance(error, IntegrityError | DataError | ProgrammingError | NotSupportedError):
        return False  # the statement or its data is at fault: retrying will not help
    if isinstance(error, DBAPIError) and isinstance(error.orig, sqlite3.OperationalError):
        # sqlite3 files syntax errors under OperationalError too; only these are passing.
        message = str(error.orig).lower()
        return any(sign in message for sign in _SQLITE_PASSING_ERRORS)
    return isinstance(error, DBAPIError | PoolTimeoutError | OSError | TimeoutError)


def _sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE PostgreSQL gave for ``error``, looked for through SQLAlchemy's wrapping."""
    seen: BaseException | None = error
    for _ in range(4):
        if seen is None:
            return None
        code = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if isinstance(code, str) and len(code) == 5:
            return code
        orig = getattr(seen, "orig", None)
        seen = orig if isinstance(orig, BaseException) else seen.__cause__
    return None
