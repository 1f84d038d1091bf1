"""Receipts are recorded as soon as the platform accepted a send, not with a later claim."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import select
from telegram import Bot

from bot.delivery.files import Files
from bot.delivery.pacing import Pacer
from bot.delivery.worker import Channel, DeliveryWorker, Sender
from bot.metrics import Metrics
from bot.telegram.sender import TelegramSender
from storage.outbox.store import OutboxItem, SentReceipt, SqlOutboxStore
from storage.tables import OutboxRow
from tests.doubles.telegram_bot_api import TelegramBotApiDouble
from tests.helpers.delivery import enqueue, text_of
from tests.waiting import eventually

Sessions = async_sessionmaker[AsyncSession]


class ClaimsHeldUp(SqlOutboxStore):
    """After its first claim, every claim waits until ``claims_go_on`` is set.

    As under load, when the next claim is a second or more away: the receipt of a send
    must not wait for it.
    """

    def __init__(self, sessions: Sessions) -> None:
        super().__init__(sessions)
        self.claims_go_on = asyncio.Event()
        self.claimed_once = False

    async def claim_due(self, **arguments: Any) -> list[OutboxItem]:
        if self.claimed_once:
            await self.claims_go_on.wait()
        items = await super().claim_due(**arguments)
        self.claimed_once = self.claimed_once or bool(items)
        return items


class DatabaseAway(SqlOutboxStore):
    """Recording receipts fails, as with the database away, until ``back`` is set."""

    def __init__(self, sessions: Sessions) -> None:
        super().__init__(sessions)
        self.back = asyncio.Event()
        self.failed_records = 0

    async def record_sent(self, receipts: Sequence[SentReceipt]) -> None:
        if not self.back.is_set():
            self.failed_records += 1
            raise OSError("connection refused")
        await super().record_sent(receipts)


class FirstFlushHeld(SqlOutboxStore):
    """The first recording of receipts waits for ``let_go``; it notes each batch's size."""

    def __init__(self, sessions: Sessions) -> None:
        super().__init__(sessions)
        self.first_started = asyncio.Event()
        self.let_go = asyncio.Event()
        self.batches: list[int] = []

    async def record_sent(self, receipts: Sequence[SentReceipt]) -> None:
        self.batches.append(len(receipts))
        if not self.first_started.is_set():
            self.first_started.set()
            await self.let_go.wait()
        await super().record_sent(receipts)


@dataclass
class FirstChatFirst:
    """Sends to chat "a" at once; the other chats' sends wait until ``others_go`` is set."""

    others_go: asyncio.Event
    sent: list[str] = field(default_factory=list)

    async def deliver(self, item: OutboxItem) -> str:
        if item.chat_id != "a":
            await self.others_go.wait()
        self.sent.append(text_of(item))
        return f"m{len(self.sent)}"


@contextlib.asynccontextmanager
async def running(outbox: SqlOutboxStore, sender: Sender) -> AsyncIterator[DeliveryWorker]:
    worker = DeliveryWorker(
        outbox=outbox,
        channels={
            "telegram": Channel(
                sender=sender, pacer=Pacer(chat_rate=1000, chat_burst=1000, global_rate=1000)
            )
        },
        metrics=Metrics.create(),
        lease_seconds=30,
        max_in_flight=8,
        max_attempts=3,
    )
    task = asyncio.create_task(worker.run())
    worker.outbox_changed()
    try:
        yield worker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def telegram_sender(telegram: TelegramBotApiDouble) -> AsyncIterator[TelegramSender]:
    async with telegram.running():
        bot = Bot(
            token=telegram.token,
            base_url=f"{telegram.base_url}/bot",
            base_file_url=f"{telegram.base_url}/file/bot",
        )
        async with bot:
            yield TelegramSender(bot, files=Files({}))


async def states(sessions: Sessions) -> dict[str, str]:
    async with sessions() as session:
        found = (await session.execute(select(OutboxRow))).scalars().all()
    return {row.payload["text"]: row.state for row in found}


async def test_a_send_telegram_accepted_is_recorded_without_another_claim(
    sessions: Sessions,
) -> None:
    # The receipt used to wait for the worker's next claim: a kill -9 before that claim
    # (a second or more away under load) sent the message again after the restart.
    await enqueue(sessions, "42", "Welcome!")
    telegram = TelegramBotApiDouble()
    outbox = ClaimsHeldUp(sessions)
    async with telegram_sender(telegram) as sender, running(outbox, sender):
        await telegram.wait_until(lambda: len(telegram.sent) == 1)

        async def recorded() -> bool:
            return (await states(sessions)) == {"Welcome!": "sent"}

        try:
            await eventually(recorded, timeout=5, what="the accepted send recorded as sent")
        finally:
            outbox.claims_go_on.set()
    assert [message.text for message in telegram.sent] == ["Welcome!"]


async def test_receipts_are_kept_through_a_database_outage_and_recorded_after_it(
    sqlite_sessions: Sessions,
) -> None:
    await enqueue(sqlite_sessions, "42", "Welcome!")
    telegram = TelegramBotApiDouble()
    outbox = DatabaseAway(sqlite_sessions)
    async with telegram_sender(telegram) as sender, running(outbox, sender):
        await telegram.wait_until(lambda: len(telegram.sent) == 1)

        async def tried_twice() -> bool:
            return outbox.failed_records >= 2

        await eventually(tried_twice, what="two failed recordings")
        assert await states(sqlite_sessions) == {"Welcome!": "pending"}
        outbox.back.set()

        async def recorded() -> bool:
            return (await states(sqlite_sessions)) == {"Welcome!": "sent"}

        await eventually(recorded, what="the receipt recorded once the database is back")
    assert [message.text for message in telegram.sent] == ["Welcome!"]


async def test_receipts_that_come_during_a_flush_are_recorded_together_in_the_next(
    sqlite_sessions: Sessions,
) -> None:
    for chat in "abcde":
        await enqueue(sqlite_sessions, chat, f"to {chat}")
    outbox = FirstFlushHeld(sqlite_sessions)
    sender = FirstChatFirst(others_go=outbox.first_started)
    async with running(outbox, sender):

        async def four_more_sent() -> bool:
            return len(sender.sent) == 5

        await eventually(four_more_sent, what="the other four sends")
        # One flush at a time: the four wait while the first is under way.
        assert outbox.batches == [1]
        outbox.let_go.set()

        async def all_recorded() -> bool:
            return set((await states(sqlite_sessions)).values()) == {"sent"}

        await eventually(all_recorded, what="every receipt recorded")
    assert outbox.batches == [1, 4]
