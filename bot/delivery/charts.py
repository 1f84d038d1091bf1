"""Funnel charts as files: read from the database and drawn in a thread when their row is sent."""

from __future__ import annotations

import asyncio
import logging
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

logger = logging.getLogger(__name__)


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


def _figures_instead(funnels: Sequence[FlowFunnel], figures: str) -> str:
    """The admin's message when the picture fails: one sentence, then the figures as a table."""
    flows = ", ".join(dict.fromkeys(f"'{funnel.flow_id}'" for funnel in funnels))
    # A code block keeps the table's columns in Slack, where admins ask for charts.
    return (
        f"The chart of flow {flows} could not be drawn, so here are its figures:\n```{figures}```"
    )


class FunnelCharts:
    """The ``FileSource`` of funnel charts: the picture, and its figures as a table."""

    def __init__(self, figures: FunnelFigures, *, drawing: asyncio.Lock | None = None) -> None:
        self._figures = figures
        # One chart at a time, read and drawn: matplotlib's caches are not made for threads
        # drawing at once, and a burst of clicks should not count every funnel at once. The
        # lock is shared with the other charts of the process (campaigns) when it is given.
        self._drawing = drawing or asyncio.Lock()

    async def _read(self, chart: FunnelChart) -> list[FlowFunnel]:
        """The funnels a chart shows, judged at its end if it has one."""
        try:
            return [
                await self._figures.flow_funnel(
                    panel.flow_id, version=panel.version, since=chart.since, now=chart.until
                )
                for panel in chart.panels
            ]
        except FlowLibraryError as error:
            instead = f"No chart: {error}." if chart.with_figures else ""
            raise PermanentDeliveryError(f"no chart drawn: {error}", instead=instead) from error

    async def fetch(self, attachment: Attachment) -> FetchedFile:
        """Read and draw the chart the attachment names (drawing in a thread: it takes a while)."""
        try:
            chart = FunnelChart.of(attachment)
        except ValueError as error:
            raise PermanentDeliveryError(f"{attachment.describe()}: {error}") from None
        async with self._drawing:
            funnels = await self._read(chart)
            figures = "\n\n".join(funnel_text(funnel) for funnel in funnels)
            try:
                png = await asyncio.to_thread(_drawn, funnels)
            except Exception as error:
                # Drawing again would fail again; the figures still reach whoever asked.
                logger.error("drawing %s failed", attachment.describe(), exc_info=error)
                raise PermanentDeliveryError(
                    f"the chart could not be drawn ({type(error).__name__})",
                    instead=_figures_instead(funnels, figures) if chart.with_figures else "",
                ) from error
        return FetchedFile(
            data=png,
            name=attachment.file_name or "funnel.png",
            mime_type="image/png",
            figures=figures if chart.with_figures else "",
        )
