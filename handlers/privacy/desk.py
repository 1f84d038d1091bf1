"""`PrivacyDesk`: find, export and erase a customer's data, for a chat command, the CLI or Slack."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from handlers.ports import (
    CustomerMatch,
    CustomerRecords,
    ErasureOutcome,
    Erasures,
    Farewell,
    OutboxSignal,
    PendingErasure,
)

logger = logging.getLogger(__name__)

RETENTION_JOB = "retention"


class PrivacyDesk:
    """One door for every surface that answers a customer's privacy request."""

    def __init__(
        self, *, records: CustomerRecords, erasures: Erasures, outbox_signal: OutboxSignal
    ) -> None:
        self._records = records
        self._erasures = erasures
        self._outbox_signal = outbox_signal

    async def find(self, text: str, *, limit: int = 50) -> list[CustomerMatch]:
        """Customers whose name, e-mail or platform id contains ``text`` (blank finds none)."""
        if not text.strip():
            return []
        return await self._records.find_customers(text=text.strip(), limit=limit)

    async def export(self, customer_id: int) -> dict[str, Any] | None:
        """Everything stored about one customer; None if there is no such customer."""
        return await self._records.export_customer(customer_id=customer_id)

    async def erase(
        self, customer_id: int, *, requested_by: str, farewell: Farewell | None = None
    ) -> ErasureOutcome | None:
        """Erase one customer now, then queue ``farewell`` and the Slack steps; None if no such."""
        outcome = await self._erasures.erase_customer(
            customer_id=customer_id, requested_by=requested_by, farewell=farewell
        )
        if outcome is not None:
            # Ids and counts only: the audit entry's content, never the customer's.
            logger.info(
                "erasure %s by %s: %s Slack step(s) queued",
                outcome.erasure_id,
                requested_by,
                outcome.remote_steps,
            )
            if outcome.remote_steps:
                self._outbox_signal.outbox_changed()
        return outcome

    async def pending(self) -> list[PendingErasure]:
        """Erasures with Slack steps still to do."""
        return await self._erasures.pending_erasures()


class RetentionSweep:
    """Once a day in all processes: forget conversations closed longer than ``days`` ago."""

    def __init__(self, *, erasures: Erasures, days: int, outbox_signal: OutboxSignal) -> None:
        self._erasures = erasures
        self._days = days
        self._outbox_signal = outbox_signal

    async def tick(self, now: datetime) -> ErasureOutcome | None:
        """Run today's sweep unless retention is off or some process already ran it today."""
        if self._days <= 0:
            return None
        outcome = await self._erasures.forget_closed_before(
            cutoff=now - timedelta(days=self._days),
            period=now.date().isoformat(),
            requested_by=RETENTION_JOB,
        )
        if outcome is not None and outcome.removed:
            logger.info(
                "retention: erasure %s forgot %s conversation(s)",
                outcome.erasure_id,
                outcome.removed.get("conversations", 0),
            )
            if outcome.remote_steps:
                self._outbox_signal.outbox_changed()
        return outcome
