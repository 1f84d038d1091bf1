"""Issue 13: a campaign's chart is a reference, drawn with its figures when it is sent."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.delivery.campaign_charts import CampaignCharts, campaign_chart, figures_text
from bot.delivery.worker import PermanentDeliveryError
from handlers.campaigns.audience import Audience
from handlers.campaigns.campaign import (
    Campaign,
    CampaignFigures,
    CampaignProblem,
    CampaignState,
)
from tests.e2e.test_slack_flow_stats import assert_real_png

SPRING = Campaign(
    id=4,
    name="spring",
    flow_id="idea",
    texts={"en": "Hi", "nb": "Hei"},
    audience=Audience(),
    schedule="now",
    state=CampaignState.RUNNING,
    created_by="test",
    created_at=datetime(2026, 11, 1, tzinfo=UTC),
)
FIGURES = [
    CampaignFigures("en", invited=40, delivered=39, started=12, finished=9, ideas=8, opted_out=2),
    CampaignFigures("nb", invited=20, delivered=20, started=5, finished=5, ideas=4),
]


async def _figures_of(name: str) -> tuple[Campaign, list[CampaignFigures]]:
    if name != SPRING.name:
        raise CampaignProblem(f"there is no campaign “{name}”")
    return SPRING, FIGURES


def test_the_figures_are_a_table_with_all_languages_summed() -> None:
    assert figures_text(SPRING, FIGURES).splitlines() == [
        "campaign “spring” (running), flow idea",
        "language     invited  delivered    started   finished      ideas  opted out",
        "en                40         39         12          9          8          2",
        "nb                20         20          5          5          4          0",
        "all               60         59         17         14         12          2",
    ]
    assert "all" not in figures_text(SPRING, FIGURES[:1])


async def test_the_chart_is_drawn_when_fetched_with_its_figures() -> None:
    charts = CampaignCharts(_figures_of, drawing=asyncio.Lock())
    fetched = await charts.fetch(campaign_chart(SPRING))
    assert fetched.name == "campaign-spring.png"
    assert fetched.figures == figures_text(SPRING, FIGURES)
    assert_real_png(fetched.data)


@pytest.mark.parametrize(
    ("details", "reason"),
    [
        ({"campaign_id": 5, "name": "spring"}, "names another campaign"),
        ({"campaign_id": "4", "name": "spring"}, "names no campaign"),
        ({"name": "spring"}, "names no campaign"),
        ({"campaign_id": 4, "name": "autumn"}, "no chart drawn: there is no campaign “autumn”"),
    ],
)
async def test_a_chart_that_names_no_campaign_of_its_number_is_not_drawn(
    details: dict[str, object], reason: str
) -> None:
    charts = CampaignCharts(_figures_of, drawing=asyncio.Lock())
    with pytest.raises(PermanentDeliveryError, match=reason):
        await charts.fetch(replace(campaign_chart(SPRING), details=details))


async def test_a_chart_that_cannot_be_drawn_sends_its_figures_instead() -> None:
    async def nothing_yet(name: str) -> tuple[Campaign, list[CampaignFigures]]:
        return SPRING, []

    charts = CampaignCharts(nothing_yet, drawing=asyncio.Lock())
    with pytest.raises(PermanentDeliveryError) as raised:
        await charts.fetch(campaign_chart(SPRING))
    assert raised.value.reason == "the chart could not be drawn (ValueError)"
    assert raised.value.instead.startswith(
        "The chart of campaign “spring” could not be drawn, so here are its figures:\n```"
    )
