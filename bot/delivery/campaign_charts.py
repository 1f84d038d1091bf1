"""Campaign charts as files: the figures read and drawn when their outbox row is sent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from bot.delivery.files import FetchedFile
from bot.delivery.worker import PermanentDeliveryError
from handlers.campaigns.campaign import Campaign, CampaignFigures, CampaignProblem
from handlers.messages import Attachment, AttachmentKind

logger = logging.getLogger(__name__)

# The "platform" a campaign chart lives on: ideabot draws it from the database when it is sent.
CAMPAIGN_CHART_PLATFORM = "ideabot-campaign-chart"
COLUMNS = (
    ("invited", "invited"),
    ("delivered", "delivered"),
    ("started", "started"),
    ("finished", "finished"),
    ("ideas", "ideas"),
    ("opted_out", "opted out"),
)

# A campaign's figures by name (``CampaignDesk.figures``); CampaignProblem if there is none.
FiguresOf = Callable[[str], Awaitable[tuple[Campaign, list[CampaignFigures]]]]


def campaign_chart(campaign: Campaign) -> Attachment:
    """The chart of a campaign as a file an outbox row can carry: a reference, not a picture."""
    return Attachment(
        kind=AttachmentKind.PHOTO,
        platform=CAMPAIGN_CHART_PLATFORM,
        file_id=f"campaign:{campaign.id}",
        file_name=f"campaign-{campaign.name}.png",
        mime_type="image/png",
        details={"campaign_id": campaign.id, "name": campaign.name},
    )


def figures_text(campaign: Campaign, figures: Sequence[CampaignFigures]) -> str:
    """The figures as a table: a line per language, and all of them when there are several."""
    lines = [
        f"campaign “{campaign.name}” ({campaign.state}), flow {campaign.flow_id}",
        f"{'language':<9}" + "".join(f"{label:>11}" for _, label in COLUMNS),
    ]
    rows = [(row.language, [getattr(row, field) for field, _ in COLUMNS]) for row in figures]
    if len(rows) > 1:
        rows.append(
            ("all", [sum(counts) for counts in zip(*(row for _, row in rows), strict=True)])
        )
    lines += [
        f"{language[:9]:<9}" + "".join(f"{count:>11}" for count in counts)
        for language, counts in rows
    ]
    return "\n".join(lines)


def _drawn(title: str, figures: Sequence[CampaignFigures]) -> bytes:
    # matplotlib takes a second to import: only a process that draws a chart pays for it.
    from bot.campaign_chart import campaign_chart_png

    return campaign_chart_png(title, figures)


def _title(campaign: Campaign, figures: Sequence[CampaignFigures]) -> str:
    invited = sum(row.invited for row in figures)
    started = sum(row.started for row in figures)
    return f"Campaign {campaign.name} ({campaign.state}): {invited} invited, {started} started"


class CampaignCharts:
    """The ``FileSource`` of campaign charts: the picture, and its figures as a table."""

    def __init__(self, figures: FiguresOf, *, drawing: asyncio.Lock) -> None:
        self._figures = figures
        # Shared with the funnel charts: matplotlib is not made for threads drawing at once.
        self._drawing = drawing

    async def _read(self, attachment: Attachment) -> tuple[Campaign, list[CampaignFigures]]:
        details = attachment.details
        name, campaign_id = details.get("name"), details.get("campaign_id")
        if not isinstance(name, str) or type(campaign_id) is not int:
            raise PermanentDeliveryError(f"{attachment.describe()} names no campaign")
        try:
            campaign, figures = await self._figures(name)
        except CampaignProblem as problem:
            raise PermanentDeliveryError(
                f"no chart drawn: {problem}", instead=f"No chart: {problem}."
            ) from None
        if campaign.id != campaign_id:
            raise PermanentDeliveryError(f"{attachment.describe()} names another campaign")
        return campaign, figures

    async def fetch(self, attachment: Attachment) -> FetchedFile:
        """Read the campaign's figures and draw them (in a thread: it takes a while)."""
        async with self._drawing:
            campaign, figures = await self._read(attachment)
            text = figures_text(campaign, figures)
            try:
                png = await asyncio.to_thread(_drawn, _title(campaign, figures), figures)
            except Exception as error:
                # Drawing again would fail again; the figures still reach whoever asked.
                logger.error("drawing %s failed", attachment.describe(), exc_info=error)
                raise PermanentDeliveryError(
                    f"the chart could not be drawn ({type(error).__name__})",
                    instead=f"The chart of campaign “{campaign.name}” could not be drawn, "
                    f"so here are its figures:\n```{text}```",
                ) from error
        return FetchedFile(
            data=png,
            name=attachment.file_name or "campaign.png",
            mime_type="image/png",
            figures=text,
        )
