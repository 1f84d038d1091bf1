"""The delivery worker's stop: sends under way finish and are recorded; the rest is given back."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import select

from bot.delivery.pacing import Pacer
from bot.delivery.worker import Channel, DeliveryWorker
from bot.metrics import Metrics
from storage.outbox.store import OutboxItem, SqlOutboxStore
from storage.tables import OutboxRow
from tests.helpers.delivery import enqueue, text_of
from tests.waiting import eventually

Sessions = async_sessionmaker[AsyncSession]


@dataclass
class GatedSender:
    """Starts each send at once and finishes it only when the gate opens."""

    gate: asyncio.Event = field(default_factory=asyncio.Event)
    started: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)

    async def deliver(self, item: OutboxItem) -> str:
        self.started.append(text_of(item))
        await self.gate.wait()
        self.sent.append(text_of(item))
        return f"m{len(self.sent)}"


def worker_for(sessions: Sessions, sender: GatedSender, pacer: Pacer) -> DeliveryWorker:
    return DeliveryWorker(
        outbox=SqlOutboxStore(sessions),
        channels={"telegram": Channel(sender=sender, pacer=pacer)},
        metrics=Metrics.create(),
        lease_seconds=30,
        max_in_flight=8,
        max_attempts=5,
    )


def unpaced() -> Pacer:
    return Pacer(chat_rate=1000, chat_burst=1000, global_rate=1000)


async def rows(sessions: Sessions) -> dict[str, OutboxRow]:
    async with sessions() as session:
        found = (await session.execute(select(OutboxRow))).scalars().all()
    return {row.payload["text"]: row for row in found}


async def test_a_stop_lets_the_send_under_way_finish_and_records_it(sessions: Sessions) -> None:
    sender = GatedSender()
    await enqueue(sessions, "a", "one", "two")
    worker = worker_for(sessions, sender, unpaced())
    running = asyncio.create_task(worker.run())
    worker.outbox_changed()
    await eventually(lambda: _true(sender.started == ["one"]), what="the first send starting")
    worker.stop()
    assert worker.under_way() == "1 send(s) under way"
    assert not running.done()
    sender.gate.set()
    await asyncio.wait_for(running, 5)
    assert sender.sent == ["one"]
    found = await rows(sessions)
    assert (found["one"].state, found["one"].platform_message_id) == ("sent", "m1")
    # Never claimed: it waits, unleased, for the next process.
    assert (found["two"].state, found["two"].lease_until) == ("pending", None)


async def test_a_stop_gives_back_a_claim_still_waiting_for_its_pace(sessions: Sessions) -> None:
    sender = GatedSender()
    sender.gate.set()
    await enqueue(sessions, "a", "one", "two")
    # One message a second to the chat: the second is claimed, then waits about a second.
    worker = worker_for(sessions, sender, Pacer(chat_rate=1, chat_burst=1, global_rate=1000))
    running = asyncio.create_task(worker.run())
    worker.outbox_changed()

    async def second_claimed() -> bool:
        return (await rows(sessions))["two"].lease_until is not None

    await eventually(second_claimed, what="the second message claimed")
    worker.stop()
    await asyncio.wait_for(running, 5)
    assert sender.sent == ["one"]
    found = await rows(sessions)
    assert found["one"].state == "sent"
    assert (found["two"].state, found["two"].lease_until) == ("pending", None)


async def test_a_cancelled_send_is_given_back_at_once(sessions: Sessions) -> None:
    sender = GatedSender()  # the gate never opens: the send hangs
    await enqueue(sessions, "a", "one")
    worker = worker_for(sessions, sender, unpaced())
    running = asyncio.create_task(worker.run())
    worker.outbox_changed()
    await eventually(lambda: _true(sender.started == ["one"]), what="the send starting")
    worker.stop()
    running.cancel()
    await asyncio.wait([running], timeout=5)
    assert running.cancelled()
    found = await rows(sessions)
    # Due again at once (not after the lease): the restart sends it.
    assert (found["one"].state, found["one"].lease_until) == ("pending", None)


async def _true(value: bool) -> bool:
    return value
