"""Customers' own privacy requests, carried out as their outbox row is sent: file, erasure."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Protocol

from bot.delivery.files import FetchedFile
from bot.delivery.worker import PermanentDeliveryError, Sender
from handlers.messages import Attachment, AttachmentKind
from handlers.ports import Farewell
from handlers.privacy.desk import PrivacyDesk
from storage.outbox.deliveries import FarewellThenErase, SendDataExport, SendMessage
from storage.outbox.store import OutboxItem

logger = logging.getLogger(__name__)

# Files of this "platform" are built from the database when sent, like funnel charts.
DATA_EXPORT_PLATFORM = "ideabot-data-export"
# Who asked, in the audit entry: the customer, from their own chat (no id: that is theirs).
CUSTOMER_REQUEST = "customer"


class CustomerExports(Protocol):
    """Everything stored about one customer (PrivacyDesk)."""

    async def export(self, customer_id: int) -> dict[str, object] | None:
        """The customer's data as JSON values; None if there is no such customer."""
        ...


def data_export_attachment(*, customer_id: int, file_name: str) -> Attachment:
    """The file of one customer's data, named by their id and built only when it is sent."""
    return Attachment(
        kind=AttachmentKind.DOCUMENT,
        platform=DATA_EXPORT_PLATFORM,
        file_id=str(customer_id),
        file_name=file_name,
        mime_type="application/json",
    )


class DataExportFiles:
    """The ``FileSource`` of customers' data files: their export, as JSON, never stored."""

    def __init__(self, exports: CustomerExports) -> None:
        self._exports = exports

    async def fetch(self, attachment: Attachment) -> FetchedFile:
        """The export of the customer the attachment names."""
        exported = await self._exports.export(int(attachment.file_id))
        if exported is None:
            raise PermanentDeliveryError("the customer's data was erased before it could be sent")
        data = json.dumps(exported, ensure_ascii=False, indent=2).encode()
        return FetchedFile(data=data, name=attachment.file_name, mime_type="application/json")


class PrivacyRequestSender:
    """A platform's sender that also carries out a customer's file and erasure requests."""

    def __init__(self, inner: Sender, *, desk: PrivacyDesk) -> None:
        self._inner = inner
        self._desk = desk

    async def deliver(self, item: OutboxItem) -> str:
        """Send the item; an erasure request is carried out, and queues its own farewell."""
        match item.delivery:
            case SendDataExport(customer_id=customer_id, file_name=file_name):
                attachment = data_export_attachment(customer_id=customer_id, file_name=file_name)
                return await self._inner.deliver(
                    replace(item, delivery=SendMessage(attachments=(attachment,)))
                )
            case FarewellThenErase(customer_id=customer_id, text=text):
                return await self._erase_then_farewell(item, customer_id, text)
            case _:
                return await self._inner.deliver(item)

    async def _erase_then_farewell(self, item: OutboxItem, customer_id: int, text: str) -> str:
        # The erasure queues the farewell in its own transaction: "done" is said only once it
        # is. It also deletes this row, so a retry after a crash finds no customer, says nothing.
        farewell = Farewell(platform=item.platform, chat_id=item.chat_id, text=text)
        outcome = await self._desk.erase(
            customer_id, requested_by=CUSTOMER_REQUEST, farewell=farewell
        )
        if outcome is None:
            logger.info("outbox row %s asked for an erasure already done", item.id)
        return ""
