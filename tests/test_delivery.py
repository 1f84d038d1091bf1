"""The delivery worker over a real outbox (SQLite), with a scripted sender at the boundary."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert
from sqlmodel import select

from bot.delivery.pacing import Pacer
from bot.delivery.worker import (
    Channel,
    DeliveryWorker,
    PermanentDeliveryError,
    RetryLater,
    TransientDeliveryError,
    backoff_seconds,
)
from bot.metrics import Metrics
from storage.outbox.store import OutboxItem, SqlOutboxStore
from storage.tables import CustomerRow, OutboxRow, table_of
from storage.types import utc_now
from tests.helpers.delivery import Sessions, enqueue, text_of
from tests.waiting import eventually


@dataclass
class ScriptedSender:
    """Records what it sent; ``script`` says how the next sends to a chat fail."""

    script: dict[str, list[Exception]] = field(default_factory=dict)
    sent: list[tuple[str, str, float]] = field(default_factory=list)
    attempts: list[tuple[str, str, float]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def deliver(self, item: OutboxItem) -> str:
        now = asyncio.get_running_loop().time()
        self.attempts.append((item.chat_id, text_of(item), now))
        planned = self.script.get(item.chat_id)
        if planned:
            raise planned.pop(0)
        # A little await, so sends to different chats interleave as real ones do.
        await asyncio.sleep(0)
        self.sent.append((item.chat_id, text_of(item), now))
        self.changed.set()
        return str(len(self.sent))

    def texts_to(self, chat: str) -> list[str]:
        return [text for chat_id, text, _ in self.sent if chat_id == chat]


async def wait_for(
    condition: Callable[[], bool], event: asyncio.Event, timeout: float = 10
) -> None:
    async def waiting() -> None:
        while not condition():
            event.clear()
            await event.wait()

    await asyncio.wait_for(waiting(), timeout)


@contextlib.asynccontextmanager
async def running_worker(
    sessions: Sessions,
    sender: ScriptedSender,
    *,
    max_attempts: int = 5,
    outbox: SqlOutboxStore | None = None,
) -> AsyncIterator[tuple[DeliveryWorker, Pacer]]:
    pacer = Pacer(chat_rate=1000, chat_burst=1000, global_rate=1000)
    worker = DeliveryWorker(
        outbox=outbox or SqlOutboxStore(sessions),
        channels={"telegram": Channel(sender=sender, pacer=pacer)},
        metrics=Metrics.create(),
        lease_seconds=30,
        max_in_flight=8,
        max_attempts=max_attempts,
        backoff_base_seconds=0.01,
    )
    task = asyncio.create_task(worker.run())
    try:
        yield worker, pacer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_each_chat_gets_its_messages_in_order(sqlite_sessions: Sessions) -> None:
    sender = ScriptedSender()
    for chat in ("a", "b", "c"):
        await enqueue(sqlite_sessions, chat, *(f"{chat}{n}" for n in range(6)))
    async with running_worker(sqlite_sessions, sender) as (worker, _):
        worker.outbox_changed()
        await wait_for(lambda: len(sender.sent) == 18, sender.changed)
    for chat in ("a", "b", "c"):
        assert sender.texts_to(chat) == [f"{chat}{n}" for n in range(6)]
    # Chats were served side by side, not one after the other.
    first_three = {chat for chat, _, _ in sender.sent[:3]}
    assert first_three == {"a", "b", "c"}


async def test_retry_after_is_waited_out_and_the_message_sent_once(
    sqlite_sessions: Sessions,
) -> None:
    sender = ScriptedSender(script={"a": [RetryLater(0.5)]})
    await enqueue(sqlite_sessions, "a", "first", "second")
    async with running_worker(sqlite_sessions, sender) as (worker, _):
        worker.outbox_changed()
        await wait_for(lambda: len(sender.sent) == 2, sender.changed)
    assert sender.texts_to("a") == ["first", "second"]
    refused_at = sender.attempts[0][2]
    sent_at = sender.sent[0][2]
    assert sent_at - refused_at >= 0.5


async def test_network_errors_are_retried_with_backoff(sqlite_sessions: Sessions) -> None:
    sender = ScriptedSender(
        script={"a": [TransientDeliveryError("timed out"), TransientDeliveryError("reset")]}
    )
    await enqueue(sqlite_sessions, "a", "hello")
    async with running_worker(sqlite_sessions, sender) as (worker, _):
        worker.outbox_changed()
        await wait_for(lambda: len(sender.sent) == 1, sender.changed)
    assert len(sender.attempts) == 3
    backlog = await SqlOutboxStore(sqlite_sessions).backlog()
    assert (backlog.sent, backlog.failed) == (1, 0)


class SlowToLetGo(SqlOutboxStore):
    """After settling a retry, the task lingers until the worker has claimed again.

    As on PostgreSQL under load: the pool closes a surplus (overflow) connection on its way
    back, an await after the commit, so the row is due again while its old task still runs.
    """

    def __init__(self, sessions: Sessions) -> None:
        super().__init__(sessions)
        self.due_at: datetime | None = None
        self.claimed_after_due = asyncio.Event()

    async def claim_due(self, **arguments: Any) -> list[OutboxItem]:
        started = utc_now()
        items = await super().claim_due(**arguments)
        if arguments["limit"] > 0 and self.due_at is not None and started >= self.due_at:
            self.claimed_after_due.set()
        return items

    async def retry_later(
        self, item: OutboxItem, *, delay_seconds: float, error: str, counts_as_attempt: bool
    ) -> None:
        await super().retry_later(
            item, delay_seconds=delay_seconds, error=error, counts_as_attempt=counts_as_attempt
        )
        self.due_at = utc_now() + timedelta(seconds=delay_seconds)
        await asyncio.wait_for(self.claimed_after_due.wait(), 5)


async def test_a_retry_due_before_its_old_task_ended_is_not_left_to_the_lease(
    sessions: Sessions,
) -> None:
    # The claim used to lease the row again, see its id still in flight and skip it: the
    # message then waited for the whole lease (30 s here, the default in production).
    sender = ScriptedSender(script={"a": [TransientDeliveryError("502 Bad Gateway")]})
    await enqueue(sessions, "a", "hello")
    outbox = SlowToLetGo(sessions)
    async with running_worker(sessions, sender, outbox=outbox) as (worker, _):
        worker.outbox_changed()
        await wait_for(lambda: len(sender.sent) == 1, sender.changed, timeout=5)
    assert outbox.claimed_after_due.is_set()
    assert sender.texts_to("a") == ["hello"]


async def test_nothing_retries_forever(sqlite_sessions: Sessions) -> None:
    sender = ScriptedSender(script={"a": [TransientDeliveryError("down")] * 10})
    await enqueue(sqlite_sessions, "a", "lost cause")
    await enqueue(sqlite_sessions, "b", "fine")
    outbox = SqlOutboxStore(sqlite_sessions)
    async with running_worker(sqlite_sessions, sender, max_attempts=3) as (worker, _):
        worker.outbox_changed()

        async def given_up() -> bool:
            return (await outbox.backlog()).failed == 1

        await eventually(given_up, what="giving up")
    assert len([a for a in sender.attempts if a[0] == "a"]) == 3
    assert sender.texts_to("b") == ["fine"]


async def test_blocked_customer_is_marked_unreachable(sqlite_sessions: Sessions) -> None:
    sender = ScriptedSender(
        script={"a": [PermanentDeliveryError("blocked the bot", recipient_unreachable=True)]}
    )
    await enqueue(sqlite_sessions, "a", "one", "two", "three")
    await enqueue(sqlite_sessions, "b", "other")
    async with running_worker(sqlite_sessions, sender) as (worker, _):
        worker.outbox_changed()
        await wait_for(lambda: sender.texts_to("b") == ["other"], sender.changed)

        async def all_failed() -> bool:
            return (await SqlOutboxStore(sqlite_sessions).backlog()).failed == 3

        await eventually(all_failed, what="failing the blocked chat's messages")
    assert sender.texts_to("a") == []
    assert len([a for a in sender.attempts if a[0] == "a"]) == 1
    async with sqlite_sessions() as session:
        customer = (
            await session.execute(select(CustomerRow).where(CustomerRow.chat_id == "a"))
        ).scalar_one()
    assert customer.unreachable


async def test_a_sender_that_crashes_costs_attempts_and_the_chat_goes_on(
    sqlite_sessions: Sessions,
) -> None:
    # As TelegramSender's int(message_id) does on a message id of "1.5".
    crashes: list[Exception] = [
        ValueError("invalid literal for int() with base 10: 'SECRET'") for _ in range(3)
    ]
    sender = ScriptedSender(script={"a": crashes})
    await enqueue(sqlite_sessions, "a", "lost cause", "next")
    await enqueue(sqlite_sessions, "b", "fine")
    outbox = SqlOutboxStore(sqlite_sessions)
    async with running_worker(sqlite_sessions, sender, max_attempts=3) as (worker, _):
        worker.outbox_changed()
        await wait_for(lambda: sender.texts_to("a") == ["next"], sender.changed)
    assert len([a for a in sender.attempts if a[0] == "a"]) == 4
    assert sender.texts_to("b") == ["fine"]
    (failure,) = await outbox.recent_failures()
    assert failure.last_error == "gave up after 3 attempts: sender crashed (ValueError)"


async def test_an_unreadable_row_fails_with_why_and_every_chat_goes_on(
    sqlite_sessions: Sessions,
) -> None:
    sender = ScriptedSender()
    row = {"destination": "telegram:a", "platform": "telegram", "chat_id": "a", "action": "send"}
    now = utc_now()
    async with sqlite_sessions() as session, session.begin():
        await session.execute(
            insert(table_of(OutboxRow)),
            [
                {**row, "payload": ["SECRET"], "next_attempt_at": now, "created_at": now},
                {
                    **row,
                    "payload": {"text": "SECRET", "attachments": [{"file_id": "F1"}]},
                    "next_attempt_at": now,
                    "created_at": now,
                },
            ],
        )
    await enqueue(sqlite_sessions, "a", "after")
    await enqueue(sqlite_sessions, "b", "other chat")
    worker = DeliveryWorker(
        outbox=SqlOutboxStore(sqlite_sessions),
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
    running = asyncio.create_task(worker.run())
    await wait_for(
        lambda: sender.texts_to("a") == ["after"] and sender.texts_to("b") == ["other chat"],
        sender.changed,
    )
    worker.stop()
    await asyncio.wait_for(running, 10)  # run() ends as asked; it raised nothing

    failures = await SqlOutboxStore(sqlite_sessions).recent_failures()
    assert [failure.last_error for failure in failures] == [
        "unreadable 'send' payload: send.attachments.0: Value error, file lacks the key 'kind'",
        "unreadable 'send' payload: the JSON is a list, not an object",
    ]


@pytest.mark.parametrize("attempt", [1, 2, 5, 20])
def test_backoff_grows_and_is_capped(attempt: int) -> None:
    delays = [backoff_seconds(attempt, base=1.0, cap=60.0) for _ in range(50)]
    assert all(0.5 <= delay <= min(60.0, 2 ** (attempt - 1)) for delay in delays)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_pacer_holds_one_chat_to_its_rate_after_a_burst() -> None:
    clock = FakeClock()
    pacer = Pacer(chat_rate=1.0, chat_burst=3, global_rate=1000, clock=clock)
    waits = []
    for _ in range(3):
        waits.append(pacer.try_acquire("a"))
        clock.now += 0.002  # slower than the global pace of one send per millisecond
    assert waits == [0.0, 0.0, 0.0]
    assert pacer.try_acquire("a") == pytest.approx(1.0 - 0.006)
    assert pacer.try_acquire("b") == 0.0  # another chat is not held up
    clock.now = 1.01
    assert pacer.try_acquire("a") == 0.0


def test_pacer_holds_the_whole_bot_to_the_global_rate_in_any_second() -> None:
    clock = FakeClock()
    pacer = Pacer(chat_rate=1.0, chat_burst=1, global_rate=30, clock=clock)
    chats = itertools.count()
    sends: list[float] = []
    for step in range(3000):  # three seconds, in steps of 1 ms, always something to send
        clock.now = step / 1000
        while pacer.try_acquire(f"chat{next(chats)}") == 0.0:
            sends.append(clock.now)
    busiest = max(sum(start <= t < start + 1.0 for t in sends) for start in sends)
    assert busiest <= 31  # the rate, and one more at most: never a burst
    assert len(sends) >= 88  # and the rate itself is kept up


def test_pacer_pause_holds_everything() -> None:
    clock = FakeClock()
    pacer = Pacer(chat_rate=1.0, chat_burst=3, global_rate=30, clock=clock)
    pacer.pause(5)
    assert pacer.try_acquire("a") == pytest.approx(5.0)
    clock.now = 5.0
    assert pacer.try_acquire("a") == 0.0
