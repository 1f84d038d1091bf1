"""Opening the database for a command or a process: migrate, then hand out sessions."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from storage.database import create_engine, create_sessions
from storage.migrate import migrate

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.settings import Settings


@contextlib.asynccontextmanager
async def open_database(
    settings: Settings, *, wait: bool = False
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Migrate the database and yield its sessions; the engine is closed afterwards.

    With ``wait``, a database that cannot be reached yet is tried again with backoff.
    """
    engine = create_engine(settings.database_url)
    try:
        if wait:
            # Only a serving process waits; the platforms' error types that describing a
            # problem needs cost the one-off commands a second of start-up.
            from bot.problems import database_problem
            from bot.startup import until_reachable

            await until_reachable(
                lambda: migrate(engine),
                describe=lambda error: database_problem(error, settings.database_url),
            )
        else:
            await migrate(engine)
        yield create_sessions(engine)
    finally:
        await engine.dispose()
