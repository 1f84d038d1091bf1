"""Each start link's figures, counted in SQL on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.flows.links import LinkFigures
from handlers.flows.loader import LoadedFlow
from storage.flows.link_figures import SqlLinkFigures
from storage.types import utc_now
from tests.helpers.dialogue import make_customer
from tests.test_cli_flow_links import another_customer, finish_campaign_flow
from tests.test_flow_links import campaign_flow


async def test_links_count_started_finished_and_ideas_by_flow_version_and_time(
    sessions: async_sessionmaker[AsyncSession], shipped_flows: list[LoadedFlow]
) -> None:
    kari = await make_customer(sessions, [*shipped_flows, campaign_flow()])
    await finish_campaign_flow(kari, "spring_2026-poster")
    await another_customer(kari, 1).say("/start Spring_2026-Poster")
    await another_customer(kari, 2).say("/start spring_2026-receipt")
    await another_customer(kari, 3).say("/start idea")
    await another_customer(kari, 4).say("/start")
    figures = SqlLinkFigures(sessions)
    assert await figures.figures() == [
        LinkFigures("idea", 1, 0, 0),
        LinkFigures("spring_2026-poster", 2, 1, 1),
        LinkFigures("spring_2026-receipt", 1, 0, 0),
    ]
    assert await figures.figures(flow_id="spring_2026", version=1) == [
        LinkFigures("spring_2026-poster", 2, 1, 1),
        LinkFigures("spring_2026-receipt", 1, 0, 0),
    ]
    assert await figures.figures(flow_id="spring_2026", version=2) == []
    assert await figures.figures(since=utc_now() + timedelta(minutes=1)) == []
