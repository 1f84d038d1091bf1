"""Shared fixtures: databases (SQLite and PostgreSQL) and flows."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import open_database
from bot.settings import Settings
from handlers.flows.loader import LoadedFlow, load_flows

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_FLOWS = ROOT / "flows"
POSTGRES_SERVER = os.environ.get(
    "IDEABOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# CI sets this, so a PostgreSQL that is down fails the run instead of skipping its tests.
REQUIRE_POSTGRES = os.environ.get("IDEABOT_REQUIRE_POSTGRES") == "1"

# The shared helpers assert too; rewritten like the test modules, a failure shows its values.
pytest.register_assert_rewrite("tests.helpers")


@pytest.fixture
def shipped_flows() -> list[LoadedFlow]:
    return load_flows(SHIPPED_FLOWS)


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    name = f"ideabot_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(POSTGRES_SERVER, timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required but not reachable at {POSTGRES_SERVER}: {error}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_SERVER}: {error}")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base = POSTGRES_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'ideabot.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a migrated, empty database of each kind."""
    async with open_database(Settings(_env_file=None, database_url=database_url)) as opened:
        yield opened


@pytest.fixture
async def sqlite_sessions(sqlite_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a migrated, empty SQLite database."""
    async with open_database(Settings(_env_file=None, database_url=sqlite_url)) as opened:
        yield opened
