"""Each start link's figures, counted in SQL on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.flows.links import LinkFigures
from handlers.flows.loader import LoadedFlow
from storage.flows.link_figures import LINKS_SHOWN, SqlLinkFigures
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


async def test_invented_labels_are_summed_beyond_the_links_shown(
    sessions: async_sessionmaker[AsyncSession], shipped_flows: list[LoadedFlow]
) -> None:
    # Attack review: anyone can follow /start <flow>-<any label>, and every label invented got
    # a line of its own in `flows links` and `flows stats`, without bound.
    kari = await make_customer(sessions, [*shipped_flows, campaign_flow()])
    for number in range(3):
        await another_customer(kari, number).say("/start spring_2026-poster")
    invented = LINKS_SHOWN + 5
    for number in range(invented):
        await another_customer(kari, 10 + number).say(f"/start idea-made{number:03d}up")
    figures = await SqlLinkFigures(sessions).figures()
    assert len(figures) == LINKS_SHOWN + 1
    # The most followed link is always among those shown.
    assert LinkFigures("spring_2026-poster", 3, 0, 0) in figures
    others = figures[-1]
    hidden = invented + 1 - LINKS_SHOWN
    assert others == LinkFigures(f"{hidden} other links", hidden, 0, 0)
