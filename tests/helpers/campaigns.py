"""Campaigns in tests: customers seeded as the respect rules see them, a desk on a set clock."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.campaigns.audience import Audience
from handlers.campaigns.campaign import NewCampaign, Respect
from handlers.campaigns.desk import CampaignDesk
from handlers.flows.schema import FlowDefinition
from storage.campaigns.store import SqlCampaigns
from storage.tables import (
    CampaignInvitationRow,
    ConversationRow,
    CustomerRow,
    IdeaFollowerRow,
    IdeaRow,
    IdeaTagRow,
    OutboxRow,
    table_of,
)
from storage.types import utc_now
from tests.helpers.dialogue import CountingSignal

OSLO = ZoneInfo("Europe/Oslo")
_CHATS = itertools.count(1000)


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = field(default_factory=utc_now)

    def __call__(self) -> datetime:
        return self.now


class LiveFlows:
    """A catalog in which only the given flows are live (the desk asks nothing else)."""

    def __init__(self, *flow_ids: str) -> None:
        self._live = set(flow_ids)

    @property
    def default_flow(self) -> FlowDefinition:
        raise AssertionError("the campaign desk needs no default flow")

    def live(self, flow_id: str) -> FlowDefinition | None:
        return object() if flow_id in self._live else None  # type: ignore[return-value]

    async def get(self, *, flow_id: str, version: int) -> FlowDefinition:
        raise AssertionError("the campaign desk reads no old versions")


def respect(*, quiet: tuple[int, int] = (0, 0), cap_days: int = 30) -> Respect:
    """The respect rules; no quiet hours unless asked for."""
    return Respect(
        cap_days=cap_days, quiet_from=time(quiet[0]), quiet_until=time(quiet[1]), zone=OSLO
    )


def campaign_desk(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    rules: Respect | None = None,
    batch_size: int = 100,
) -> CampaignDesk:
    """A desk over ``sessions`` where the flow ``idea`` is live."""
    return CampaignDesk(
        campaigns=SqlCampaigns(sessions),
        flows=LiveFlows("idea"),
        respect=rules or respect(),
        outbox_signal=CountingSignal(),
        clock=clock,
        batch_size=batch_size,
    )


def new_campaign(
    name: str = "spring",
    *,
    texts: dict[str, str] | None = None,
    audience: Audience | None = None,
    schedule: str = "now",
) -> NewCampaign:
    return NewCampaign(
        name=name,
        flow_id="idea",
        texts=texts or {"en": "Got a minute? Tell us one idea.", "nb": "Har du et minutt?"},
        audience=audience or Audience(),
        schedule=schedule,
        created_by="test",
    )


async def add_customer(
    sessions: async_sessionmaker[AsyncSession],
    *,
    platform: str = "telegram",
    language: str = "en",
    **columns: Any,
) -> int:
    """A customer row; ``columns`` override the defaults (unreachable, wants_invitations...)."""
    chat = str(next(_CHATS))
    values = {
        "platform": platform,
        "platform_user_id": chat,
        "chat_id": chat,
        "display_name": f"Customer {chat}",
        "language": language,
        "created_at": utc_now(),
        "updated_at": utc_now(),
        **columns,
    }
    async with sessions() as session, session.begin():
        inserted = await session.execute(
            insert(table_of(CustomerRow)).values(values).returning(table_of(CustomerRow).c.id)
        )
        customer_id: int = inserted.scalar_one()
    return customer_id


async def add_conversation(
    sessions: async_sessionmaker[AsyncSession],
    customer_id: int,
    *,
    status: str = "finished",
    updated_at: datetime | None = None,
) -> int:
    """A conversation of the customer's, last touched at ``updated_at``."""
    when = updated_at or utc_now()
    async with sessions() as session, session.begin():
        inserted = await session.execute(
            insert(table_of(ConversationRow))
            .values(
                customer_id=customer_id,
                platform="telegram",
                chat_id="x",
                flow_id="idea",
                flow_version=1,
                step="end",
                status=status,
                state={},
                created_at=when,
                updated_at=when,
            )
            .returning(table_of(ConversationRow).c.id)
        )
        conversation_id: int = inserted.scalar_one()
    return conversation_id


async def add_idea(
    sessions: async_sessionmaker[AsyncSession],
    customer_id: int,
    *,
    status: str = "new",
    tag: str = "",
) -> int:
    """An idea the customer wrote (and so follows), with a tag if given."""
    conversation_id = await add_conversation(
        sessions, customer_id, updated_at=utc_now() - timedelta(days=365)
    )
    async with sessions() as session, session.begin():
        inserted = await session.execute(
            insert(table_of(IdeaRow))
            .values(
                customer_id=customer_id,
                conversation_id=conversation_id,
                title="An idea",
                description="",
                answers={},
                attachments=[],
                status=status,
                language="en",
                source_votes=0,
                created_at=utc_now(),
                updated_at=utc_now(),
            )
            .returning(table_of(IdeaRow).c.id)
        )
        idea_id: int = inserted.scalar_one()
        await session.execute(
            insert(table_of(IdeaFollowerRow)).values(
                idea_id=idea_id, customer_id=customer_id, kind="author", created_at=utc_now()
            )
        )
        if tag:
            await session.execute(
                insert(table_of(IdeaTagRow)).values(idea_id=idea_id, tag=tag, created_at=utc_now())
            )
    return idea_id


async def invited(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    """The customers invited, once per invitation row, in order."""
    async with sessions() as session:
        rows = await session.execute(
            select(table_of(CampaignInvitationRow).c.customer_id).order_by(
                table_of(CampaignInvitationRow).c.customer_id
            )
        )
        return list(rows.scalars())


async def outbox_rows(sessions: async_sessionmaker[AsyncSession]) -> int:
    """How many rows the outbox holds."""
    async with sessions() as session:
        found = await session.execute(select(func.count()).select_from(table_of(OutboxRow)))
        return int(found.scalar_one())
