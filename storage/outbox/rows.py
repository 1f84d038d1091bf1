"""New outbox rows: the values of one, and many for one destination in one statement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.outbox.deliveries import Delivery, stored
from storage.tables import OutboxRow, OutboxState, table_of
from storage.types import utc_now

_OUTBOX = table_of(OutboxRow)
# Outbox priorities: a live conversation's messages go before news sent to many customers.
LIVE = 0
BULK = 1


async def enqueue_rows(
    session: AsyncSession,
    *,
    destination: str,
    platform: str,
    chat_id: str,
    deliveries: list[Delivery],
    priority: int = LIVE,
) -> None:
    """Insert outbox rows for one destination in one statement, numbered in the order given."""
    if not deliveries:
        return
    now = utc_now()
    rows = [
        outbox_row(
            destination=destination,
            platform=platform,
            chat_id=chat_id,
            delivery=delivery,
            priority=priority,
            now=now,
        )
        for delivery in deliveries
    ]
    await session.execute(insert(_OUTBOX), rows)


def outbox_row(
    *,
    destination: str,
    platform: str,
    chat_id: str,
    delivery: Delivery,
    priority: int,
    now: datetime,
) -> dict[str, Any]:
    """The values of a new pending outbox row."""
    return {
        "destination": destination,
        "platform": platform,
        "chat_id": chat_id,
        "action": delivery.action,
        "payload": stored(delivery),
        "priority": priority,
        "state": OutboxState.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": "",
        "platform_message_id": "",
        "created_at": now,
    }
