"""Funnel charts as files: drawn from the database in a thread when their outbox row is sent."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.delivery.files import FetchedFile
from bot.delivery.worker import PermanentDeliveryError
from bot.funnel_text import funnel_text
from handlers.flows.charts import FunnelChart
from handlers.flows.funnel import FlowFunnel
from handlers.flows.versions import FlowLibraryError
from handlers.messages import Attachment


class FunnelFigures(Protocol):
    """The funnel of a stored flow version (SqlFlowStats)."""

    async def flow_funnel(
        self,
        flow_id: str,
        *,
        version: int | None = None,
        since: datetime | None = None,
        now: datetime | None = None,
    ) -> FlowFunnel:
        """The funnel of a flow version; FlowLibraryError for a name or number not stored."""
        ...


def _drawn(funnels: Sequence[FlowFunnel]) -> bytes:
    # matplotlib takes a second to import: only a process that draws a chart pays for it.
    from bot.flow_chart import funnel_chart_png

    return funnel_chart_png(funnels)


class FunnelCharts:
    """The ``FileSource`` of funnel charts: the picture, and its figures as a table."""

    def __init__(self, figures: FunnelFigures) -> None:
        self._figures = figures
        # One drawing at a time: matplotlib's caches are not made for threads drawing at
        # once, and a burst of charts (a digest of many flows) should not take every core.
        self._drawing = asyncio.Lock()

    async def read(self, chart: FunnelChart) -> list[FlowFunnel]:
        """The funnels a chart shows, as they stand now."""
        try:
            return [
                await self._figures.flow_funnel(chart.flow_id, version=version, since=chart.since)
                for version in chart.versions
            ]
        except FlowLibraryError as error:
            raise PermanentDeliveryError(f"no chart drawn: {error}") from error

    async def fetch(self, attachment: Attachment) -> FetchedFile:
        """Draw the chart the attachment names (in a thread: drawing takes a while)."""
        try:
            chart = FunnelChart.of(attachment)
        except ValueError as error:
            raise PermanentDeliveryError(f"{attachment.describe()}: {error}") from None
        funnels = await self.read(chart)
        async with self._drawing:
            png = await asyncio.to_thread(_drawn, funnels)
        figures = "\n\n".join(funnel_text(funnel) for funnel in funnels)
        return FetchedFile(
            data=png,
            name=attachment.file_name or "funnel.png",
            mime_type="image/png",
            figures=figures if chart.with_figures else "",
        )
