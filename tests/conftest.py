"""Shared fixtures: databases (SQLite and PostgreSQL) and flows."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

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


# What every test and its bots ask by, unless the test (or whoever runs pytest) names its own:
# SIMILAR_IDEAS_METHOD=auto loads the in-process model, which only some tests need and which
# makes every bot process start slower; and the tests' short texts were written for the
# lexical rule that asks from 0.30, not the chat set's cautious defaults.
TEST_SIMILARITY = {
    "SIMILAR_IDEAS_METHOD": "lexical",
    "SIMILAR_IDEA_THRESHOLD": "0.30",
    "SIMILAR_IDEA_MARGIN": "0.0",
    "SIMILAR_IDEA_CALIBRATION_FLOOR": "0.30",
}


@pytest.fixture(scope="session", autouse=True)
def similarity_settings_of_tests() -> Iterator[None]:
    """The tests' similarity settings in the environment, for the tests and their processes."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in TEST_SIMILARITY.items():
            patch.setenv(name, os.environ.get(name, value))
        yield


@pytest.fixture
def shipped_flows() -> list[LoadedFlow]:
    return load_flows(SHIPPED_FLOWS)


async def _admin_connection() -> asyncpg.Connection:
    """A connection to the server's own database; skips (or fails in CI) when none answers."""
    try:
        return await asyncpg.connect(POSTGRES_SERVER, timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required but not reachable at {POSTGRES_SERVER}: {error}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_SERVER}: {error}")


def _database_url(name: str) -> str:
    base = POSTGRES_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


async def _migrate(database_url: str) -> None:
    async with open_database(Settings(_env_file=None, database_url=database_url)):
        pass


def _run_aside(work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``work`` to the end on its own loop, in a thread: the test's loop may be running."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, work()).result()


@pytest.fixture(scope="session")
def migrated_postgres_template() -> Iterator[str]:
    """A PostgreSQL database migrated once per test run, to copy instead of migrating per test."""
    # Each pytest-xdist worker has its own, and loops of tests never touch it.
    name = f"ideabot_template_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        admin = await _admin_connection()
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        await _migrate(_database_url(name))

    async def drop() -> None:
        admin = await asyncpg.connect(POSTGRES_SERVER, timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    _run_aside(create)
    yield name
    _run_aside(drop)


@pytest.fixture
async def postgres_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards.

    For a test that takes ``sessions`` it is a copy of the migrated template: the same schema
    the migrations give, without running them again for every test.
    """
    template = ""
    if "sessions" in request.fixturenames:
        template = f' TEMPLATE "{request.getfixturevalue("migrated_postgres_template")}"'
    name = f"ideabot_test_{uuid.uuid4().hex[:12]}"
    admin = await _admin_connection()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"{template}')
        yield _database_url(name)
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


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per test run, copied by each test that wants a schema."""
    path = tmp_path_factory.mktemp("template") / "ideabot.db"
    _run_aside(lambda: _migrate(f"sqlite+aiosqlite:///{path}"))
    return path


def _sqlite_copy(database_url: str, template: Path) -> None:
    # A copy is a few milliseconds; running the migrations is about a tenth of a second of CPU.
    path = Path(database_url.split("///", 1)[1])
    if not path.exists():
        shutil.copyfile(template, path)


@pytest.fixture
async def sessions(
    database_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a migrated, empty database of each kind."""
    if database_url.startswith("sqlite"):
        _sqlite_copy(database_url, request.getfixturevalue("migrated_sqlite_template"))
    # Opening still migrates: a no-op at the newest schema, and a check that the copy is there.
    async with open_database(Settings(_env_file=None, database_url=database_url)) as opened:
        yield opened


@pytest.fixture
async def sqlite_sessions(
    sqlite_url: str, migrated_sqlite_template: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a migrated, empty SQLite database."""
    _sqlite_copy(sqlite_url, migrated_sqlite_template)
    async with open_database(Settings(_env_file=None, database_url=sqlite_url)) as opened:
        yield opened
