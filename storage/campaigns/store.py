"""Campaigns in SQL: stored campaigns, their audience, invitations written with their sends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.campaigns.audience import Audience
from handlers.campaigns.campaign import (
    AudienceSize,
    Campaign,
    CampaignClash,
    CampaignFigures,
    CampaignState,
    NewCampaign,
    Respect,
)
from handlers.messages import ConversationKey
from handlers.ports import InvitationBatch, InvitationRound
from storage.campaigns.audience import (
    audience_query,
    customer_ids,
    not_invited_in,
    not_speaking,
    respectful,
    speaking,
)
from storage.campaigns.figures import campaign_figures
from storage.outbox.actions import customer_delivery
from storage.outbox.rows import BULK, outbox_row
from storage.tables import (
    CampaignInvitationRow,
    CampaignRow,
    OutboxRow,
    OutboxState,
    table_of,
)
from storage.types import utc_now
from storage.upsert import insert_if_absent

_CAMPAIGN = table_of(CampaignRow)
_INVITATION = table_of(CampaignInvitationRow)
_OUTBOX = table_of(OutboxRow)
# Every process's campaign tick takes this PostgreSQL lock for its transaction, so two never
# count a customer's invitations at once (SQLite's BEGIN IMMEDIATE already serialises them).
_INVITING_LOCK = 0x1DEA_CA3B
# Starts and resumes take this one, so two never both find no other campaign running.
_STARTING_LOCK = 0x1DEA_CA3C


def _campaign(row: Any) -> Campaign:
    return Campaign(
        id=row.id,
        name=row.name,
        flow_id=row.flow_id,
        texts=dict(row.texts),
        audience=Audience.from_json(row.audience),
        schedule=row.schedule,
        state=CampaignState(row.state),
        created_by=row.created_by,
        created_at=row.created_at,
    )


class SqlCampaigns:
    """The Campaigns port on SQLite or PostgreSQL."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def create(self, campaign: NewCampaign) -> Campaign | None:
        """Store a new campaign as a draft; None if one of that name exists."""
        now = utc_now()
        async with self._sessions() as session, session.begin():
            created = await insert_if_absent(
                session,
                CampaignRow,
                conflict=["name"],
                values={
                    "name": campaign.name,
                    "flow_id": campaign.flow_id,
                    "texts": campaign.texts,
                    "audience": campaign.audience.to_json(),
                    "schedule": campaign.schedule,
                    "state": CampaignState.DRAFT.value,
                    "created_by": campaign.created_by,
                    "created_at": now,
                    "changed_by": campaign.created_by,
                    "changed_at": now,
                },
            )
        return None if created is None else await self.named(campaign.name)

    async def named(self, name: str) -> Campaign | None:
        """The campaign of that name, if there is one."""
        async with self._sessions() as session:
            row = (await session.execute(select(_CAMPAIGN).where(_CAMPAIGN.c.name == name))).first()
        return None if row is None else _campaign(row)

    async def all(self) -> list[Campaign]:
        """Every campaign, the newest first."""
        async with self._sessions() as session:
            rows = await session.execute(select(_CAMPAIGN).order_by(_CAMPAIGN.c.id.desc()))
        return [_campaign(row) for row in rows]

    async def running(self) -> list[Campaign]:
        """The campaigns that are inviting now, the oldest first."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(_CAMPAIGN)
                .where(_CAMPAIGN.c.state == CampaignState.RUNNING.value)
                .order_by(_CAMPAIGN.c.id)
            )
        return [_campaign(row) for row in rows]

    async def set_state(
        self, *, campaign_id: int, state: CampaignState, expected: CampaignState, actor: str
    ) -> bool:
        """Move a campaign from ``expected`` to ``state``; False if it was not in ``expected``."""
        async with self._sessions() as session, session.begin():
            return await _set_state(
                session, campaign_id=campaign_id, state=state, expected=expected, actor=actor
            )

    async def audience_size(
        self, *, audience: Audience, respect: Respect, now: datetime, sample: int
    ) -> AudienceSize:
        """Who the audience holds now, after the respect rules (the hour aside)."""
        query = respectful(audience_query(audience, now=now), respect, now=now).subquery()
        async with self._sessions() as session:
            languages = await session.execute(
                select(query.c.language, func.count()).group_by(query.c.language)
            )
            by_language = {language: count for language, count in languages}
            few = await session.execute(
                select(query.c.id, query.c.platform, query.c.language).limit(sample)
            )
            sampled = [(row.id, row.platform, row.language) for row in few]
        return AudienceSize(sum(by_language.values()), by_language, sampled)

    async def clash(
        self, *, campaign_id: int, audience: Audience, now: datetime
    ) -> CampaignClash | None:
        """The first other running campaign that shares customers with ``audience``, if any."""
        async with self._sessions() as session:
            return await _clash(session, campaign_id=campaign_id, audience=audience, now=now)

    async def run_alone(
        self,
        *,
        campaign_id: int,
        audience: Audience,
        expected: CampaignState,
        actor: str,
        now: datetime,
    ) -> CampaignClash | bool:
        """Run it unless a running one shares customers (then that one); False if not expected."""
        async with self._sessions() as session, session.begin():
            # Check and change in one transaction that two starts take in turn: otherwise both
            # could find no clash before either runs (SQLite's BEGIN IMMEDIATE takes turns too).
            await _take_lock(session, _STARTING_LOCK)
            clash = await _clash(session, campaign_id=campaign_id, audience=audience, now=now)
            if clash is not None:
                return clash
            return await _set_state(
                session,
                campaign_id=campaign_id,
                state=CampaignState.RUNNING,
                expected=expected,
                actor=actor,
            )

    async def invite(self, invitation_round: InvitationRound) -> InvitationBatch:
        """Record and enqueue one batch of invitations in one transaction; what it came to."""
        query = not_invited_in(
            respectful(
                audience_query(invitation_round.audience, now=invitation_round.now),
                invitation_round.respect,
                now=invitation_round.now,
            ),
            campaign_id=invitation_round.campaign_id,
            run=invitation_round.run,
        )
        async with self._sessions() as session, session.begin():
            await _take_lock(session, _INVITING_LOCK)
            if not await _still_running(session, invitation_round.campaign_id):
                return InvitationBatch(invited=0, without_text={})
            languages = tuple(invitation_round.messages)
            found = await session.execute(speaking(query, languages).limit(invitation_round.limit))
            invited = 0
            for customer in found.all():
                invited += await _invite_one(session, invitation_round, customer)
            unspoken = not_speaking(query, languages).subquery()
            without_text = await session.execute(
                select(unspoken.c.language, func.count()).group_by(unspoken.c.language)
            )
            return InvitationBatch(
                invited=invited,
                without_text={language: count for language, count in without_text.all()},
            )

    async def hold(self, *, campaign_id: int) -> int:
        """Drop the campaign's invitations still waiting in the outbox; how many."""
        now = utc_now()
        async with self._sessions() as session, session.begin():
            waiting = select(_OUTBOX.c.id).where(
                _OUTBOX.c.id.in_(
                    select(_INVITATION.c.outbox_id).where(_INVITATION.c.campaign_id == campaign_id)
                ),
                _OUTBOX.c.state == OutboxState.PENDING.value,
                # One the delivery worker holds may be on its way: it counts as sent.
                or_(_OUTBOX.c.lease_until.is_(None), _OUTBOX.c.lease_until < now),
            )
            await _take_lock(session, _INVITING_LOCK)
            dropped = list((await session.execute(waiting)).scalars())
            if not dropped:
                return 0
            await session.execute(delete(_OUTBOX).where(_OUTBOX.c.id.in_(dropped)))
            await session.execute(delete(_INVITATION).where(_INVITATION.c.outbox_id.in_(dropped)))
        return len(dropped)

    async def record_deliveries(self) -> int:
        """Copy the sent time of delivered invitations from the outbox; how many."""
        sent = (
            select(_OUTBOX.c.sent_at)
            .where(_OUTBOX.c.id == _INVITATION.c.outbox_id)
            .where(_OUTBOX.c.state == OutboxState.SENT.value)
            .scalar_subquery()
        )
        async with self._sessions() as session, session.begin():
            recorded = await session.execute(
                update(_INVITATION)
                .where(_INVITATION.c.delivered_at.is_(None))
                .where(_INVITATION.c.outbox_id.is_not(None))
                .where(
                    exists()
                    .where(_OUTBOX.c.id == _INVITATION.c.outbox_id)
                    .where(_OUTBOX.c.state == OutboxState.SENT.value)
                )
                .values(delivered_at=sent)
            )
        return int(getattr(recorded, "rowcount", 0))

    async def figures(self, *, campaign_id: int) -> list[CampaignFigures]:
        """What the campaign's invitations came to, per language."""
        async with self._sessions() as session:
            return await campaign_figures(session, campaign_id=campaign_id)


async def _take_lock(session: AsyncSession, key: int) -> None:
    """Wait for other processes holding ``key`` (PostgreSQL; SQLite writes one at a time)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


async def _set_state(
    session: AsyncSession,
    *,
    campaign_id: int,
    state: CampaignState,
    expected: CampaignState,
    actor: str,
) -> bool:
    """Move a campaign from ``expected`` to ``state`` in the session; False if it was not."""
    moved = await session.execute(
        update(_CAMPAIGN)
        .where(_CAMPAIGN.c.id == campaign_id)
        .where(_CAMPAIGN.c.state == expected.value)
        .values(state=state.value, changed_by=actor, changed_at=utc_now())
    )
    return bool(getattr(moved, "rowcount", 0))


async def _clash(
    session: AsyncSession, *, campaign_id: int, audience: Audience, now: datetime
) -> CampaignClash | None:
    """The first other running campaign whose audience shares customers (respect aside)."""
    running = await session.execute(
        select(_CAMPAIGN.c.name, _CAMPAIGN.c.audience)
        .where(_CAMPAIGN.c.state == CampaignState.RUNNING.value)
        .where(_CAMPAIGN.c.id != campaign_id)
        .order_by(_CAMPAIGN.c.id)
    )
    ours = customer_ids(audience_query(audience, now=now))
    for other in running.all():
        theirs = customer_ids(audience_query(Audience.from_json(other.audience), now=now))
        both = ours.intersect(theirs).subquery()
        shared = int((await session.execute(select(func.count()).select_from(both))).scalar_one())
        if shared:
            return CampaignClash(other.name, shared)
    return None


async def _still_running(session: AsyncSession, campaign_id: int) -> bool:
    """True if the campaign is running as this transaction sees it, after the lock."""
    state = await session.execute(select(_CAMPAIGN.c.state).where(_CAMPAIGN.c.id == campaign_id))
    return state.scalar() == CampaignState.RUNNING.value


async def _invite_one(
    session: AsyncSession, invitation_round: InvitationRound, customer: Any
) -> int:
    """Write one customer's invitation row and its outbox row; 0 if the row was there already."""
    invitation_id = await insert_if_absent(
        session,
        CampaignInvitationRow,
        conflict=["campaign_id", "run", "customer_id"],
        values={
            "campaign_id": invitation_round.campaign_id,
            "run": invitation_round.run,
            "customer_id": customer.id,
            "language": customer.language,
            "created_at": invitation_round.now,
        },
    )
    if invitation_id is None:
        return 0
    key = ConversationKey(customer.platform, customer.chat_id, customer.platform_user_id)
    values = outbox_row(
        destination=key.destination,
        platform=customer.platform,
        chat_id=customer.chat_id,
        delivery=customer_delivery(invitation_round.messages[customer.language]),
        priority=BULK,
        now=utc_now(),
    )
    outbox_id = (
        await session.execute(insert(_OUTBOX).values(values).returning(_OUTBOX.c.id))
    ).scalar_one()
    await session.execute(
        update(_INVITATION).where(_INVITATION.c.id == invitation_id).values(outbox_id=outbox_id)
    )
    return 1
