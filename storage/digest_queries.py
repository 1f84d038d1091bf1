"""Reads what the staff digest says: new ideas, most requested, status changes, themes, waits."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.ideas.digest import (
    Digest,
    DigestChange,
    DigestFlow,
    DigestIdea,
    DigestPair,
    WaitingConversation,
)
from handlers.ideas.similarity import SimilarityIndex
from handlers.ideas.status import IdeaStatus
from handlers.ports import ConversationStatus, Direction
from storage.flows.stats import SqlFlowStats
from storage.similar_candidates import staff_candidates
from storage.similar_ideas import OPEN_STATUSES, SimilarIdeas, idea_text
from storage.tables import (
    ConversationRow,
    CustomerRow,
    IdeaFollowerRow,
    IdeaRow,
    IdeaStatusChangeRow,
    IdeaTagRow,
    MessageRow,
    ScheduledRunRow,
    StaffThreadRow,
    table_of,
)

_IDEA = table_of(IdeaRow)
# Staff's own title where they gave one (``/ideas title``), else the customer's words.
_SHOWN_TITLE = func.coalesce(_IDEA.c.staff_title, _IDEA.c.title).label("title")
_FOLLOWER = table_of(IdeaFollowerRow)
_CHANGE = table_of(IdeaStatusChangeRow)
_TAG = table_of(IdeaTagRow)
_RUN = table_of(ScheduledRunRow)
_CONVERSATION = table_of(ConversationRow)
_MESSAGE = table_of(MessageRow)
_CUSTOMER = table_of(CustomerRow)
_THREAD = table_of(StaffThreadRow)
_SETTLED = (IdeaStatus.DONE, IdeaStatus.DECLINED, IdeaStatus.DUPLICATE, IdeaStatus.DRAFT)
NEW_IDEAS_SHOWN = 20
MOST_REQUESTED_SHOWN = 5
THEMES_SHOWN = 10
# Themes group the open ideas of the last 90 days (at most 2,000, the most asked first).
THEME_WINDOW = timedelta(days=90)
THEME_IDEAS = 2000
THEME_AT_LEAST = 0.3
# Likely duplicates: each open idea of the period (at most this many, newest first) is looked
# up like a staff card's, so the work grows with the period, not with the backlog.
PAIR_IDEAS = 200
PAIRS_SHOWN = 10
# A flow's line tells of the conversations started in the last 30 days, not only this period's:
# many of those are still under way.
FLOW_WINDOW = timedelta(days=30)


class SqlDigestSource:
    """The digest's queries, read-only, each in its own short session."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        similar: SimilarIdeas | None = None,
    ) -> None:
        self._sessions = sessions
        self._similar = similar

    async def last_run(self, *, job: str) -> datetime | None:
        """When the job last ran on its schedule."""
        async with self._sessions() as session:
            ran: datetime | None = (
                await session.execute(select(func.max(_RUN.c.ran_at)).where(_RUN.c.job == job))
            ).scalar_one()
        return ran

    async def has_run(self, *, job: str, period: str) -> bool:
        """True if the job ran for the period."""
        async with self._sessions() as session:
            found = await session.execute(
                select(_RUN.c.id).where(_RUN.c.job == job).where(_RUN.c.period == period)
            )
            return found.first() is not None

    async def gather(
        self, *, since: datetime, until: datetime, waiting_longer_than: timedelta
    ) -> Digest:
        """The digest of the period."""
        linked = (
            select(func.count())
            .select_from(_FOLLOWER)
            .where(_FOLLOWER.c.idea_id == _IDEA.c.id)
            .scalar_subquery()
        )
        ideas = select(_IDEA.c.id, _SHOWN_TITLE, _IDEA.c.status, linked.label("linked"))
        open_ideas = [status.value for status in _SETTLED]
        async with self._sessions() as session:
            new = await session.execute(
                ideas.where(_IDEA.c.created_at >= since)
                .where(_IDEA.c.created_at < until)
                .where(_IDEA.c.status != IdeaStatus.DRAFT.value)
                .order_by(_IDEA.c.id)
                .limit(NEW_IDEAS_SHOWN)
            )
            new_ideas = [DigestIdea(**row._mapping) for row in new]
            top = await session.execute(
                ideas.where(_IDEA.c.status.not_in(open_ideas))
                .order_by(linked.desc(), _IDEA.c.id)
                .limit(MOST_REQUESTED_SHOWN)
            )
            most_requested = [DigestIdea(**row._mapping) for row in top]
            changes = await session.execute(
                select(
                    _CHANGE.c.idea_id,
                    _SHOWN_TITLE,
                    _CHANGE.c.from_status,
                    _CHANGE.c.to_status,
                    _CHANGE.c.changed_by.label("by"),
                )
                .join(_IDEA, _IDEA.c.id == _CHANGE.c.idea_id)
                .where(_CHANGE.c.created_at >= since)
                .where(_CHANGE.c.created_at < until)
                .where(_CHANGE.c.from_status != _CHANGE.c.to_status)
                .order_by(_CHANGE.c.id)
            )
            status_changes = [DigestChange(**row._mapping) for row in changes]
            themes = await session.execute(
                select(_TAG.c.tag, func.count())
                .join(_IDEA, _IDEA.c.id == _TAG.c.idea_id)
                .where(_IDEA.c.status.not_in(open_ideas))
                .group_by(_TAG.c.tag)
                .order_by(func.count().desc(), _TAG.c.tag)
                .limit(THEMES_SHOWN)
            )
            tag_counts = [(str(tag), int(count)) for tag, count in themes]
            groups = await self._themes(session, until - THEME_WINDOW, open_ideas)
            waiting = await self._waiting(session, until - waiting_longer_than)
            duplicates = await self._duplicates(session, since, until)
        funnels = await SqlFlowStats(self._sessions).live_funnels(
            since=until - FLOW_WINDOW, now=until
        )
        return Digest(
            since=since.isoformat(),
            until=until.isoformat(),
            new_ideas=new_ideas,
            most_requested=most_requested,
            status_changes=status_changes,
            themes=groups,
            tags=tag_counts,
            waiting=waiting,
            flows=[DigestFlow.of(funnel) for funnel in funnels],
            duplicates=duplicates,
        )

    async def _duplicates(
        self, session: AsyncSession, since: datetime, until: datetime
    ) -> list[DigestPair]:
        """Open ideas of the period and the open idea each is most like, if likely the same."""
        similar = self._similar
        if similar is None:
            return []
        # A likely pair scores as a theme's members do; a model has its own threshold.
        at_least = THEME_AT_LEAST if similar.semantic is None else similar.semantic.at_least
        rows = (
            await session.execute(
                select(_IDEA.c.id, _IDEA.c.title, _IDEA.c.description)
                .where(_IDEA.c.status.in_(OPEN_STATUSES))
                .where(_IDEA.c.created_at >= since)
                .where(_IDEA.c.created_at < until)
                .order_by(_IDEA.c.id.desc())
                .limit(PAIR_IDEAS)
            )
        ).all()
        # The same search as a staff card's: (lower id, higher id) → the pair's best score.
        scores: dict[tuple[int, int], float] = {}
        for row in rows:
            found, _ = await staff_candidates(
                session, similar, text=idea_text(row.title, row.description), excluding=row.id
            )
            for best in found[:1]:
                if best.score >= at_least:
                    pair = (
                        min(row.id, best.candidate.idea_id),
                        max(row.id, best.candidate.idea_id),
                    )
                    scores[pair] = max(scores.get(pair, best.score), best.score)
        ranked = sorted(scores, key=lambda pair: (-scores[pair], pair))[:PAIRS_SHOWN]
        titles = await self._shown_titles(session, {idea_id for pair in ranked for idea_id in pair})
        return [
            DigestPair(first, titles[first], second, titles[second])
            for first, second in ranked
            if first in titles and second in titles
        ]

    async def _shown_titles(self, session: AsyncSession, idea_ids: set[int]) -> dict[int, str]:
        if not idea_ids:
            return {}
        rows = await session.execute(
            select(_IDEA.c.id, _SHOWN_TITLE).where(_IDEA.c.id.in_(sorted(idea_ids)))
        )
        return {row.id: row.title for row in rows}

    async def _themes(
        self, session: AsyncSession, since: datetime, settled: list[str]
    ) -> list[tuple[str, int]]:
        """Groups of similar open ideas of the last months, biggest first."""
        return await theme_groups(session, since=since, until=None, excluded=settled)

    async def _waiting(self, session: AsyncSession, before: datetime) -> list[WaitingConversation]:
        """Conversations with staff whose customer wrote before ``before`` and got no reply."""
        rows = await session.execute(
            select(
                _MESSAGE.c.conversation_id,
                _MESSAGE.c.direction,
                _MESSAGE.c.created_at,
                _CUSTOMER.c.display_name,
                _THREAD.c.room_chat_id,
                _THREAD.c.thread_ref,
            )
            .join(_CONVERSATION, _CONVERSATION.c.id == _MESSAGE.c.conversation_id)
            .join(_CUSTOMER, _CUSTOMER.c.id == _CONVERSATION.c.customer_id)
            .join(_THREAD, _THREAD.c.conversation_id == _CONVERSATION.c.id)
            .where(_CONVERSATION.c.status == ConversationStatus.WITH_STAFF.value)
            .where(_MESSAGE.c.direction.in_([Direction.INBOUND.value, Direction.STAFF.value]))
            # Before the hand-off the customer talked with the flow, not waited for staff.
            .where(_MESSAGE.c.created_at >= _THREAD.c.created_at)
            .order_by(_MESSAGE.c.conversation_id, _MESSAGE.c.id)
        )
        unanswered: dict[int, tuple[datetime, str, str, str]] = {}
        for row in rows:
            if row.direction == Direction.STAFF.value:
                unanswered.pop(row.conversation_id, None)
            elif row.conversation_id not in unanswered:
                unanswered[row.conversation_id] = (
                    row.created_at,
                    row.display_name,
                    row.room_chat_id,
                    row.thread_ref or "",
                )
        return [
            WaitingConversation(
                conversation_id=conversation_id,
                customer_name=name,
                since=since.isoformat(),
                thread_channel=channel,
                thread_ref=thread_ref,
            )
            for conversation_id, (since, name, channel, thread_ref) in sorted(unanswered.items())
            if since <= before
        ]


async def theme_groups(
    session: AsyncSession, *, since: datetime, until: datetime | None, excluded: list[str]
) -> list[tuple[str, int]]:
    """Similar ideas of the period grouped, biggest first: the most asked one's title, how many."""
    linked = (
        select(func.count())
        .select_from(_FOLLOWER)
        .where(_FOLLOWER.c.idea_id == _IDEA.c.id)
        .scalar_subquery()
    )
    chosen = (
        select(_IDEA.c.id, _IDEA.c.title, _IDEA.c.description, linked.label("linked"))
        .where(_IDEA.c.status.not_in(excluded))
        .where(_IDEA.c.created_at >= since)
    )
    if until is not None:
        chosen = chosen.where(_IDEA.c.created_at < until)
    rows = (
        await session.execute(chosen.order_by(linked.desc(), _IDEA.c.id).limit(THEME_IDEAS))
    ).all()
    index = SimilarityIndex()
    for row in rows:
        index.add(row.id, f"{row.title} {row.description}")
    grouped: set[int] = set()
    themes: list[tuple[str, int]] = []
    for row in rows:  # the most asked first, so it names its group
        if row.id in grouped:
            continue
        alike = index.search(
            f"{row.title} {row.description}", limit=THEME_IDEAS, at_least=THEME_AT_LEAST
        )
        members = {match.idea_id for match in alike} - grouped
        members.add(row.id)
        grouped |= members
        if len(members) > 1:
            themes.append((row.title, len(members)))
    themes.sort(key=lambda theme: -theme[1])
    return themes[:THEMES_SHOWN]
