"""Finding customers, and everything stored about one of them as JSON, for an export."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.ports import CustomerMatch, Direction
from storage.outbox.rows import BULK
from storage.tables import (
    CampaignInvitationRow,
    CampaignRow,
    ConversationRow,
    CustomerRow,
    IdeaFollowerRow,
    IdeaRow,
    MessageRow,
    OutboxRow,
    OutboxState,
    table_of,
)

_CAMPAIGN = table_of(CampaignRow)
_INVITATION = table_of(CampaignInvitationRow)
_CUSTOMER = table_of(CustomerRow)
_CONVERSATION = table_of(ConversationRow)
_MESSAGE = table_of(MessageRow)
_IDEA = table_of(IdeaRow)
_FOLLOWER = table_of(IdeaFollowerRow)
_OUTBOX = table_of(OutboxRow)
# An erased customer's row is a tombstone under this platform: nothing to find or export.
ERASED_PLATFORM = "erased"


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class SqlCustomerRecords:
    """Finds customers and exports one, reading only that customer's rows."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def find_customers(self, *, text: str, limit: int) -> list[CustomerMatch]:
        """Customers whose name, e-mail or platform id contains ``text``, newest first."""
        # Literal: a % or _ in what the operator typed is no wildcard.
        lowered = text.lower()
        emails = select(_IDEA.c.customer_id).where(
            func.lower(_IDEA.c.email).contains(lowered, autoescape=True)
        )
        query = (
            select(_CUSTOMER)
            .where(_CUSTOMER.c.platform != ERASED_PLATFORM)
            .where(
                or_(
                    func.lower(_CUSTOMER.c.display_name).contains(lowered, autoescape=True),
                    func.lower(_CUSTOMER.c.platform_user_id).contains(lowered, autoescape=True),
                    func.lower(_CUSTOMER.c.chat_id).contains(lowered, autoescape=True),
                    cast(_CUSTOMER.c.id, String) == text,
                    _CUSTOMER.c.id.in_(emails),
                )
            )
            .order_by(_CUSTOMER.c.id.desc())
            .limit(limit)
        )
        async with self._sessions() as session:
            customers = (await session.execute(query)).all()
            return [await _match(session, row) for row in customers]

    async def export_customer(self, *, customer_id: int) -> dict[str, Any] | None:
        """Profile, conversations with transcripts, ideas, linked ideas, news, invitations."""
        async with self._sessions() as session:
            customer = (
                await session.execute(
                    select(_CUSTOMER)
                    .where(_CUSTOMER.c.id == customer_id)
                    .where(_CUSTOMER.c.platform != ERASED_PLATFORM)
                )
            ).first()
            if customer is None:
                return None
            return {
                "customer": _profile(customer),
                "conversations": await _conversations(session, customer_id),
                "ideas": await _ideas(session, customer_id),
                "linked_ideas": await _linked_ideas(session, customer_id),
                "news": await _news(session, customer),
                "invitations": await _invitations(session, customer_id),
            }


async def _match(session: AsyncSession, row: Any) -> CustomerMatch:
    emails = await session.execute(
        select(_IDEA.c.email)
        .where(_IDEA.c.customer_id == row.id)
        .where(_IDEA.c.email.is_not(None))
        .distinct()
    )
    conversations = await session.scalar(
        select(func.count()).where(_CONVERSATION.c.customer_id == row.id)
    )
    return CustomerMatch(
        id=row.id,
        platform=row.platform,
        platform_user_id=row.platform_user_id,
        display_name=row.display_name,
        emails=tuple(sorted(email for email in emails.scalars() if email)),
        conversations=int(conversations or 0),
        created_at=row.created_at,
    )


def _profile(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "platform": row.platform,
        "platform_user_id": row.platform_user_id,
        "chat_id": row.chat_id,
        "name": row.display_name,
        "language": row.language,
        "wants_news": row.wants_updates,
        "wants_invitations": row.wants_invitations,
        "created_at": _when(row.created_at),
    }


async def _conversations(session: AsyncSession, customer_id: int) -> list[dict[str, Any]]:
    conversations = await session.execute(
        select(_CONVERSATION)
        .where(_CONVERSATION.c.customer_id == customer_id)
        .order_by(_CONVERSATION.c.id)
    )
    # Internal notes are staff's words about the customer, not the customer's data to take.
    messages = await session.execute(
        select(_MESSAGE)
        .where(_MESSAGE.c.customer_id == customer_id)
        .where(_MESSAGE.c.direction != Direction.NOTE.value)
        .order_by(_MESSAGE.c.id)
    )
    transcripts: dict[int | None, list[dict[str, Any]]] = {}
    for message in messages:
        transcripts.setdefault(message.conversation_id, []).append(
            {
                "direction": message.direction,
                "author": message.author,
                "text": message.text,
                "attachments": message.attachments,
                "at": _when(message.created_at),
            }
        )
    return [
        {
            "id": row.id,
            "flow": row.flow_id,
            "flow_version": row.flow_version,
            "status": row.status,
            "answers": (row.state or {}).get("answers", {}),
            "started_at": _when(row.created_at),
            "last_activity_at": _when(row.updated_at),
            "transcript": transcripts.get(row.id, []),
        }
        for row in conversations
    ]


async def _ideas(session: AsyncSession, customer_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(_IDEA).where(_IDEA.c.customer_id == customer_id).order_by(_IDEA.c.id)
    )
    return [
        {
            "id": row.id,
            "title": row.title,
            "description": row.description,
            "problem": row.problem,
            "frequency": row.frequency,
            "importance": row.importance,
            "may_contact": row.may_contact,
            "email": row.email,
            "answers": row.answers,
            "attachments": row.attachments,
            "status": row.status,
            "created_at": _when(row.created_at),
        }
        for row in rows
    ]


async def _linked_ideas(session: AsyncSession, customer_id: int) -> list[dict[str, Any]]:
    # Another customer's idea: its title and status are what the customer was told; no more.
    rows = await session.execute(
        select(_IDEA.c.id, _IDEA.c.title, _IDEA.c.status, _FOLLOWER.c.kind, _FOLLOWER.c.created_at)
        .join(_FOLLOWER, _FOLLOWER.c.idea_id == _IDEA.c.id)
        .where(_FOLLOWER.c.customer_id == customer_id)
        .where(_IDEA.c.customer_id != customer_id)
        .order_by(_IDEA.c.id)
    )
    return [
        {
            "id": row.id,
            "title": row.title,
            "status": row.status,
            "link": row.kind,
            "since": _when(row.created_at),
        }
        for row in rows
    ]


async def _news(session: AsyncSession, customer: Any) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(_OUTBOX.c.payload, _OUTBOX.c.sent_at)
        .where(_OUTBOX.c.destination == f"{customer.platform}:{customer.chat_id}")
        .where(_OUTBOX.c.priority == BULK)
        .where(_OUTBOX.c.state == OutboxState.SENT.value)
        # Invitations are bulk sends too; they are listed as invitations, with their answer.
        .where(
            _OUTBOX.c.id.not_in(
                select(_INVITATION.c.outbox_id).where(_INVITATION.c.outbox_id.is_not(None))
            )
        )
        .order_by(_OUTBOX.c.id)
    )
    return [
        {"text": (row.payload or {}).get("text", ""), "sent_at": _when(row.sent_at)} for row in rows
    ]


async def _invitations(session: AsyncSession, customer_id: int) -> list[dict[str, Any]]:
    """Each campaign invitation: its campaign and words, when, and what they answered."""
    started = (
        select(_CONVERSATION.c.id)
        .where(_CONVERSATION.c.customer_id == customer_id)
        .where(_CONVERSATION.c.campaign_id == _INVITATION.c.campaign_id)
        .where(_CONVERSATION.c.created_at >= _INVITATION.c.created_at)
        .exists()
    )
    rows = await session.execute(
        select(
            _CAMPAIGN.c.name,
            _CAMPAIGN.c.texts,
            _INVITATION.c.language,
            _INVITATION.c.created_at,
            _INVITATION.c.delivered_at,
            _INVITATION.c.opted_out_at,
            started.label("started"),
        )
        .join(_CAMPAIGN, _CAMPAIGN.c.id == _INVITATION.c.campaign_id)
        .where(_INVITATION.c.customer_id == customer_id)
        .order_by(_INVITATION.c.id)
    )
    return [
        {
            "campaign": row.name,
            "text": (row.texts or {}).get(row.language, ""),
            "invited_at": _when(row.created_at),
            "delivered_at": _when(row.delivered_at),
            "answer": _answer(started=bool(row.started), opted_out=row.opted_out_at is not None),
            "no_more_invitations_at": _when(row.opted_out_at),
        }
        for row in rows
    ]


def _answer(*, started: bool, opted_out: bool) -> str | None:
    """What the customer did with an invitation: started its flow, said no more, or nothing."""
    if started:
        return "started"
    return "no more invitations" if opted_out else None
