"""Ideas brought from another tool: stored once per source id, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.ports import ConversationStatus
from storage.tables import ConversationRow, CustomerRow, IdeaRow, table_of
from storage.types import utc_now
from storage.upsert import insert_if_absent

_CUSTOMER = table_of(CustomerRow)
_CONVERSATION = table_of(ConversationRow)
_IDEA = table_of(IdeaRow)
# Imported ideas have no customer of ours: they belong to this one, on no platform we serve.
IMPORT_PLATFORM = "import"
IMPORT_USER = "backlog"
_BATCH = 500
# Two imports at once (two shells, two processes) take turns on PostgreSQL, so the second sees
# the first's source ids instead of failing on their unique index; SQLite's BEGIN IMMEDIATE
# already makes them take turns.
_IMPORTING_LOCK = 0x1DEA_1A90


@dataclass(frozen=True, slots=True)
class ImportedIdea:
    """One idea as another tool had it."""

    source_id: str
    title: str
    description: str
    status: str
    votes: int
    created: datetime | None


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import stored, and which source ids were there already."""

    imported: int
    already_there: int


async def import_ideas(
    sessions: async_sessionmaker[AsyncSession], ideas: Sequence[ImportedIdea]
) -> ImportResult:
    """Store the ideas whose source id is new, all in one transaction."""
    async with sessions() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _IMPORTING_LOCK}
            )
        known = await _known_source_ids(session, [idea.source_id for idea in ideas])
        fresh = [idea for idea in ideas if idea.source_id not in known]
        if fresh:
            customer_id, conversation_id = await _importer(session)
            now = utc_now()
            rows = [
                {
                    "customer_id": customer_id,
                    "conversation_id": conversation_id,
                    "title": idea.title,
                    "description": idea.description,
                    "answers": {},
                    "attachments": [],
                    "status": idea.status,
                    "language": "",
                    "source_id": idea.source_id,
                    "source_votes": idea.votes,
                    "created_at": idea.created or now,
                    "updated_at": now,
                }
                for idea in fresh
            ]
            for start in range(0, len(rows), _BATCH):
                await session.execute(insert(_IDEA), rows[start : start + _BATCH])
    return ImportResult(imported=len(fresh), already_there=len(ideas) - len(fresh))


async def _known_source_ids(session: AsyncSession, source_ids: list[str]) -> set[str]:
    known: set[str] = set()
    # In slices: SQLite allows a bounded number of parameters in one statement.
    for start in range(0, len(source_ids), _BATCH):
        rows = await session.execute(
            select(_IDEA.c.source_id).where(
                _IDEA.c.source_id.in_(source_ids[start : start + _BATCH])
            )
        )
        known.update(row.source_id for row in rows)
    return known


async def _importer(session: AsyncSession) -> tuple[int, int]:
    """The customer and closed conversation that imported ideas hang from (made once)."""
    now = utc_now()
    await insert_if_absent(
        session,
        CustomerRow,
        conflict=["platform", "platform_user_id"],
        values={
            "platform": IMPORT_PLATFORM,
            "platform_user_id": IMPORT_USER,
            "chat_id": IMPORT_USER,
            "display_name": "imported backlog",
            "language": "",
            "unreachable": True,
            "unreachable_reason": "imported ideas have no chat",
            "wants_updates": False,
            "created_at": now,
            "updated_at": now,
        },
    )
    customer_id = (
        await session.execute(
            select(_CUSTOMER.c.id)
            .where(_CUSTOMER.c.platform == IMPORT_PLATFORM)
            .where(_CUSTOMER.c.platform_user_id == IMPORT_USER)
        )
    ).scalar_one()
    conversation_id = (
        await session.execute(
            select(_CONVERSATION.c.id)
            .where(_CONVERSATION.c.customer_id == customer_id)
            .order_by(_CONVERSATION.c.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    if conversation_id is None:
        conversation_id = (
            await session.execute(
                insert(_CONVERSATION)
                .values(
                    customer_id=customer_id,
                    platform=IMPORT_PLATFORM,
                    chat_id=IMPORT_USER,
                    flow_id="import",
                    flow_version=0,
                    step="end",
                    status=ConversationStatus.CLOSED.value,
                    state={},
                    created_at=now,
                    updated_at=now,
                )
                .returning(_CONVERSATION.c.id)
            )
        ).scalar_one()
    return customer_id, conversation_id
