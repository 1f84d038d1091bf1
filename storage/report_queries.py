"""Reads the leadership's monthly report from stored data: ideas, waits, news, campaigns, flows."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.flows.funnel import COUNTED_KINDS, draft_time, flow_funnel, step_seconds
from handlers.ideas.report import (
    LIFECYCLE,
    MOST_ASKED_SHOWN,
    TAGS_SHOWN,
    TREND_MONTHS,
    AskedIdea,
    CampaignLine,
    FlowLine,
    Month,
    MonthFigures,
    ReportData,
    quote,
)
from handlers.ideas.status import IdeaStatus
from handlers.ports import Direction
from storage.campaigns.figures import campaign_figures
from storage.digest_queries import theme_groups
from storage.flows.queries import read_stored
from storage.flows.stats import answer_counts, chosen, standings, steps_done
from storage.outbox.deliveries import SendMessage
from storage.outbox.rows import BULK
from storage.tables import (
    CampaignInvitationRow,
    CampaignRow,
    ConversationRow,
    CustomerRow,
    IdeaFollowerRow,
    IdeaRow,
    IdeaStatusChangeRow,
    IdeaTagRow,
    MessageRow,
    OutboxRow,
    OutboxState,
    ScheduledRunRow,
    StaffThreadRow,
    table_of,
)

_IDEA = table_of(IdeaRow)
_FOLLOWER = table_of(IdeaFollowerRow)
_CHANGE = table_of(IdeaStatusChangeRow)
_TAG = table_of(IdeaTagRow)
_CONVERSATION = table_of(ConversationRow)
_MESSAGE = table_of(MessageRow)
_THREAD = table_of(StaffThreadRow)
_OUTBOX = table_of(OutboxRow)
_CUSTOMER = table_of(CustomerRow)
_INVITATION = table_of(CampaignInvitationRow)
_CAMPAIGN = table_of(CampaignRow)
_RUN = table_of(ScheduledRunRow)
_SEND = SendMessage.model_fields["action"].default
# Not ideas of their own: a customer's unfinished answers, and one merged into another.
_NOT_IDEAS = [IdeaStatus.DRAFT.value, IdeaStatus.DUPLICATE.value]


def _in(column: ColumnElement[Any], start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


class SqlReportSource:
    """The report's queries, read-only, each month in its own short session."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def has_run(self, *, job: str, period: str) -> bool:
        """True if the job ran for the period."""
        async with self._sessions() as session:
            found = await session.execute(
                select(_RUN.c.id).where(_RUN.c.job == job).where(_RUN.c.period == period)
            )
            return found.first() is not None

    async def gather(self, month: Month, *, timezone: str) -> ReportData:
        """The month's figures and the trend of the ``TREND_MONTHS`` months before it."""
        months = [month]
        for _ in range(TREND_MONTHS):
            months.insert(0, months[0].previous())
        figures = [await self.month_figures(each, timezone=timezone) for each in months]
        start, end = month.start(timezone), month.end(timezone)
        async with self._sessions() as session:
            tags = await _tags(session, start, end)
            themes = await theme_groups(session, since=start, until=end, excluded=_NOT_IDEAS)
            most_asked = await _most_asked(session, start, end)
            standing = await _standing(session, end)
            campaigns = await _campaigns(session, start, end)
            flows = await _flows(session, start, end)
        return ReportData(
            month=figures[-1],
            trend=tuple(figures[:-1]),
            tags=tuple(tags),
            themes=tuple(themes),
            most_asked=tuple(most_asked),
            standing=tuple(standing),
            campaigns=tuple(campaigns),
            flows=tuple(flows),
        )

    async def month_figures(self, month: Month, *, timezone: str) -> MonthFigures:
        """The counts and waits of one month."""
        start, end = month.start(timezone), month.end(timezone)
        async with self._sessions() as session:
            ideas_in = await _count(
                session,
                select(func.count())
                .select_from(_IDEA)
                .where(_in(_IDEA.c.created_at, start, end))
                .where(_IDEA.c.status.not_in(_NOT_IDEAS)),
            )
            conversations = await _count(
                session,
                select(func.count())
                .select_from(_CONVERSATION)
                .where(_in(_CONVERSATION.c.created_at, start, end)),
            )
            invitations = await _count(
                session,
                select(func.count())
                .select_from(_INVITATION)
                .where(_in(_INVITATION.c.created_at, start, end)),
            )
            replies, missing = await _first_replies(session, start, end)
            news = await _news_waits(session, start, end)
            heard_back = await _heard_back(session, start, end)
        return MonthFigures(
            month=month,
            ideas_in=ideas_in,
            conversations_started=conversations,
            invitations_sent=invitations,
            first_reply_seconds=tuple(replies),
            first_reply_missing=missing,
            news_seconds=tuple(news),
            customers_heard_back=heard_back,
        )


async def _count(session: AsyncSession, query: Select[Any]) -> int:
    return int((await session.execute(query)).scalar_one())


async def _first_replies(
    session: AsyncSession, start: datetime, end: datetime
) -> tuple[list[float], int]:
    """Seconds from each hand-off of the period to staff's first reply; and those unanswered."""
    first_reply = (
        select(func.min(_MESSAGE.c.created_at))
        .where(_MESSAGE.c.conversation_id == _THREAD.c.conversation_id)
        .where(_MESSAGE.c.direction == Direction.STAFF.value)
        .where(_MESSAGE.c.created_at >= _THREAD.c.created_at)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(_THREAD.c.created_at, first_reply.label("replied_at")).where(
            _in(_THREAD.c.created_at, start, end)
        )
    )
    waits: list[float] = []
    missing = 0
    for handed_at, replied_at in rows:
        if replied_at is None:
            missing += 1
        else:
            waits.append((_aware(replied_at) - _aware(handed_at)).total_seconds())
    return waits, missing


async def _news_waits(session: AsyncSession, start: datetime, end: datetime) -> list[float]:
    """Seconds from an idea's recording to its first news, for first news sent in the period."""
    first_news = (
        select(_CHANGE.c.idea_id, func.min(_CHANGE.c.created_at).label("told_at"))
        .where(_CHANGE.c.notified > 0)
        .group_by(_CHANGE.c.idea_id)
        .subquery()
    )
    rows = await session.execute(
        select(_IDEA.c.created_at, first_news.c.told_at)
        .join(first_news, first_news.c.idea_id == _IDEA.c.id)
        .where(_in(first_news.c.told_at, start, end))
    )
    return [(_aware(told) - _aware(recorded)).total_seconds() for recorded, told in rows]


async def _heard_back(session: AsyncSession, start: datetime, end: datetime) -> int:
    """Customers sent news of an idea in the period: bulk messages sent, invitations aside."""
    invitations = select(_INVITATION.c.outbox_id).where(_INVITATION.c.outbox_id.is_not(None))
    query = (
        select(func.count(distinct(_CUSTOMER.c.id)))
        .select_from(_OUTBOX)
        .join(
            _CUSTOMER,
            and_(
                _CUSTOMER.c.platform == _OUTBOX.c.platform,
                _CUSTOMER.c.chat_id == _OUTBOX.c.chat_id,
            ),
        )
        .where(_OUTBOX.c.priority == BULK)
        .where(_OUTBOX.c.action == _SEND)
        .where(_OUTBOX.c.state == OutboxState.SENT.value)
        .where(_in(_OUTBOX.c.sent_at, start, end))
        .where(_OUTBOX.c.id.not_in(invitations))
    )
    return await _count(session, query)


async def _tags(session: AsyncSession, start: datetime, end: datetime) -> list[tuple[str, int]]:
    rows = await session.execute(
        select(_TAG.c.tag, func.count())
        .join(_IDEA, _IDEA.c.id == _TAG.c.idea_id)
        .where(_in(_IDEA.c.created_at, start, end))
        .where(_IDEA.c.status.not_in(_NOT_IDEAS))
        .group_by(_TAG.c.tag)
        .order_by(func.count().desc(), _TAG.c.tag)
        .limit(TAGS_SHOWN)
    )
    return [(str(tag), int(count)) for tag, count in rows]


async def _most_asked(session: AsyncSession, start: datetime, end: datetime) -> list[AskedIdea]:
    """Ideas by customers linked to them in the period (authors and "me too"), then in all."""
    in_month = func.count(_FOLLOWER.c.customer_id).filter(_in(_FOLLOWER.c.created_at, start, end))
    rows = await session.execute(
        select(
            _IDEA.c.id,
            func.coalesce(_IDEA.c.staff_title, _IDEA.c.title).label("title"),
            _IDEA.c.status,
            _IDEA.c.description,
            _IDEA.c.problem,
            in_month.label("asked"),
            func.count(_FOLLOWER.c.customer_id).label("followers"),
        )
        .join(_FOLLOWER, _FOLLOWER.c.idea_id == _IDEA.c.id)
        .where(_IDEA.c.status.not_in(_NOT_IDEAS))
        .where(_FOLLOWER.c.created_at < end)
        .group_by(
            _IDEA.c.id,
            _IDEA.c.staff_title,
            _IDEA.c.title,
            _IDEA.c.status,
            _IDEA.c.description,
            _IDEA.c.problem,
        )
        .having(in_month > 0)
        .order_by(in_month.desc(), func.count(_FOLLOWER.c.customer_id).desc(), _IDEA.c.id)
        .limit(MOST_ASKED_SHOWN)
    )
    return [
        AskedIdea(
            idea_id=row.id,
            title=row.title,
            status=row.status,
            asked_in_month=int(row.asked),
            followers=int(row.followers),
            # The customer's own words: the description, else the problem they told of.
            quote=quote(row.description or row.problem or ""),
        )
        for row in rows
    ]


async def _standing(session: AsyncSession, end: datetime) -> list[tuple[IdeaStatus, int]]:
    """Ideas recorded before ``end`` by the status each had at ``end`` (from their history)."""
    ideas = await session.execute(
        select(_IDEA.c.id, _IDEA.c.status).where(_IDEA.c.created_at < end)
    )
    status_at = {idea_id: status for idea_id, status in ideas}
    # The last change before the end says where an idea stood; else the first one after it
    # says where it came from.
    changes = await session.execute(
        select(_CHANGE.c.idea_id, _CHANGE.c.from_status, _CHANGE.c.to_status, _CHANGE.c.created_at)
        .where(_CHANGE.c.from_status != _CHANGE.c.to_status)
        .order_by(_CHANGE.c.idea_id, _CHANGE.c.created_at, _CHANGE.c.id)
    )
    settled: set[int] = set()
    for idea_id, from_status, to_status, created_at in changes:
        if idea_id not in status_at or idea_id in settled:
            continue
        if _aware(created_at) < end:
            status_at[idea_id] = to_status
        else:
            status_at[idea_id] = from_status
            settled.add(idea_id)
    counts: dict[str, int] = defaultdict(int)
    for status in status_at.values():
        counts[status] += 1
    return [(status, counts[status.value]) for status in LIFECYCLE]


async def _campaigns(session: AsyncSession, start: datetime, end: datetime) -> list[CampaignLine]:
    """Campaigns that sent invitations in the period, with their figures to date."""
    rows = await session.execute(
        select(_CAMPAIGN.c.id, _CAMPAIGN.c.name)
        .where(
            _CAMPAIGN.c.id.in_(
                select(_INVITATION.c.campaign_id).where(_in(_INVITATION.c.created_at, start, end))
            )
        )
        .order_by(_CAMPAIGN.c.name)
    )
    lines = []
    for campaign_id, name in rows.all():
        languages = await campaign_figures(session, campaign_id=campaign_id)
        lines.append(
            CampaignLine(
                name=name,
                invited=sum(each.invited for each in languages),
                delivered=sum(each.delivered for each in languages),
                started=sum(each.started for each in languages),
                finished=sum(each.finished for each in languages),
                ideas=sum(each.ideas for each in languages),
                opted_out=sum(each.opted_out for each in languages),
            )
        )
    return lines


async def _flows(session: AsyncSession, start: datetime, end: datetime) -> list[FlowLine]:
    """Each flow version's funnel over the conversations started in the period, as at its end."""
    versions = await session.execute(
        select(_CONVERSATION.c.flow_id, _CONVERSATION.c.flow_version)
        .where(_in(_CONVERSATION.c.created_at, start, end))
        .group_by(_CONVERSATION.c.flow_id, _CONVERSATION.c.flow_version)
        .order_by(_CONVERSATION.c.flow_id, _CONVERSATION.c.flow_version)
    )
    lines = []
    for flow_id, version in versions.all():
        definition = (await read_stored(session, flow_id, version)).definition
        where = and_(chosen(flow_id, version, start), _CONVERSATION.c.created_at < end)
        standing = await standings(session, where, silent_since=draft_time(definition, end))
        counted = [step.id for step in definition.steps if step.kind in COUNTED_KINDS]
        funnel = flow_funnel(
            definition,
            standing,
            step_seconds=step_seconds(await steps_done(session, where)),
            answers=await answer_counts(session, where, counted),
            since=start,
        )
        lines.append(
            FlowLine(
                flow_id=flow_id,
                version=version,
                started=funnel.started,
                finished=funnel.finished,
                handed_to_staff=funnel.handed_to_staff,
            )
        )
    return lines


def _aware(moment: datetime) -> datetime:
    """Timestamps read back are aware (storage/types.py); a subquery's min may not be."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
