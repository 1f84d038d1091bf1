"""Two imports of one backlog at once (two processes on one database): each idea is stored once."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.idea_import import ImportedIdea, import_ideas
from storage.idea_queries import export_ideas


async def test_two_imports_at_once_store_each_idea_once_and_both_finish(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ideas = [ImportedIdea(f"s-{n}", f"Idea {n}", "", "new", n, None) for n in range(50)]
    first, second = await asyncio.gather(
        import_ideas(sessions, ideas), import_ideas(sessions, ideas)
    )
    assert sorted([first.imported, second.imported]) == [0, 50]
    assert first.already_there + second.already_there == 50
    assert len(await export_ideas(sessions)) == 50
