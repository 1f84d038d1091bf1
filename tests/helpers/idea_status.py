"""Followers linked to an idea, and the ideabot command run against a bot's database."""

from __future__ import annotations

import asyncio
import os
import sys

from sqlalchemy import insert

from storage.database import create_engine, create_sessions
from storage.tables import CustomerRow, IdeaFollowerRow, table_of
from storage.types import utc_now


async def link_followers(database_url: str, idea_id: int, customers: list[dict[str, str]]) -> None:
    """Customers who said "me too" to the idea (the similar-idea question will make these)."""
    engine = create_engine(database_url)
    try:
        async with create_sessions(engine)() as session, session.begin():
            for customer in customers:
                now = utc_now()
                inserted = await session.execute(
                    insert(table_of(CustomerRow))
                    .values(
                        unreachable=False,
                        unreachable_reason="",
                        wants_updates=True,
                        created_at=now,
                        updated_at=now,
                        **customer,
                    )
                    .returning(table_of(CustomerRow).c.id)
                )
                await session.execute(
                    insert(table_of(IdeaFollowerRow)).values(
                        idea_id=idea_id,
                        customer_id=inserted.scalar_one(),
                        kind="vote",
                        created_at=now,
                    )
                )
    finally:
        await engine.dispose()


async def ideabot_cli(database_url: str, *arguments: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *arguments,
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output, errors = await process.communicate()
    assert process.returncode == 0, (output + errors).decode()
    return output.decode()
