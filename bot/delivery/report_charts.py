"""The report's charts as files: read from the database and drawn when their row is sent."""

from __future__ import annotations

import asyncio
import logging

from bot.delivery.files import FetchedFile
from bot.delivery.worker import PermanentDeliveryError
from handlers.ideas.report import ChartRequest, Report, ReportDesk
from handlers.messages import Attachment

logger = logging.getLogger(__name__)


def _drawn(report: Report, request: ChartRequest) -> bytes:
    # matplotlib takes a second to import: only a process that draws a chart pays for it.
    from bot.report_charts import chart_png

    return chart_png(report, request.chart)


class ReportCharts:
    """The ``FileSource`` of report charts: the picture, and the summary beside the first."""

    def __init__(self, desk: ReportDesk, *, drawing: asyncio.Lock) -> None:
        self._desk = desk
        # Shared with the other charts: matplotlib is not made for threads drawing at once.
        self._drawing = drawing

    async def fetch(self, attachment: Attachment) -> FetchedFile:
        """Read the month's report and draw the chart the attachment names."""
        try:
            request = ChartRequest.of(attachment)
        except ValueError as error:
            raise PermanentDeliveryError(f"{attachment.describe()}: {error}") from None
        async with self._drawing:
            report = await self._desk.build(request.month, timezone=request.timezone)
            try:
                png = await asyncio.to_thread(_drawn, report, request)
            except Exception as error:
                # Drawing again would fail again; the summary still reaches the channel.
                logger.error("drawing %s failed", attachment.describe(), exc_info=error)
                raise PermanentDeliveryError(
                    f"the report chart could not be drawn ({type(error).__name__})",
                    instead=report.summary() if request.summary else "",
                ) from error
        return FetchedFile(
            data=png,
            name=attachment.file_name or "report.png",
            mime_type="image/png",
            figures=report.summary() if request.summary else "",
        )
