"""Issue 11: a customer's file and erasure, carried out as their outbox row is sent."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.files import Files
from bot.delivery.pacing import Pacer
from bot.delivery.privacy_requests import (
    DATA_EXPORT_PLATFORM,
    DataExportFiles,
    PrivacyRequestSender,
    data_export_attachment,
)
from bot.delivery.worker import (
    Channel,
    DeliveryWorker,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from bot.metrics import Metrics
from handlers.dialogue.privacy import forget_payload
from handlers.flows.loader import LoadedFlow
from handlers.messages import ConversationKey, IncomingMessage
from handlers.ports import ErasureOutcome
from handlers.privacy.desk import PrivacyDesk
from storage.outbox.deliveries import Delivery, FarewellThenErase, SendDataExport, SendMessage
from storage.outbox.store import OutboxItem, SentReceipt, SqlOutboxStore
from storage.privacy.records import SqlCustomerRecords
from storage.privacy.store import SqlErasures
from storage.tables import CustomerRow, table_of
from storage.types import utc_now
from tests.helpers.dialogue import CountingSignal, make_customer
from tests.helpers.privacy import Seeded, database_text, seed_customer, send_everything
from tests.waiting import eventually

_CUSTOMER = table_of(CustomerRow)


@dataclass
class RecordingSender:
    """Takes what it is given; refuses every send with ``refusal`` if set."""

    sent: list[Delivery] = field(default_factory=list)
    refusal: str = ""

    async def deliver(self, item: OutboxItem) -> str:
        if self.refusal:
            raise PermanentDeliveryError(self.refusal, recipient_unreachable=True)
        self.sent.append(item.delivery)
        return f"m{len(self.sent)}"


def _item(delivery: Delivery, chat_id: str) -> OutboxItem:
    return OutboxItem(
        id=1,
        destination=f"telegram:{chat_id}",
        platform="telegram",
        chat_id=chat_id,
        delivery=delivery,
        attempts=0,
        created_at=utc_now(),
    )


def _desk(sessions: async_sessionmaker[AsyncSession]) -> PrivacyDesk:
    return PrivacyDesk(
        records=SqlCustomerRecords(sessions),
        erasures=SqlErasures(sessions),
        outbox_signal=CountingSignal(),
    )


async def _alice(sessions: async_sessionmaker[AsyncSession]) -> Seeded:
    return await seed_customer(
        sessions,
        name="Alice Wonderland",
        words="purple elephant dashboard",
        email="alice@example.org",
        chat_id="777001234",
    )


async def _send_all(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxItem]:
    """Mark every pending row of every platform sent, as the workers would."""
    outbox = SqlOutboxStore(sessions)
    sent: list[OutboxItem] = []
    platforms = ["telegram", "slack"]
    while items := await outbox.claim_due(platforms=platforms, limit=100, lease_seconds=60):
        sent.extend(items)
        await outbox.record_sent([SentReceipt(item, f"m{item.id}", utc_now()) for item in items])
    return sent


async def test_the_erasure_comes_first_and_queues_the_farewell_after_its_slack_steps(
    sqlite_sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice = await _alice(sqlite_sessions)
    await send_everything(sqlite_sessions)
    inner = RecordingSender()
    sender = PrivacyRequestSender(inner, desk=_desk(sqlite_sessions))
    farewell = FarewellThenErase(customer_id=alice.customer_id, text="Done: all erased.")
    assert await sender.deliver(_item(farewell, alice.chat_id)) == ""
    assert inner.sent == []
    for trace in (alice.name, alice.words, alice.email):
        assert trace not in await database_text(sqlite_sessions)
    # Sent again after a crash that came after the erasure: nothing to erase, nothing said.
    assert await sender.deliver(_item(farewell, alice.chat_id)) == ""
    sent = await _send_all(sqlite_sessions)
    (told,) = [item for item in sent if item.platform == "telegram"]
    assert (told.chat_id, told.delivery) == (alice.chat_id, SendMessage(text="Done: all erased."))
    # After Slack's deletes and rewrites, before the report: when it is said, it is true.
    actions = [item.delivery.action for item in sent]
    farewell_at = sent.index(told)
    assert {"delete_message", "rewrite_message", "delete_file"} <= set(actions[:farewell_at])
    assert set(actions[farewell_at + 1 :]) == {"erasure_report"}
    # Once every step is done, the farewell's row, which names the chat, goes too.
    assert alice.chat_id not in await database_text(sqlite_sessions)


class _BrokenErasures(SqlErasures):
    async def erase_customer(self, **_: object) -> ErasureOutcome | None:
        raise RuntimeError("database hiccup")


async def test_the_customer_is_not_told_done_before_the_erasure_is(
    sqlite_sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Review R2 of issue 11: "done" was sent before erase(), and again on every retry."""
    alice = await _alice(sqlite_sessions)
    inner = RecordingSender()
    desk = PrivacyDesk(
        records=SqlCustomerRecords(sqlite_sessions),
        erasures=_BrokenErasures(sqlite_sessions),
        outbox_signal=CountingSignal(),
    )
    sender = PrivacyRequestSender(inner, desk=desk)
    farewell = FarewellThenErase(customer_id=alice.customer_id, text="Done: erased")
    for _ in range(2):  # the worker's retries
        with pytest.raises(RuntimeError):
            await sender.deliver(_item(farewell, alice.chat_id))
    assert inner.sent == [], "told 'done' while nothing was erased"


async def test_the_data_file_is_built_when_sent_and_holds_only_that_customer(
    sqlite_sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice = await _alice(sqlite_sessions)
    bob = await seed_customer(
        sqlite_sessions,
        name="Bob Builder",
        words="orange giraffe calendar",
        email="bob@example.org",
        chat_id="888002345",
    )
    inner = RecordingSender()
    desk = _desk(sqlite_sessions)
    sender = PrivacyRequestSender(inner, desk=desk)
    asked = SendDataExport(customer_id=alice.customer_id, file_name="my-data.json")
    await sender.deliver(_item(asked, alice.chat_id))
    (sent,) = inner.sent
    assert isinstance(sent, SendMessage)
    (attachment,) = sent.attachments
    assert attachment.platform == DATA_EXPORT_PLATFORM
    fetched = await Files({DATA_EXPORT_PLATFORM: DataExportFiles(desk)}).fetch(attachment)
    assert (fetched.name, fetched.mime_type) == ("my-data.json", "application/json")
    text = fetched.data.decode()
    assert alice.words in text
    assert alice.email in text
    for trace in (bob.name, bob.words, bob.email, bob.chat_id):
        assert trace not in text
    assert json.loads(text)


async def test_no_file_for_a_customer_erased_before_it_was_sent(
    sqlite_sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice = await _alice(sqlite_sessions)
    desk = _desk(sqlite_sessions)
    await desk.erase(alice.customer_id, requested_by="customer")
    attachment = data_export_attachment(customer_id=alice.customer_id, file_name="my-data.json")
    with pytest.raises(PermanentDeliveryError, match="erased before it could be sent"):
        await DataExportFiles(desk).fetch(attachment)


@dataclass
class _FlakySender:
    """Fails each item's first try as a 502 would, then takes it."""

    tried: set[int] = field(default_factory=set)
    sent: list[OutboxItem] = field(default_factory=list)

    async def deliver(self, item: OutboxItem) -> str:
        if item.id not in self.tried:
            self.tried.add(item.id)
            raise TransientDeliveryError("HTTP 502")
        self.sent.append(item)
        return f"m{item.id}"


async def test_the_log_of_a_forget_with_a_flaky_telegram_names_no_chat_id(
    sqlite_sessions: async_sessionmaker[AsyncSession],
    shipped_flows: list[LoadedFlow],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Review R2 of issue 11: the worker logged ``telegram:<chat id>`` on every retry, and the
    erasure the internal customer id."""
    caplog.set_level(logging.INFO)
    customer = await make_customer(sqlite_sessions, shipped_flows)
    chat = "5550001234"
    customer.key = ConversationKey(platform="telegram", chat_id=chat, user_id=chat)
    await customer.say("/start")
    # The rest stays in the outbox for the worker below: the dialogue is called directly.
    for number, words in enumerate(("/mydata", "/forget"), start=100):
        await customer.dialogue.handle(
            IncomingMessage(key=customer.key, external_id=str(number), text=words)
        )
    async with sqlite_sessions() as session:
        customer_id = await session.scalar(
            select(_CUSTOMER.c.id).where(_CUSTOMER.c.platform_user_id == chat)
        )
    yes = forget_payload("yes", int(customer_id or 0))
    await customer.dialogue.handle(
        IncomingMessage(key=customer.key, external_id="yes", button_payload=yes)
    )
    flaky = _FlakySender()
    worker = DeliveryWorker(
        outbox=customer.outbox,
        channels={
            "telegram": Channel(
                sender=PrivacyRequestSender(flaky, desk=_desk(sqlite_sessions)),
                pacer=Pacer(chat_rate=1000, chat_burst=1000, global_rate=1000),
            )
        },
        metrics=Metrics.create(),
        lease_seconds=30,
        max_in_flight=8,
        max_attempts=5,
        backoff_base_seconds=0.01,
    )

    async def told_done() -> bool:
        worker.outbox_changed()
        return any(
            isinstance(item.delivery, SendMessage) and item.delivery.text.startswith("Done:")
            for item in flaky.sent
        )

    async with asyncio.TaskGroup() as tasks:
        running = tasks.create_task(worker.run())
        try:
            await eventually(told_done, what="the farewell after the erasure")
        finally:
            running.cancel()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "retry" in logged
    assert "erasure" in logged
    assert chat not in logged
    assert f"customer {customer_id}" not in logged
