"""Issue 11: a customer's file and erasure, carried out as their outbox row is sent."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.files import Files
from bot.delivery.privacy_requests import (
    DATA_EXPORT_PLATFORM,
    DataExportFiles,
    PrivacyRequestSender,
    data_export_attachment,
)
from bot.delivery.worker import PermanentDeliveryError
from handlers.privacy.desk import PrivacyDesk
from storage.outbox.deliveries import Delivery, FarewellThenErase, SendDataExport, SendMessage
from storage.outbox.store import OutboxItem
from storage.privacy.records import SqlCustomerRecords
from storage.privacy.store import SqlErasures
from storage.types import utc_now
from tests.helpers.dialogue import CountingSignal
from tests.helpers.privacy import Seeded, database_text, seed_customer


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


async def test_the_farewell_goes_first_then_everything_is_erased(
    sqlite_sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice = await _alice(sqlite_sessions)
    inner = RecordingSender()
    sender = PrivacyRequestSender(inner, desk=_desk(sqlite_sessions))
    farewell = FarewellThenErase(customer_id=alice.customer_id, text="Done: all erased.")
    assert await sender.deliver(_item(farewell, alice.chat_id)) == "m1"
    assert inner.sent == [SendMessage(text="Done: all erased.")]
    dump = await database_text(sqlite_sessions)
    for trace in (alice.name, alice.words, alice.email, alice.chat_id):
        assert trace not in dump
    # Sent again after a crash that came after the erasure: the farewell, and nothing to erase.
    assert await sender.deliver(_item(farewell, alice.chat_id)) == "m2"


async def test_a_customer_who_blocked_the_bot_is_erased_untold(
    sqlite_sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice = await _alice(sqlite_sessions)
    inner = RecordingSender(refusal="the customer has blocked the bot")
    sender = PrivacyRequestSender(inner, desk=_desk(sqlite_sessions))
    farewell = FarewellThenErase(customer_id=alice.customer_id, text="Done.")
    assert await sender.deliver(_item(farewell, alice.chat_id)) == ""
    assert alice.words not in await database_text(sqlite_sessions)


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
