"""Customers with ideas, hand-offs, thread posts and files, stored and "sent" as the bot would."""

from __future__ import annotations

import itertools
import sqlite3
from dataclasses import dataclass
from typing import Any

from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.flows.engine import FlowState, IdeaDraft
from handlers.ideas.digest import Digest, DigestIdea, WaitingConversation
from handlers.messages import Attachment, AttachmentKind, ConversationKey, OutgoingMessage
from handlers.ports import ConversationRecord, ConversationStatus, Direction, TranscriptEntry
from handlers.staff.room import (
    HandOffReason,
    PostCard,
    PostDigest,
    StaffCard,
    StaffRoom,
    ThreadPost,
)
from storage.dialogue.store import SqlDialogueStore
from storage.outbox.store import SentReceipt, SqlOutboxStore
from storage.types import utc_now

ROOM = StaffRoom(platform="slack", chat_id="CSTAFF")
_TS = itertools.count(1)


@dataclass(frozen=True)
class Seeded:
    """One stored customer and what identifies them."""

    customer_id: int
    conversation_id: int
    idea_id: int
    name: str
    words: str
    email: str
    chat_id: str
    file_id: str
    staff_ts: str


async def seed_customer(
    sessions: async_sessionmaker[AsyncSession], *, name: str, words: str, email: str, chat_id: str
) -> Seeded:
    """A Telegram customer with an idea, a hand-off, a thread post, a file and a staff reply."""
    store = SqlDialogueStore(sessions)
    key = ConversationKey(platform="telegram", chat_id=chat_id, user_id=chat_id)
    staff_ts = f"1600000000.{next(_TS):06d}"
    file_id = f"TGFILE{chat_id}"
    attachment = Attachment(kind=AttachmentKind.PHOTO, platform="telegram", file_id=file_id)
    async with store.transaction() as transaction:
        customer = await transaction.customer_for(key=key, display_name=name, language="en")
        conversation_id = await transaction.save_conversation(
            ConversationRecord(
                id=None,
                customer_id=customer.id,
                flow_id="idea",
                flow_version=1,
                status=ConversationStatus.WITH_STAFF,
                state=FlowState(step="end", answers={"idea": words}),
            )
        )
        for direction, text, ref in (
            (Direction.INBOUND, words, "1"),
            (Direction.STAFF, "Thanks, we look at it", staff_ts),
            (Direction.NOTE, f"note: {name} is nice", f"1600000001.{next(_TS):06d}"),
        ):
            await transaction.record_message(
                TranscriptEntry(
                    conversation_id=conversation_id,
                    customer_id=customer.id,
                    direction=direction,
                    text=text,
                    platform_message_id=ref,
                    author="Staff Person" if direction != Direction.INBOUND else "",
                )
            )
        idea_id = await transaction.record_idea(
            customer_id=customer.id,
            conversation_id=conversation_id,
            language="en",
            draft=IdeaDraft(
                title=words,
                description=f"{words} in detail",
                problem=None,
                frequency="daily",
                importance=4,
                may_contact=True,
                email=email,
                answers={"idea": {"value": words}},
                attachments=(attachment,),
            ),
        )
        card = StaffCard(
            conversation_id=conversation_id,
            customer_name=name,
            platform="telegram",
            language="en",
            reason=HandOffReason.CUSTOMER_ASKED,
            title=words,
        )
        await transaction.open_thread(room=ROOM, card=card)
        await transaction.enqueue_to_staff(
            room=ROOM,
            conversation_id=conversation_id,
            actions=[
                PostCard(card),
                ThreadPost(text=words, author=name),
                ThreadPost(text="", author=name, attachments=(attachment,)),
            ],
        )
        await transaction.enqueue(key=key, actions=[OutgoingMessage(f"Still for {name}: {words}")])
    return Seeded(
        customer_id=customer.id,
        conversation_id=conversation_id,
        idea_id=idea_id,
        name=name,
        words=words,
        email=email,
        chat_id=chat_id,
        file_id=file_id,
        staff_ts=staff_ts,
    )


async def post_digest(sessions: async_sessionmaker[AsyncSession], seeded: Seeded) -> None:
    """A digest that lists the customer's idea and them as waiting."""
    digest = Digest(
        since="2026-11-01",
        until="2026-11-08",
        new_ideas=[DigestIdea(id=seeded.idea_id, title=seeded.words, status="new")],
        waiting=[
            WaitingConversation(
                conversation_id=seeded.conversation_id, customer_name=seeded.name, since="x"
            )
        ],
    )
    async with SqlDialogueStore(sessions).transaction() as transaction:
        await transaction.enqueue_to_room(room=ROOM, actions=[PostDigest(digest)])


async def send_everything(sessions: async_sessionmaker[AsyncSession]) -> list[Any]:
    """Mark every pending Slack row sent, as the worker would, each with a fresh ts or file id."""
    outbox = SqlOutboxStore(sessions)
    sent = []
    while items := await outbox.claim_due(platforms=["slack"], limit=100, lease_seconds=60):
        receipts = []
        for item in items:
            attachments = getattr(item.delivery, "attachments", ())
            ref = f"F{next(_TS):08d}" if attachments else f"1700000000.{next(_TS):06d}"
            receipts.append(SentReceipt(item, ref, utc_now()))
            sent.append((item, ref))
        await outbox.record_sent(receipts)
    return sent


async def database_text(sessions: async_sessionmaker[AsyncSession]) -> str:
    """Every text and JSON column of every table, as one string to search."""
    metadata = MetaData()
    async with sessions() as session:
        await session.run_sync(lambda sync: metadata.reflect(bind=sync.connection()))
        parts = []
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            for row in await session.execute(select(table)):
                parts.append(" ".join(str(value) for value in row))
    return "\n".join(parts)


def sqlite_dump(sqlite_url: str) -> str:
    """Every column of every row of every table of a SQLite database, as one string to search."""
    path = sqlite_url.split("///", 1)[1]
    with sqlite3.connect(path) as connection:
        tables = [
            name
            for (name,) in connection.execute("select name from sqlite_master where type = 'table'")
        ]
        return "\n".join(
            repr(row) for table in tables for row in connection.execute(f'select * from "{table}"')
        )


def erasures_finished(sqlite_url: str) -> int:
    """How many erasures of a SQLite database have finished their Slack steps."""
    path = sqlite_url.split("///", 1)[1]
    with sqlite3.connect(path) as connection:
        (finished,) = connection.execute(
            "select count(*) from erasure where finished_at is not null"
        ).fetchone()
    return int(finished)
