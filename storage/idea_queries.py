"""Reads ideas out for people: listing, one idea in full, and export."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, or_
from sqlalchemy import select as core_select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from handlers.ideas.status import normalize_tag
from storage.tables import (
    CustomerRow,
    IdeaFollowerRow,
    IdeaRow,
    IdeaStatusChangeRow,
    IdeaTagRow,
    MessageRow,
    StaffThreadRow,
    table_of,
)

_FOLLOWER = table_of(IdeaFollowerRow)
_TAG = table_of(IdeaTagRow)
_CHANGE = table_of(IdeaStatusChangeRow)
_CUSTOMER = table_of(CustomerRow)
_THREAD = table_of(StaffThreadRow)
_IDEA = table_of(IdeaRow)


def _idea_document(idea: IdeaRow, customer: CustomerRow) -> dict[str, Any]:
    return {
        "id": idea.id,
        "title": idea.title,
        "description": idea.description,
        "status": idea.status,
        "duplicate_of": idea.duplicate_of,
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
        # Where an imported idea came from, and the votes it had there (ideas import).
        "source_id": idea.source_id,
        "source_votes": idea.source_votes,
        "created_at": idea.created_at.isoformat(),
        "updated_at": idea.updated_at.isoformat(),
    }


LIKE_ESCAPE = "\\"


def contains_pattern(word: str) -> str:
    """A LIKE pattern (with ESCAPE LIKE_ESCAPE) for text containing ``word`` literally."""
    # Unescaped, a search for "%" or "_" would match every idea.
    for special in (LIKE_ESCAPE, "%", "_"):
        word = word.replace(special, LIKE_ESCAPE + special)
    return f"%{word}%"


@dataclass(frozen=True, slots=True)
class IdeaFilter:
    """Which ideas to read: by status, tag, words in them; or the most requested first."""

    status: str | None = None
    tag: str | None = None
    text: str | None = None
    top: bool = False
    limit: int | None = None


async def export_ideas(
    sessions: async_sessionmaker[AsyncSession],
    *,
    status: str | None = None,
    limit: int | None = None,
    where: IdeaFilter | None = None,
) -> list[dict[str, Any]]:
    """The ideas (oldest first, or most requested first) with customer, tags, votes, history."""
    where = where or IdeaFilter(status=status, limit=limit)
    followers = (
        select(func.count())
        .select_from(_FOLLOWER)
        .where(_FOLLOWER.c.idea_id == col(IdeaRow.id))
        .scalar_subquery()
    )
    query = select(IdeaRow, CustomerRow, followers.label("followers")).join(
        CustomerRow, col(CustomerRow.id) == col(IdeaRow.customer_id)
    )
    if where.status is not None:
        query = query.where(col(IdeaRow.status) == where.status)
    if where.tag is not None:
        query = query.where(
            exists()
            .where(_TAG.c.idea_id == col(IdeaRow.id))
            .where(_TAG.c.tag == normalize_tag(where.tag))
        )
    for word in (where.text or "").split():
        pattern = contains_pattern(word)
        query = query.where(
            or_(
                col(IdeaRow.title).ilike(pattern, escape=LIKE_ESCAPE),
                col(IdeaRow.description).ilike(pattern, escape=LIKE_ESCAPE),
            )
        )
    if where.top:
        query = query.order_by(followers.desc(), col(IdeaRow.id))
    else:
        query = query.order_by(col(IdeaRow.id))
    if where.limit is not None:
        query = query.limit(where.limit)
    async with sessions() as session:
        rows = (await session.execute(query)).all()
        ids = [idea.id for idea, _, _ in rows]
        extras = await _extras(session, ids)
    documents = []
    for idea, customer, _ in rows:
        document = _idea_document(idea, customer)
        document.update(extras.get(idea.id, _no_extras()))
        documents.append(document)
    return documents


def _no_extras() -> dict[str, Any]:
    return {"tags": [], "votes": 0, "linked_customers": [], "status_history": [], "thread": None}


async def _extras(session: AsyncSession, ids: list[int | None]) -> dict[int, dict[str, Any]]:
    """Tags, votes, linked customers, status history and staff thread of many ideas at once."""
    extras: dict[int, dict[str, Any]] = {idea_id: _no_extras() for idea_id in ids if idea_id}
    if not extras:
        return extras
    wanted = list(extras)
    for idea_id, tag in await session.execute(
        core_select(_TAG.c.idea_id, _TAG.c.tag)
        .where(_TAG.c.idea_id.in_(wanted))
        .order_by(_TAG.c.tag)
    ):
        extras[idea_id]["tags"].append(tag)
    linked = await session.execute(
        core_select(
            _FOLLOWER.c.idea_id,
            _FOLLOWER.c.kind,
            _CUSTOMER.c.id,
            _CUSTOMER.c.platform,
            _CUSTOMER.c.display_name,
            _CUSTOMER.c.language,
            _CUSTOMER.c.wants_updates,
        )
        .join(_CUSTOMER, _CUSTOMER.c.id == _FOLLOWER.c.customer_id)
        .where(_FOLLOWER.c.idea_id.in_(wanted))
        .order_by(_FOLLOWER.c.created_at, _CUSTOMER.c.id)
    )
    for row in linked:
        extras[row.idea_id]["linked_customers"].append(
            {
                "id": row.id,
                "kind": row.kind,
                "platform": row.platform,
                "name": row.display_name,
                "language": row.language,
                "wants_updates": row.wants_updates,
            }
        )
        extras[row.idea_id]["votes"] += row.kind == "vote"
    history = await session.execute(
        core_select(_CHANGE).where(_CHANGE.c.idea_id.in_(wanted)).order_by(_CHANGE.c.id)
    )
    for change in history:
        extras[change.idea_id]["status_history"].append(
            {
                "from": change.from_status,
                "to": change.to_status,
                "message": change.message,
                "by": change.changed_by,
                "notified": change.notified,
                "at": change.created_at.isoformat(),
            }
        )
    threads = await session.execute(
        core_select(_IDEA.c.id, _THREAD.c.room_chat_id, _THREAD.c.thread_ref)
        .join(_THREAD, _THREAD.c.conversation_id == _IDEA.c.conversation_id)
        .where(_IDEA.c.id.in_(wanted))
    )
    for idea_id, channel, thread_ref in threads:
        if thread_ref:
            extras[idea_id]["thread"] = {"channel": channel, "ts": thread_ref}
    return extras


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
                "author": message.author,
                "text": message.text,
                "edited": message.edited,
                "at": message.created_at.isoformat(),
            }
            for message in messages
        ]
        document.update((await _extras(session, [idea.id])).get(idea.id or 0, _no_extras()))
    return document


class IdeaCatalog:
    """Finds ideas for people (the staff's /ideas command)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def find(self, where: IdeaFilter) -> list[dict[str, Any]]:
        """The ideas ``where`` picks, as export documents."""
        return await export_ideas(self._sessions, where=where)
