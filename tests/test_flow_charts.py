"""A funnel chart travels in the outbox as a reference, drawn only when it is delivered."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.delivery.charts import FunnelCharts
from bot.delivery.worker import PermanentDeliveryError
from handlers.flows.charts import CHART_PLATFORM, ChartPanel, FunnelChart
from handlers.flows.funnel import FlowFunnel
from handlers.flows.versions import UnknownVersion
from handlers.messages import Attachment, AttachmentKind


@pytest.mark.parametrize(
    "chart",
    [
        FunnelChart.of_flow("idea", (3,)),
        FunnelChart.of_flow("idea", (2, 3), since=datetime(2026, 3, 1, tzinfo=UTC)),
        FunnelChart(
            (ChartPanel("idea", 3), ChartPanel("spring", 1)),
            since=datetime(2026, 10, 1, tzinfo=UTC),
            until=datetime(2026, 10, 31, 9, tzinfo=UTC),
            with_figures=False,
        ),
    ],
)
def test_a_chart_survives_the_outbox_json(chart: FunnelChart) -> None:
    attachment = Attachment.from_json(chart.attachment().to_json())
    assert attachment.is_file
    assert FunnelChart.of(attachment) == chart


@pytest.mark.parametrize(
    "details",
    [
        {},
        {"chart": "funnel", "panels": [["", 1]]},
        {"chart": "funnel", "panels": []},
        {"chart": "funnel", "panels": [["idea"]]},
        {"chart": "funnel", "panels": [["idea", "1"]]},
        {"chart": "funnel", "panels": [["idea", True]]},
    ],
)
def test_an_attachment_that_names_no_chart_is_refused(details: dict[str, Any]) -> None:
    attachment = Attachment(
        kind=AttachmentKind.PHOTO, platform=CHART_PLATFORM, file_id="funnel:x", details=details
    )
    with pytest.raises(ValueError, match="funnel chart"):
        FunnelChart.of(attachment)


class _NoSuchVersion:
    async def flow_funnel(
        self,
        flow_id: str,
        *,
        version: int | None = None,
        since: datetime | None = None,
        now: datetime | None = None,
    ) -> FlowFunnel:
        raise UnknownVersion(flow_id, version or 0)


async def test_a_chart_of_a_version_not_stored_fails_for_good_with_why() -> None:
    charts = FunnelCharts(_NoSuchVersion())
    with pytest.raises(PermanentDeliveryError, match="flow 'idea' has no version 7") as raised:
        await charts.fetch(FunnelChart.of_flow("idea", (7,)).attachment())
    # The admin who asked hears why; the digest's room has its lines and hears nothing more.
    assert raised.value.instead == "No chart: flow 'idea' has no version 7."
    digest_chart = FunnelChart((ChartPanel("idea", 7),), with_figures=False)
    with pytest.raises(PermanentDeliveryError) as raised:
        await charts.fetch(digest_chart.attachment())
    assert raised.value.instead == ""
    broken = Attachment(kind=AttachmentKind.PHOTO, platform=CHART_PLATFORM, file_id="funnel:x")
    with pytest.raises(PermanentDeliveryError, match="not a funnel chart"):
        await charts.fetch(broken)


def test_serving_imports_no_matplotlib_until_a_chart_is_drawn() -> None:
    # matplotlib takes a second to import; every process start would pay it otherwise.
    check = (
        "import sys, bot.cli, bot.app, bot.slack.platform, bot.delivery.charts\n"
        "sys.exit('matplotlib' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", check], check=False).returncode == 0
