"""Searching ideas takes the words literally: LIKE's wildcards in them match only themselves."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.slack.commands import Search, parse_ideas_command
from handlers.ideas.status import StatusLabels
from storage.idea_queries import IdeaCatalog, IdeaFilter, export_ideas
from storage.tables import ConversationRow, CustomerRow, IdeaRow
from storage.types import utc_now

Sessions = async_sessionmaker[AsyncSession]

TITLES = [
    "Dark mode for the app",
    "A 50% discount for schools",
    "Rename snake_case fields",
    r"Paths like C:\temp in exports",
    "Plain idea without wildcards",
]


async def seed_ideas(sessions: Sessions, titles: list[str], *, description: str = "") -> None:
    """One customer with one conversation and an idea per title, numbered in order."""
    now = utc_now()
    async with sessions() as session, session.begin():
        customer_id = (
            await session.execute(
                insert(CustomerRow).values(
                    platform="telegram",
                    platform_user_id="7",
                    chat_id="7",
                    display_name="Kari",
                    language="en",
                    created_at=now,
                    updated_at=now,
                )
            )
        ).inserted_primary_key[0]
        conversation_id = (
            await session.execute(
                insert(ConversationRow).values(
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
            )
        ).inserted_primary_key[0]
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


async def titles_for(sessions: Sessions, text: str) -> list[str]:
    return [idea["title"] for idea in await export_ideas(sessions, where=IdeaFilter(text=text))]


async def test_wildcards_in_a_search_match_only_themselves(sessions: Sessions) -> None:
    await seed_ideas(sessions, TITLES)
    assert await titles_for(sessions, "%") == ["A 50% discount for schools"]
    assert await titles_for(sessions, "_") == ["Rename snake_case fields"]
    assert await titles_for(sessions, "\\") == [r"Paths like C:\temp in exports"]
    assert await titles_for(sessions, "50%") == ["A 50% discount for schools"]
    assert await titles_for(sessions, "5_%") == []
    assert await titles_for(sessions, "%%") == []
    # Ordinary searches still find words anywhere, in any case.
    assert await titles_for(sessions, "DARK") == ["Dark mode for the app"]
    assert await titles_for(sessions, "e_c") == ["Rename snake_case fields"]


async def test_the_ideas_command_searches_literally(sessions: Sessions) -> None:
    await seed_ideas(sessions, TITLES)
    command = parse_ideas_command("search %", StatusLabels.default())
    assert isinstance(command, Search)
    found = await IdeaCatalog(sessions).find(IdeaFilter(text=command.text))
    assert [idea["title"] for idea in found] == ["A 50% discount for schools"]
