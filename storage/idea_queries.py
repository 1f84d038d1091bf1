"""Reads ideas out for people: listing, one idea in full, and export."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from storage.tables import CustomerRow, IdeaRow, MessageRow


def _idea_document(idea: IdeaRow, customer: CustomerRow) -> dict[str, Any]:
    return {
        "id": idea.id,
        "title": idea.title,
        "description": idea.description,
        "status": idea.status,
        "problem": idea.problem,
        "frequency": idea.frequency,
        "importance": idea.importance,
        "may_contact": idea.may_contact,
        "email": idea.email,
        "language": idea.language,
        "answers": idea.answers,
        "attachments": idea.attachments,
        "customer": {
            "id": customer.id,
            "platform": customer.platform,
            "platform_user_id": customer.platform_user_id,
            "name": customer.display_name,
            "language": customer.language,
            "unreachable": customer.unreachable,
        },
        "conversation_id": idea.conversation_id,
        "created_at": idea.created_at.isoformat(),
        "updated_at": idea.updated_at.isoformat(),
    }


async def export_ideas(
    sessions: async_sessionmaker[AsyncSession],
    *,
    status: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Every idea (newest last) with its customer, as JSON-ready documents."""
    query = (
        select(IdeaRow, CustomerRow)
        .join(CustomerRow, col(CustomerRow.id) == col(IdeaRow.customer_id))
        .order_by(col(IdeaRow.id))
    )
    if status is not None:
        query = query.where(col(IdeaRow.status) == status)
    if limit is not None:
        query = query.limit(limit)
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    return [_idea_document(idea, customer) for idea, customer in rows]


async def idea_with_transcript(
    sessions: async_sessionmaker[AsyncSession], idea_id: int
) -> dict[str, Any] | None:
    """One idea with its customer and the conversation's transcript, or None."""
    async with sessions() as session:
        found = (
            await session.execute(
                select(IdeaRow, CustomerRow)
                .join(CustomerRow, col(CustomerRow.id) == col(IdeaRow.customer_id))
                .where(col(IdeaRow.id) == idea_id)
            )
        ).first()
        if found is None:
            return None
        idea, customer = found
        messages = (
            await session.execute(
                select(MessageRow)
                .where(col(MessageRow.conversation_id) == idea.conversation_id)
                .order_by(col(MessageRow.id))
            )
        ).scalars()
        document = _idea_document(idea, customer)
        document["transcript"] = [
            {
                "direction": message.direction,
                "text": message.text,
                "edited": message.edited,
                "at": message.created_at.isoformat(),
            }
            for message in messages
        ]
    return document
