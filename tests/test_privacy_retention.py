"""Issue 11: the retention sweep forgets exactly the conversations closed too long ago, once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.privacy.desk import RetentionSweep
from handlers.privacy.rules import ERASED_TITLE
from storage.privacy.store import SqlErasures
from storage.tables import ConversationRow, IdeaFollowerRow, IdeaRow, MessageRow, table_of
from storage.types import utc_now
from tests.helpers.privacy import Seeded, seed_customer, send_everything

_CONVERSATION = table_of(ConversationRow)
_IDEA = table_of(IdeaRow)
_MESSAGE = table_of(MessageRow)
_FOLLOWER = table_of(IdeaFollowerRow)


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
