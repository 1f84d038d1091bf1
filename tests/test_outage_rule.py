"""`is_database_outage` tells a database that is away from a statement or data at fault."""

from __future__ import annotations

import socket
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import create_engine, is_database_outage
from tests.conftest import POSTGRES_SERVER
from tests.waiting import eventually


async def _error_of(engine: AsyncEngine, statement: str, **values: object) -> BaseException:
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE IF NOT EXISTS probe (id INT PRIMARY KEY)"))
            await connection.execute(text(statement), values)
    except Exception as error:
        return error
    raise AssertionError(f"{statement!r} did not fail")


Case = Callable[[AsyncEngine], Awaitable[BaseException]]
DATA_ERRORS: dict[str, Case] = {
    "duplicate key": lambda engine: _error_of(engine, "INSERT INTO probe (id) VALUES (1), (1)"),
    "syntax": lambda engine: _error_of(engine, "SELEC 1"),
    "missing table": lambda engine: _error_of(engine, "SELECT * FROM no_such_table"),
}


@pytest.mark.parametrize("case", sorted(DATA_ERRORS))
async def test_errors_of_the_statement_or_data_are_not_outages(
    database_url: str, case: str
) -> None:
    engine = create_engine(database_url)
    try:
        error = await DATA_ERRORS[case](engine)
    finally:
        await engine.dispose()
    assert not is_database_outage(error), repr(error)


@pytest.mark.postgres
@pytest.mark.parametrize("value", ["a NUL \x00 in text", '{"nul": "\\u0000"}'])
async def test_nul_on_postgresql_is_a_data_error(postgres_url: str, value: str) -> None:
    engine = create_engine(postgres_url)
    try:
        cast = "jsonb" if value.startswith("{") else "text"
        error = await _error_of(engine, f"SELECT CAST(:value AS {cast})", value=value)
    finally:
        await engine.dispose()
    assert not is_database_outage(error), repr(error)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: nothing listens there


@pytest.mark.parametrize("kind", ["postgres", "sqlite"])
async def test_an_unreachable_database_is_an_outage(kind: str, tmp_path: Path) -> None:
    if kind == "postgres":
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/ideabot"
    else:
        # A directory where the database file should be: SQLite cannot open it.
        (tmp_path / "ideabot.db").mkdir()
        url = f"sqlite+aiosqlite:///{tmp_path / 'ideabot.db'}"
    threads = threading.active_count()
    engine = create_engine(url)
    try:
        error = await _error_of(engine, "SELECT 1")
    finally:
        await engine.dispose()
    assert is_database_outage(error), repr(error)

    async def driver_thread_ended() -> bool:
        # aiosqlite stops its thread after a failed connect, answering on this event loop.
        return threading.active_count() <= threads

    await eventually(driver_thread_ended, what="the database driver's thread ending")


@pytest.mark.postgres
async def test_a_database_refusing_connections_is_an_outage(postgres_url: str) -> None:
    name = postgres_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(POSTGRES_SERVER)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        engine = create_engine(postgres_url)
        try:
            error = await _error_of(engine, "SELECT 1")
        finally:
            await engine.dispose()
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()
    assert is_database_outage(error), repr(error)
