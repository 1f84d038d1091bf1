"""Searching ideas takes the words literally: LIKE's wildcards in them match only themselves."""

from __future__ import annotations

from bot.slack.commands import Search, parse_ideas_command
from handlers.ideas.status import StatusLabels
from storage.idea_queries import IdeaCatalog, IdeaFilter, export_ideas
from tests.helpers.ideas import Sessions, seed_ideas

TITLES = [
    "Dark mode for the app",
    "A 50% discount for schools",
    "Rename snake_case fields",
    r"Paths like C:\temp in exports",
    "Plain idea without wildcards",
]


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
