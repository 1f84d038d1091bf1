"""Records sent messages as soon as the platform accepted them: a group commit."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import SQLAlchemyError

from bot.backoff import doubled
from storage.outbox.store import SentReceipt, SqlOutboxStore

logger = logging.getLogger(__name__)

DATABASE_RETRY_CAP_SECONDS = 5.0


class ReceiptRecorder:
    """Gathers receipts and records each batch in one transaction, one flush at a time.

    A receipt starts a flush at once unless one runs; receipts that come during a flush
    wait for the next one, which records all of them together. So a kill -9 can cost at
    most the messages whose flush had not committed yet, and under load one transaction
    still records many messages.
    """

    def __init__(self, *, outbox: SqlOutboxStore) -> None:
        self._outbox = outbox
        self._gathered: list[SentReceipt] = []
        self._recorded: list[asyncio.Future[None]] = []
        self._flushing: asyncio.Task[None] | None = None
        self._backing_off = False
        self._closing = False

    def waiting(self) -> int:
        """How many accepted messages are not yet recorded as sent."""
        return len(self._gathered)

    async def record(self, receipt: SentReceipt) -> None:
        """Record ``receipt`` with all gathered beside it; return once it is committed."""
        recorded = asyncio.get_running_loop().create_future()
        self._gathered.append(receipt)
        self._recorded.append(recorded)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush_all(), name="record-receipts")
        # Shielded: a waiter cancelled by a forced stop must not take its batch's flush along.
        await asyncio.shield(recorded)

    async def _flush_all(self) -> None:
        failures = 0
        while self._gathered and not self._closing:
            try:
                await self._flush()
                failures = 0
            except Exception as error:
                # The database is away, or a bug: keep the receipts in memory and try again.
                # Dropping them would send those messages twice once their leases run out.
                failures += 1
                delay = doubled(failures, base=0.25, cap=DATABASE_RETRY_CAP_SECONDS)
                outage = isinstance(error, SQLAlchemyError | OSError)
                logger.error(
                    "cannot record %s sent message(s) (%s); retrying in %.1f s",
                    len(self._gathered),
                    type(error).__name__,
                    delay,
                    exc_info=None if outage else error,
                )
                self._backing_off = True
                try:
                    await asyncio.sleep(delay)
                finally:
                    self._backing_off = False

    async def _flush(self) -> None:
        receipts, recorded = list(self._gathered), list(self._recorded)
        await self._outbox.record_sent(receipts)
        del self._gathered[: len(receipts)]
        del self._recorded[: len(recorded)]
        for future in recorded:
            if not future.done():
                future.set_result(None)

    async def close(self) -> None:
        """Stop retrying, then try once more to record what is left; raise if that fails."""
        self._closing = True
        if self._flushing is not None:
            if self._backing_off:
                self._flushing.cancel()
            # A flush under way is let finish: cut off, whether it committed is unknown, and
            # recording its receipts again would set off their consequences twice.
            await asyncio.gather(self._flushing, return_exceptions=True)
        if self._gathered:
            await self._flush()
