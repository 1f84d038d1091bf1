"""A database seeded for the report of October 2026, with every figure known in advance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import import_flows
from handlers.flows.loader import LoadedFlow
from handlers.ideas.report import Month
from storage.flows.library import SqlFlowLibrary
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
    StaffThreadRow,
    table_of,
)

Sessions = async_sessionmaker[AsyncSession]
OCTOBER = Month(2026, 10)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# A customer's words as hostile as they come: markup, a script, emoji, and far too long.
HOSTILE = "<script>alert('x')</script> Export <b>everything</b> to CSV 🎉🚀 " + "very " * 300


class Calendar:
    """Moments of the seeded month (10 below), the month before (9) and after (11), in UTC."""

    def __init__(self, month: Month) -> None:
        self._months = {9: month.previous(), 10: month, 11: month.next()}

    def __call__(self, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
        chosen = self._months[month]
        return datetime(chosen.year, chosen.month, day, hour, minute, tzinfo=UTC)


async def _add(session: AsyncSession, row: type[Any], **values: Any) -> int:
    table = table_of(row)
    if "id" not in table.c:  # links keyed by what they link: nothing to return
        await session.execute(insert(table).values(**values))
        return 0
    inserted = await session.execute(insert(table).values(**values).returning(table.c.id))
    return int(inserted.scalar_one())


async def _conversation(
    session: AsyncSession, customer: int, created: datetime, step: str, status: str, **more: Any
) -> int:
    return await _add(
        session,
        ConversationRow,
        customer_id=customer,
        platform="telegram",
        chat_id=str(customer),
        flow_id="idea",
        flow_version=1,
        step=step,
        status=status,
        state={},
        created_at=created,
        updated_at=created,
        **more,
    )


async def _idea(
    session: AsyncSession, customer: int, conversation: int, created: datetime, **more: Any
) -> int:
    values = {
        "title": "An idea",
        "description": "",
        "status": "new",
        "language": "en",
        "answers": {},
        "attachments": [],
    } | more
    return await _add(
        session,
        IdeaRow,
        customer_id=customer,
        conversation_id=conversation,
        created_at=created,
        updated_at=created,
        **values,
    )


async def _change(
    session: AsyncSession, idea: int, moved: tuple[str, str], when: datetime, notified: int
) -> None:
    await _add(
        session,
        IdeaStatusChangeRow,
        idea_id=idea,
        from_status=moved[0],
        to_status=moved[1],
        changed_by="Staff",
        message="",
        notified=notified,
        created_at=when,
    )


async def _sent(
    session: AsyncSession,
    customer: int,
    when: datetime | None,
    *,
    created: datetime,
    state: str = "sent",
) -> int:
    return await _add(
        session,
        OutboxRow,
        destination=f"telegram:{customer}",
        platform="telegram",
        chat_id=str(customer),
        action="send",
        payload={"action": "send", "text": "News of your idea"},
        priority=1,
        state=state,
        sent_at=when,
        created_at=created,
    )


async def _thread(
    session: AsyncSession, conversation: int, handed: datetime, reply_after: timedelta | None
) -> None:
    await _add(
        session,
        StaffThreadRow,
        conversation_id=conversation,
        room_platform="slack",
        room_chat_id="C0STAFF",
        thread_ref=f"{conversation}.0",
        card={},
        created_at=handed,
        updated_at=handed,
    )
    customer_of = {"conversation_id": conversation, "customer_id": conversation, "attachments": []}
    # A note is staff's own and an earlier message the flow's: neither is a reply.
    await _add(
        session, MessageRow, direction="note", text="n", created_at=handed + HOUR / 2, **customer_of
    )
    await _add(
        session, MessageRow, direction="staff", text="x", created_at=handed - HOUR, **customer_of
    )
    if reply_after is not None:
        await _add(
            session,
            MessageRow,
            direction="staff",
            text="Thanks!",
            created_at=handed + reply_after,
            **customer_of,
        )


async def seed_october(
    sessions: Sessions, flows: list[LoadedFlow], *, month: Month = OCTOBER
) -> None:
    """Six customers, their conversations, ideas, news, staff replies and one campaign."""
    # The figures are October 2026's; another month moves every date along with it.
    at = Calendar(month)
    await import_flows(SqlFlowLibrary(sessions), flows)
    async with sessions.begin() as session:
        customers = [
            await _add(
                session,
                CustomerRow,
                platform="telegram",
                platform_user_id=str(number),
                chat_id=str(number),
                display_name=f"Customer Name {number}",
                language="en",
            )
            for number in range(1, 7)
        ]
        assert customers == [1, 2, 3, 4, 5, 6]
        campaign = await _add(
            session,
            CampaignRow,
            name="autumn",
            flow_id="idea",
            texts={"en": "Tell us one idea"},
            audience={},
            schedule="now",
            state="done",
            created_by="admin",
        )
        await _conversations_and_ideas(session, campaign, at)
        await _news_and_invitations(session, campaign, at)


async def _conversations_and_ideas(session: AsyncSession, campaign: int, at: Calendar) -> None:
    one = await _conversation(session, 1, at(10, 2, 10), "end", "finished")
    two = await _conversation(session, 2, at(10, 3, 8), "end", "with_staff")
    three = await _conversation(session, 3, at(10, 5), "problem", "cancelled")
    four = await _conversation(session, 4, at(9, 10, 10), "end", "finished")
    five = await _conversation(session, 5, at(10, 20, 7), "end", "finished", campaign_id=campaign)
    six = await _conversation(session, 6, at(11, 2), "end", "finished")
    await _thread(session, one, at(10, 2, 10, 5), 2 * HOUR)
    await _thread(session, two, at(10, 3, 9), 10 * HOUR)
    await _thread(session, four, at(9, 10, 12), HOUR)
    await _thread(session, five, at(10, 20, 8), None)

    export = await _idea(
        session,
        1,
        one,
        at(10, 2, 10, 4),
        title="Export to CSV",
        description=HOSTILE,
        status="planned",
    )
    await _idea(session, 2, two, at(10, 3, 8, 55), title="Dark mode", description="Dark mode, pls")
    shipped = await _idea(
        session, 5, five, at(10, 20, 8), title="Faster app", problem="It is slow", status="done"
    )
    declined = await _idea(session, 4, four, at(9, 10, 11), title="Fax", status="declined")
    await _idea(session, 3, three, at(10, 6), title="Half an idea", status="draft")
    await _idea(session, 6, six, at(11, 2), title="Later idea")
    await _change(session, export, ("new", "under_review"), at(10, 4, 10, 4), 1)
    await _change(session, export, ("under_review", "planned"), at(11, 5), 1)
    await _change(session, shipped, ("new", "done"), at(10, 21, 8), 2)
    await _change(session, declined, ("new", "declined"), at(9, 12, 11), 1)
    for idea, tag in ((export, "export"), (export, "csv"), (2, "export")):
        await _add(session, IdeaTagRow, idea_id=idea, tag=tag, created_at=at(10, 10))
    for idea, customer, when in (
        (export, 1, at(10, 2, 10, 4)),
        (export, 2, at(10, 10)),
        (export, 4, at(10, 11)),
        (2, 2, at(10, 3, 8, 55)),
        (shipped, 5, at(10, 20, 8)),
        (shipped, 3, at(11, 3)),
        (declined, 4, at(9, 10, 11)),
    ):
        await _add(
            session, IdeaFollowerRow, idea_id=idea, customer_id=customer, kind="me", created_at=when
        )


async def _news_and_invitations(session: AsyncSession, campaign: int, at: Calendar) -> None:
    await _sent(session, 1, at(10, 4, 10, 5), created=at(10, 1))
    await _sent(session, 5, at(10, 21, 8, 1), created=at(10, 1))
    await _sent(session, 5, at(10, 21, 9), created=at(10, 1))
    await _sent(session, 2, None, created=at(10, 1), state="pending")
    await _sent(session, 4, at(9, 12, 11, 1), created=at(10, 1))
    invitation_row = await _sent(session, 6, at(10, 15, 10), created=at(10, 1))
    for customer, outbox_id, delivered, opted_out in (
        (5, None, at(10, 15, 10), None),
        (6, invitation_row, at(10, 15, 10), None),
        (1, None, None, None),
        (2, None, at(10, 15, 10), at(10, 16)),
    ):
        await _add(
            session,
            CampaignInvitationRow,
            campaign_id=campaign,
            run="once",
            customer_id=customer,
            language="en",
            outbox_id=outbox_id,
            delivered_at=delivered,
            opted_out_at=opted_out,
            created_at=at(10, 15, 9),
        )
