"""Issue 11: the retention sweep forgets exactly the conversations closed too long ago, once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.messages import ConversationKey, OutgoingMessage
from handlers.privacy.desk import RetentionSweep
from handlers.privacy.rules import ERASED_TITLE
from storage.dialogue.store import SqlDialogueStore
from storage.outbox.deliveries import SendDataExport, SendMessage
from storage.outbox.rows import outbox_row
from storage.outbox.store import SqlOutboxStore
from storage.privacy.store import SqlErasures
from storage.tables import (
    ConversationRow,
    DeadLetterRow,
    IdeaFollowerRow,
    IdeaRow,
    InboxRow,
    MessageRow,
    OutboxRow,
    PlatformEventRow,
    table_of,
)
from storage.types import utc_now
from tests.helpers.privacy import Seeded, database_text, seed_customer, send_everything

_CONVERSATION = table_of(ConversationRow)
_IDEA = table_of(IdeaRow)
_MESSAGE = table_of(MessageRow)
_FOLLOWER = table_of(IdeaFollowerRow)
_INBOX = table_of(InboxRow)
_EVENT = table_of(PlatformEventRow)
_DEAD_LETTER = table_of(DeadLetterRow)
_OUTBOX = table_of(OutboxRow)


class Wakes:
    def __init__(self) -> None:
        self.count = 0

    def outbox_changed(self) -> None:
        self.count += 1


async def _closed(
    sessions: async_sessionmaker[AsyncSession], seeded: Seeded, *, at: datetime, status: str
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(_CONVERSATION)
            .where(_CONVERSATION.c.id == seeded.conversation_id)
            .values(status=status, updated_at=at)
        )


async def _messages(sessions: async_sessionmaker[AsyncSession], seeded: Seeded) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).where(_MESSAGE.c.conversation_id == seeded.conversation_id)
        )
    return int(count or 0)


async def test_only_what_closed_before_the_limit_is_forgotten_and_only_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = utc_now().replace(hour=12)
    seeds = [
        await seed_customer(sessions, name=f"P{n}", words=f"w{n}", email=f"{n}@x", chat_id=f"{n}")
        for n in range(4)
    ]
    old, young, old_but_open, old_with_staff_title = seeds
    await send_everything(sessions)
    await _closed(sessions, old, at=now - timedelta(days=30, seconds=1), status="finished")
    almost = now - timedelta(days=30) + timedelta(minutes=1)
    await _closed(sessions, young, at=almost, status="closed")
    await _closed(sessions, old_but_open, at=now - timedelta(days=90), status="active")
    await _closed(sessions, old_with_staff_title, at=now - timedelta(days=31), status="closed")
    async with sessions() as session, session.begin():
        await session.execute(
            update(_IDEA)
            .where(_IDEA.c.id == old_with_staff_title.idea_id)
            .values(staff_title="Dark mode", status="planned")
        )
    wakes = Wakes()
    sweep = RetentionSweep(erasures=SqlErasures(sessions), days=30, outbox_signal=wakes)

    outcome = await sweep.tick(now)

    assert outcome is not None
    assert outcome.removed["conversations"] == 2
    assert outcome.remote_steps == 2 * 4  # per thread: card, post, file, report
    assert wakes.count == 1
    assert [await _messages(sessions, seeded) for seeded in seeds] == [0, 3, 3, 0]
    async with sessions() as session:
        ideas = dict(
            (row.id, (row.title, row.status, row.description))
            for row in await session.execute(select(_IDEA))
        )
        followers = await session.scalar(select(func.count()).select_from(_FOLLOWER))
    assert ideas[old.idea_id] == (ERASED_TITLE, "new", "")
    assert ideas[old_with_staff_title.idea_id] == ("Dark mode", "planned", "")
    assert ideas[young.idea_id][0] == young.words
    assert followers == 4

    # The same day again, in this process or another: nothing.
    assert await sweep.tick(now + timedelta(hours=5)) is None
    # The next day the young one is old enough too, and only it is forgotten.
    tomorrow = await sweep.tick(now + timedelta(days=1))
    assert tomorrow is not None
    assert tomorrow.removed["conversations"] == 1
    assert [await _messages(sessions, seeded) for seeded in seeds] == [0, 0, 3, 0]
    # And the day after, nothing is left to forget: no audit entry, nothing queued.
    after = await sweep.tick(now + timedelta(days=2))
    assert after is not None
    assert (after.erasure_id, after.removed, after.remote_steps) == (0, {}, 0)


async def test_retention_zero_keeps_everything(sessions: async_sessionmaker[AsyncSession]) -> None:
    seeded = await seed_customer(sessions, name="P", words="w", email="e@x", chat_id="1")
    await _closed(sessions, seeded, at=utc_now() - timedelta(days=3650), status="finished")
    sweep = RetentionSweep(erasures=SqlErasures(sessions), days=0, outbox_signal=Wakes())
    assert await sweep.tick(utc_now()) is None
    assert await _messages(sessions, seeded) == 3


async def _send_telegram(sessions: async_sessionmaker[AsyncSession]) -> None:
    outbox = SqlOutboxStore(sessions)
    while items := await outbox.claim_due(platforms=["telegram"], limit=100, lease_seconds=30):
        for item in items:
            await outbox.mark_sent(item, platform_message_id=f"tg{item.id}")


async def test_retention_leaves_no_word_of_a_forgotten_conversation_in_the_outbox(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Review R2 of issue 11: the sent rows of the customer's chat (bot echoes, relayed staff
    replies) were never touched, and nothing else ever pruned the outbox."""
    alice = await seed_customer(
        sessions,
        name="Alice Wonderland",
        words="purple elephant dashboard",
        email="alice@example.org",
        chat_id="777001234",
    )
    key = ConversationKey(platform="telegram", chat_id=alice.chat_id, user_id=alice.chat_id)
    async with SqlDialogueStore(sessions).transaction() as transaction:
        # A staff reply relayed to her chat, in words that are no idea's title.
        await transaction.enqueue(key=key, actions=[OutgoingMessage("Lavender submarine, noted")])
    await send_everything(sessions)
    await _send_telegram(sessions)
    now = utc_now()
    await _closed(sessions, alice, at=now - timedelta(days=40), status="closed")
    outcome = await SqlErasures(sessions).forget_closed_before(
        cutoff=now - timedelta(days=30), period="review", requested_by="retention"
    )
    assert outcome is not None
    assert outcome.removed.get("conversations") == 1
    dump = await database_text(sessions)
    assert alice.words not in dump
    assert "Lavender submarine" not in dump


async def _aged_rows(sessions: async_sessionmaker[AsyncSession], *, now: datetime) -> None:
    """Rows of each kind retention ages, one old and one young, named by their words."""
    long_ago, lately = now - timedelta(days=40), now - timedelta(hours=2)
    async with sessions() as session, session.begin():
        for when, name in ((long_ago, "old"), (lately, "late")):
            await session.execute(
                insert(_INBOX).values(
                    platform="telegram", external_id=f"{name}:1:1", received_at=when
                )
            )
            for state in ("handled", "pending"):
                await session.execute(
                    insert(_EVENT).values(
                        platform="slack",
                        external_id=f"{name}-{state}",
                        ordering_key="D1",
                        payload={"text": f"{name} {state} event words"},
                        state=state,
                        next_attempt_at=when,
                        received_at=when,
                    )
                )
            await session.execute(
                insert(_DEAD_LETTER).values(
                    platform="slack",
                    external_id=f"{name}-letter",
                    payload=f"{name} dead letter words",
                    created_at=when,
                )
            )
            for platform, chat, delivery in (
                ("telegram", "1", SendDataExport(customer_id=1, file_name=f"{name}.json")),
                ("telegram", "1", SendMessage(text=f"{name} telegram words")),
                ("slack", "D1", SendMessage(text=f"{name} slack words")),
            ):
                row = outbox_row(
                    destination=f"{platform}:{chat}",
                    platform=platform,
                    chat_id=chat,
                    delivery=delivery,
                    priority=0,
                    now=when,
                )
                row.update(state="sent", platform_message_id=f"{name}-{platform}-ref")
                await session.execute(insert(_OUTBOX).values(**row))


async def test_retention_ages_out_what_the_system_no_longer_needs_and_keeps_the_rest(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = utc_now()
    await _aged_rows(sessions, now=now)
    erasures = SqlErasures(sessions, export_every=timedelta(hours=3))
    # A cutoff younger than the inbox's window and the /mydata limit (an hour ago).
    outcome = await erasures.forget_closed_before(
        cutoff=now - timedelta(hours=1), period="p", requested_by="retention"
    )
    assert outcome is not None
    assert outcome.erasure_id
    dump = await database_text(sessions)
    for gone in (
        "old:1:1",
        "old handled",
        "old dead letter",
        "old.json",
        "old telegram",
        "old slack",
    ):
        assert gone not in dump
    # Kept: replay protection within its window, events still to handle, the /mydata limit.
    for kept in ("late:1:1", "old pending", "late handled", "late.json"):
        assert kept in dump
    # The Slack post keeps its id without its words, so an erasure can still delete it.
    assert "old-slack-ref" in dump
    async with sessions() as session:
        (payload,) = (
            await session.execute(
                select(_OUTBOX.c.payload).where(_OUTBOX.c.platform_message_id == "old-slack-ref")
            )
        ).scalars()
    assert payload["text"] == ""
