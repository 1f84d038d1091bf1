"""Ideas stored straight in the database, for searches and exports."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from storage.tables import ConversationRow, CustomerRow, IdeaRow
from storage.types import utc_now

Sessions = async_sessionmaker[AsyncSession]


async def seed_ideas(sessions: Sessions, titles: list[str], *, description: str = "") -> None:
    """One customer with one conversation and an idea per title, numbered in order."""
    now = utc_now()
    async with sessions() as session, session.begin():
        customer_id = (
            await session.execute(
                insert(CustomerRow)
                .values(
                    platform="telegram",
                    platform_user_id="7",
                    chat_id="7",
                    display_name="Kari",
                    language="en",
                    created_at=now,
                    updated_at=now,
                )
                .returning(col(CustomerRow.id))
            )
        ).scalar_one()
        conversation_id = (
            await session.execute(
                insert(ConversationRow)
                .values(
                    customer_id=customer_id,
                    platform="telegram",
                    chat_id="7",
                    flow_id="idea",
                    flow_version=1,
                    step="end",
                    status="finished",
                    state={},
                    created_at=now,
                    updated_at=now,
                )
                .returning(col(ConversationRow.id))
            )
        ).scalar_one()
        for title in titles:
            await session.execute(
                insert(IdeaRow).values(
                    customer_id=customer_id,
                    conversation_id=conversation_id,
                    title=title,
                    description=description,
                    answers={"idea": title},
                    attachments=[],
                    language="en",
                    created_at=now,
                    updated_at=now,
                )
            )
