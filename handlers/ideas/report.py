"""The leadership's monthly report: its figures from stored data, its charts, and when it is due."""

from __future__ import annotations

import logging
import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from handlers.ideas.status import IdeaStatus
from handlers.messages import Attachment, AttachmentKind
from handlers.ports import OutboxSignal, Schedule, StaffOutbox, Store
from handlers.staff.room import PostRoomFile, RoomAction, StaffRoom

logger = logging.getLogger(__name__)

REPORT_JOB = "report"
# The months before the reported one that the trend charts show.
TREND_MONTHS = 6
MOST_ASKED_SHOWN = 5
TAGS_SHOWN = 10
# A quote is the customer's words, cut here so one voice does not fill the page.
QUOTE_LENGTH = 280
# The "platform" a report chart lives on: drawn from the database when its outbox row is sent.
REPORT_CHART_PLATFORM = "ideabot-report"
# Where ideas stand, in the order of their life (drafts and duplicates are not ideas of their own).
LIFECYCLE = (
    IdeaStatus.NEW,
    IdeaStatus.UNDER_REVIEW,
    IdeaStatus.PLANNED,
    IdeaStatus.IN_PROGRESS,
    IdeaStatus.DONE,
    IdeaStatus.DECLINED,
)
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
# The trend reaches six months back and a month's end one forward: both stay on the calendar.
FIRST_YEAR = 1970
LAST_YEAR = 9998
# What was typed is quoted back in a refusal, cut to this many characters.
QUOTED_CHARACTERS = 20


class ReportError(ValueError):
    """A report that cannot be made, in one sentence for whoever asked."""


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """A calendar month, read in the installation's time zone."""

    year: int
    month: int

    @classmethod
    def parse(cls, words: str) -> Month:
        """The month ``YYYY-MM`` names; ReportError for anything else."""
        found = _MONTH.fullmatch(words.strip())
        if found is None or not 1 <= int(found.group(2)) <= 12:
            shown = words if len(words) <= QUOTED_CHARACTERS else words[:QUOTED_CHARACTERS] + "…"
            raise ReportError(f"'{shown}' is not a month: write it as YYYY-MM, e.g. 2026-11.")
        if not FIRST_YEAR <= int(found.group(1)) <= LAST_YEAR:
            raise ReportError(
                f"'{words.strip()}' is not a month of a report: "
                f"give a year from {FIRST_YEAR} to {LAST_YEAR}."
            )
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def last_full(cls, now: datetime, timezone: str) -> Month:
        """The last month that has ended at ``now`` in ``timezone``."""
        local = now.astimezone(ZoneInfo(timezone))
        return cls(local.year, local.month).previous()

    def previous(self) -> Month:
        """The month before."""
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def next(self) -> Month:
        """The month after."""
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def start(self, timezone: str) -> datetime:
        """Its first moment in ``timezone``."""
        return datetime(self.year, self.month, 1, tzinfo=ZoneInfo(timezone))

    def end(self, timezone: str) -> datetime:
        """The first moment of the month after, in ``timezone``."""
        return self.next().start(timezone)

    @property
    def key(self) -> str:
        """``2026-11``."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        """``November 2026``."""
        return datetime(self.year, self.month, 1).strftime("%B %Y")

    @property
    def short(self) -> str:
        """``Nov 26``, for a chart's axis."""
        return datetime(self.year, self.month, 1).strftime("%b %y")


@dataclass(frozen=True, slots=True)
class MonthFigures:
    """What one month counts, each figure as docs/operations.md "The report" defines it."""

    month: Month
    ideas_in: int = 0
    conversations_started: int = 0
    invitations_sent: int = 0
    # Seconds from a conversation's hand-off to staff to staff's first reply.
    first_reply_seconds: tuple[float, ...] = ()
    # Hand-offs of the month that no staff reply has answered yet.
    first_reply_missing: int = 0
    # Seconds from an idea's recording to the first news its customers were sent.
    news_seconds: tuple[float, ...] = ()
    customers_heard_back: int = 0


@dataclass(frozen=True, slots=True)
class AskedIdea:
    """An idea customers asked for in the month, with one customer's own words."""

    idea_id: int
    title: str
    status: str
    asked_in_month: int
    followers: int
    quote: str


@dataclass(frozen=True, slots=True)
class CampaignLine:
    """A campaign that sent invitations in the month, and what they came to so far."""

    name: str
    invited: int
    delivered: int
    started: int
    finished: int
    ideas: int
    opted_out: int

    @property
    def response_rate(self) -> float:
        """Conversations started per delivered invitation (0 when none was delivered)."""
        return self.started / self.delivered if self.delivered else 0.0


@dataclass(frozen=True, slots=True)
class FlowLine:
    """A flow version's conversations started in the month, and how many reached the end."""

    flow_id: str
    version: int
    started: int
    finished: int
    handed_to_staff: int = 0

    @property
    def completion(self) -> float:
        """The share of started conversations that finished (0 when none started)."""
        return self.finished / self.started if self.started else 0.0


@dataclass(frozen=True, slots=True)
class ReportData:
    """What the database says about a month and the months before it."""

    month: MonthFigures
    # The months before, oldest first.
    trend: tuple[MonthFigures, ...] = ()
    tags: tuple[tuple[str, int], ...] = ()
    themes: tuple[tuple[str, int], ...] = ()
    most_asked: tuple[AskedIdea, ...] = ()
    # Ideas by where they stood at the month's end, in the order of LIFECYCLE.
    standing: tuple[tuple[IdeaStatus, int], ...] = ()
    campaigns: tuple[CampaignLine, ...] = ()
    flows: tuple[FlowLine, ...] = ()


@dataclass(frozen=True, slots=True)
class Wait:
    """How long customers waited: how many waits, their median and 90th percentile."""

    count: int
    median_seconds: float | None
    p90_seconds: float | None

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Wait:
        """The median (the middle, or the mean of the two middles) and nearest-rank p90."""
        if not seconds:
            return cls(0, None, None)
        ordered = sorted(seconds)
        rank = math.ceil(0.9 * len(ordered))
        return cls(len(ordered), statistics.median(ordered), ordered[rank - 1])


class Chart(StrEnum):
    """The report's charts, in the order the page and Slack show them."""

    IDEAS = "ideas"
    TAGS = "tags"
    STANDING = "standing"
    WAITS = "waits"
    HEARD_BACK = "heard_back"
    CAMPAIGNS = "campaigns"
    FLOWS = "flows"


CHART_TITLES = {
    Chart.IDEAS: "Ideas in, month by month",
    Chart.TAGS: "Ideas in by tag",
    Chart.STANDING: "Where ideas stand at the month's end",
    Chart.WAITS: "Waiting for staff and for news (hours)",
    Chart.HEARD_BACK: "Customers who heard back about their idea",
    Chart.CAMPAIGNS: "Campaign response rates",
    Chart.FLOWS: "Flows' completion",
}


def quote(words: str) -> str:
    """Customer words as a quote: on one line, cut at ``QUOTE_LENGTH`` characters."""
    line = " ".join(words.split())
    return line if len(line) <= QUOTE_LENGTH else line[: QUOTE_LENGTH - 1].rstrip() + "…"


def hours(seconds: float | None) -> str:
    """A wait in hours as people read it (``—`` when nobody waited)."""
    return "—" if seconds is None else f"{seconds / 3600:.1f} h"


@dataclass(frozen=True, slots=True)
class Report:
    """The report of a month: the figures, and what its page and posts show."""

    data: ReportData
    timezone: str = "UTC"

    @property
    def months(self) -> tuple[MonthFigures, ...]:
        """The months before and the reported one, oldest first."""
        return (*self.data.trend, self.data.month)

    @property
    def month(self) -> Month:
        """The reported month."""
        return self.data.month.month

    @property
    def is_empty(self) -> bool:
        """True when the month had no ideas, conversations or campaign invitations."""
        figures = self.data.month
        return not (figures.ideas_in or figures.conversations_started or figures.invitations_sent)

    @property
    def nothing_to_report(self) -> str:
        """The one sentence an empty month gets."""
        return f"No ideas, conversations or campaigns in {self.month.label} — nothing to report."

    @property
    def first_reply(self) -> Wait:
        """The month's waits for a first staff reply."""
        return Wait.of(self.data.month.first_reply_seconds)

    @property
    def news(self) -> Wait:
        """The month's waits for news of an idea."""
        return Wait.of(self.data.month.news_seconds)

    @property
    def charts(self) -> tuple[Chart, ...]:
        """The charts that have something to show this month."""
        data = self.data
        shown = {
            Chart.IDEAS: True,
            Chart.TAGS: bool(data.tags),
            Chart.STANDING: any(count for _, count in data.standing),
            Chart.WAITS: any(m.first_reply_seconds or m.news_seconds for m in self.months),
            Chart.HEARD_BACK: any(m.customers_heard_back for m in self.months),
            Chart.CAMPAIGNS: bool(data.campaigns),
            Chart.FLOWS: any(flow.started for flow in data.flows),
        }
        return tuple(chart for chart in Chart if shown[chart])

    def summary(self) -> str:
        """A few lines the leadership reads first (and Slack shows beside the first chart)."""
        figures = self.data.month
        before = self.data.trend[-1] if self.data.trend else None
        change = (
            ""
            if before is None
            else f" ({figures.ideas_in - before.ideas_in:+d} on {before.month.label})"
        )
        first, news = self.first_reply, self.news
        lines = [
            f"Report for {self.month.label}",
            f"Ideas in: {figures.ideas_in}{change}",
            f"Conversations started: {figures.conversations_started}",
            f"First staff reply: median {hours(first.median_seconds)}, "
            f"p90 {hours(first.p90_seconds)} ({first.count} replied, "
            f"{figures.first_reply_missing} still waiting)",
            f"News of their idea: median {hours(news.median_seconds)}, "
            f"p90 {hours(news.p90_seconds)} ({news.count} ideas)",
            f"Customers who heard back: {figures.customers_heard_back}",
        ]
        if self.data.most_asked:
            top = self.data.most_asked[0]
            lines.append(f"Most asked for: {top.title} ({top.asked_in_month} this month)")
        for line in self.data.campaigns:
            lines.append(
                f"Campaign {line.name}: {line.response_rate:.0%} responded "
                f"({line.started} of {line.delivered} delivered)"
            )
        return "\n".join(lines)


def chart_attachment(month: Month, chart: Chart, *, timezone: str, summary: bool) -> Attachment:
    """A report chart as a file an outbox row carries: a reference, drawn when it is sent."""
    return Attachment(
        kind=AttachmentKind.PHOTO,
        platform=REPORT_CHART_PLATFORM,
        file_id=f"report:{month.key}:{chart.value}",
        file_name=f"report-{month.key}-{chart.value}.png",
        mime_type="image/png",
        details={
            "month": month.key,
            "chart": chart.value,
            "timezone": timezone,
            "summary": summary,
        },
    )


@dataclass(frozen=True, slots=True)
class ChartRequest:
    """What a report chart's attachment asks for."""

    month: Month
    chart: Chart
    timezone: str
    summary: bool

    @classmethod
    def of(cls, attachment: Attachment) -> ChartRequest:
        """The chart an attachment names; ValueError if it names none."""
        details = attachment.details
        if attachment.platform != REPORT_CHART_PLATFORM:
            raise ValueError("not a report chart")
        try:
            month = Month.parse(str(details.get("month", "")))
            chart = Chart(str(details.get("chart", "")))
            timezone = str(details.get("timezone", "UTC"))
            ZoneInfo(timezone)
        except (ValueError, KeyError) as error:
            raise ValueError("a report chart names no month, chart or time zone") from error
        return cls(month, chart, timezone, bool(details.get("summary", False)))


def room_posts(report: Report) -> list[RoomAction]:
    """The report's charts, one post each; the first carries the summary beside it."""
    return [
        PostRoomFile(
            chart_attachment(report.month, chart, timezone=report.timezone, summary=index == 0)
        )
        for index, chart in enumerate(report.charts)
    ]


class ReportSource(Protocol):
    """Reads a month's report from the database."""

    async def gather(self, month: Month, *, timezone: str) -> ReportData:
        """The month's figures and the trend of the months before."""
        ...

    async def has_run(self, *, job: str, period: str) -> bool:
        """True if the job already ran for ``period``."""
        ...


class ReportTransaction(Schedule, StaffOutbox, Protocol):
    """What posting one report writes, committed together."""


class Frequency(StrEnum):
    """How often the report comes to Slack by itself."""

    MONTHLY = "monthly"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class ReportSchedule:
    """When the report of the last month is due: on a day of the month at an hour."""

    frequency: Frequency = Frequency.MONTHLY
    day: int = 1
    hour: int = 9
    timezone: str = "UTC"

    def due(self, now: datetime) -> tuple[Month, datetime]:
        """The month to report at ``now`` and the moment its report is due."""
        month = Month.last_full(now, self.timezone)
        start = month.end(self.timezone)
        return month, start.replace(day=self.day, hour=self.hour)


class ReportDesk:
    """Posts the report to its Slack channel once a month (in one process) and on request."""

    def __init__(
        self,
        *,
        store: Store[ReportTransaction],
        source: ReportSource,
        room: StaffRoom | None,
        schedule: ReportSchedule,
        outbox_signal: OutboxSignal,
    ) -> None:
        self._store = store
        self._source = source
        self._room = room
        self._schedule = schedule
        self._outbox_signal = outbox_signal

    async def build(self, month: Month, *, timezone: str | None = None) -> Report:
        """The report of ``month``, in the schedule's time zone unless another is given."""
        zone = timezone or self._schedule.timezone
        return Report(await self._source.gather(month, timezone=zone), timezone=zone)

    async def tick(self, now: datetime) -> bool:
        """Post the last month's report if it is due and no process has posted it yet."""
        if self._room is None or self._schedule.frequency is Frequency.OFF:
            return False
        month, due = self._schedule.due(now)
        if now < due or await self._source.has_run(job=REPORT_JOB, period=month.key):
            return False
        report = await self.build(month)
        async with self._store.transaction() as transaction:
            if not await transaction.claim_scheduled_run(job=REPORT_JOB, period=month.key, at=now):
                return False
            if not report.is_empty:
                await transaction.enqueue_to_room(room=self._room, actions=room_posts(report))
        if report.is_empty:
            logger.info("no report for %s: nothing happened that month", month.key)
            return False
        self._outbox_signal.outbox_changed()
        logger.info("posted the report for %s", month.key)
        return True

    async def post(self, month: Month) -> Report:
        """Post the month's report now (``ideabot report --post``); ReportError if empty."""
        report = await self.build(month)
        if report.is_empty:
            raise ReportError(report.nothing_to_report)
        if self._room is None:
            raise ReportError("Slack is not configured: set SLACK_BOT_TOKEN and a report channel.")
        async with self._store.transaction() as transaction:
            await transaction.enqueue_to_room(room=self._room, actions=room_posts(report))
        self._outbox_signal.outbox_changed()
        return report
