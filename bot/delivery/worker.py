"""Delivers the outbox: in order per chat, paced, retried with backoff, failures made visible."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from bot.backoff import doubled
from bot.delivery.pacing import Pacer
from bot.delivery.receipts import DATABASE_RETRY_CAP_SECONDS, ReceiptRecorder
from bot.metrics import Metrics
from storage.outbox.store import OutboxItem, SentReceipt, SqlOutboxStore
from storage.types import utc_now

logger = logging.getLogger(__name__)

# A paced send that would wait longer than this gives its lease back instead of holding it.
LONGEST_PACING_WAIT = 5.0
IDLE_POLL_SECONDS = 1.0


class RetryLater(Exception):
    """The platform asked us to wait (HTTP 429 with retry_after)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"rate limited, retry after {seconds:g} s")
        self.seconds = seconds


class TransientDeliveryError(Exception):
    """A failure that may pass: network trouble, a timeout, a 5xx."""


class PermanentDeliveryError(Exception):
    """A failure that will not pass by retrying; ``recipient_unreachable`` if the chat is gone.

    ``instead`` is a message the same chat gets in its place (a chart's figures as text).
    """

    def __init__(
        self, reason: str, *, recipient_unreachable: bool = False, instead: str = ""
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.recipient_unreachable = recipient_unreachable
        self.instead = instead


class Sender(Protocol):
    """Sends one outbox item to a platform and returns the platform's message id."""

    async def deliver(self, item: OutboxItem) -> str:
        """Carry out the item; raise one of this module's errors when it did not happen."""
        ...


@dataclass(frozen=True, slots=True)
class Channel:
    """A platform's sender and the pacing its limits need."""

    sender: Sender
    pacer: Pacer


def backoff_seconds(attempt: int, *, base: float = 1.0, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter: up to 1, 2, 4 ... seconds, at most ``cap``."""
    return random.uniform(base / 2, doubled(max(0, attempt - 1), base=base, cap=cap))


class DeliveryWorker:
    """Claims due outbox rows and sends them; safe to run in several processes at once."""

    def __init__(
        self,
        *,
        outbox: SqlOutboxStore,
        channels: Mapping[str, Channel],
        metrics: Metrics,
        lease_seconds: float,
        max_in_flight: int,
        max_attempts: int,
        backoff_base_seconds: float = 1.0,
    ) -> None:
        self._outbox = outbox
        self._backoff_base = backoff_base_seconds
        self._channels = channels
        self._metrics = metrics
        self._lease_seconds = lease_seconds
        self._max_in_flight = max_in_flight
        self._max_attempts = max_attempts
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        # A send stays in flight until its receipt is recorded, so a task that ended left
        # nothing behind in memory.
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._receipts = ReceiptRecorder(outbox=outbox)

    def outbox_changed(self) -> None:
        """Wake the worker: new rows wait in the outbox."""
        self._wake.set()

    def stop(self) -> None:
        """Claim nothing more; ``run`` returns once the sends under way are done and recorded."""
        self._stopping.set()
        self._wake.set()

    def under_way(self) -> str:
        """The sends under way, in words, for the log of a stop that abandons them."""
        return f"{len(self._in_flight)} send(s) under way" if self._in_flight else ""

    async def run(self) -> None:
        """Deliver until stopped or cancelled; cancelled sends are given back to the outbox."""
        failures = 0
        try:
            while not self._stopping.is_set():
                try:
                    claimed = await self._claim()
                    if not claimed:
                        await self._idle()
                    failures = 0
                except (SQLAlchemyError, OSError) as error:
                    # The database is away: keep what is in memory and try again, never exit.
                    failures += 1
                    delay = doubled(failures, base=0.25, cap=DATABASE_RETRY_CAP_SECONDS)
                    logger.error(
                        "delivery cannot reach the database (%s); retrying in %.1f s",
                        type(error).__name__,
                        delay,
                    )
                    await self._stopped_within(delay)
            await self._finish_under_way()
        finally:
            in_flight = list(self._in_flight.values())
            for task in in_flight:
                task.cancel()
            # Wait for them, so no send is left holding a database connection.
            await asyncio.gather(*in_flight, return_exceptions=True)
            try:
                await self._receipts.close()
            except (SQLAlchemyError, OSError):
                # Their leases run out and they are sent again: the one duplicate we allow.
                logger.error(
                    "could not record %s sent message(s) on the way out",
                    self._receipts.waiting(),
                )

    async def _finish_under_way(self) -> None:
        """Let the sends under way end; each ends once its receipt is recorded."""
        # During an outage that lasts until the stop's time is up: each one recorded is one
        # not sent twice.
        while self._in_flight:
            await asyncio.wait(list(self._in_flight.values()))

    async def _stopped_within(self, seconds: float) -> bool:
        """Wait ``seconds``, or less if a stop comes; whether it came."""
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel (a forced stop).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
        return self._stopping.is_set()

    async def deliver_pending(self) -> None:
        """Deliver everything due now and return once nothing due is left (for the console)."""
        while True:
            claimed = await self._claim()
            if self._in_flight:
                await asyncio.wait(list(self._in_flight.values()))
            elif not claimed:
                return

    async def _claim(self) -> int:
        self._wake.clear()
        free = self._max_in_flight - len(self._in_flight)
        platforms = [
            name for name, channel in self._channels.items() if not channel.pacer.paused_for()
        ]
        if free <= 0 or not platforms:
            return 0
        # A row whose task has settled it but not yet ended may be due again already: leased
        # and then skipped here, it would wait out the whole lease. So rows in flight are not
        # claimed; their task's end wakes the next claim.
        items = await self._outbox.claim_due(
            platforms=platforms,
            limit=free,
            lease_seconds=self._lease_seconds,
            busy=list(self._in_flight),
        )
        for item in items:
            task = asyncio.create_task(self._deliver(item), name=f"deliver-{item.id}")
            self._in_flight[item.id] = task
            task.add_done_callback(self._finished(item.id))
        return len(items)

    def _finished(self, item_id: int) -> Callable[[asyncio.Task[None]], None]:
        def forget(task: asyncio.Task[None]) -> None:
            self._in_flight.pop(item_id, None)
            if not task.cancelled() and task.exception() is not None:
                logger.error(
                    "delivery of outbox row %s crashed", item_id, exc_info=task.exception()
                )
            self._wake.set()

        return forget

    async def _idle(self) -> None:
        timeout = IDLE_POLL_SECONDS
        if not self._in_flight:
            due = await self._outbox.next_due_at(platforms=list(self._channels))
            if due is not None:
                timeout = min(timeout, max(0.0, (due - utc_now()).total_seconds()))
        paused = [channel.pacer.paused_for() for channel in self._channels.values()]
        if any(paused):
            timeout = min(timeout, max(min(p for p in paused if p), 0.01))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(timeout, 0.005)):
                await self._wake.wait()

    async def _deliver(self, item: OutboxItem) -> None:
        channel = self._channels[item.platform]
        waited = 0.0
        # Paced per chat, not per destination: every staff thread shares the staff channel.
        while (wait := channel.pacer.try_acquire(item.chat_id)) > 0:
            if waited + wait > LONGEST_PACING_WAIT:
                await self._outbox.retry_later(
                    item, delay_seconds=wait, error="paced", counts_as_attempt=False
                )
                return
            waited += wait
            if await self._stopped_within(wait):
                # Not sent: the next process may send it at once, not after the lease.
                await self._outbox.release(item)
                return
        try:
            message_id = await channel.sender.deliver(item)
        except asyncio.CancelledError:
            # A forced stop cut the send; whether it arrived is unknown, so it goes again
            # at once after the restart rather than after the lease (a possible duplicate).
            with contextlib.suppress(SQLAlchemyError, OSError):
                await self._outbox.release(item)
            raise
        except RetryLater as error:
            await self._retry_after(item, channel, error.seconds)
        except TransientDeliveryError as error:
            await self._transient(item, str(error))
        except PermanentDeliveryError as error:
            await self._permanent(item, error)
        except Exception as error:
            # A sender's bug must not crash the task and leave the row re-leased for ever.
            await self._unexpected(item, error)
        else:
            sent_at = utc_now()
            self._metrics.outbox_sent.labels(item.platform).inc()
            self._metrics.delivery_seconds.labels(item.platform).observe(
                (sent_at - item.created_at).total_seconds()
            )
            # Recorded at once, not with a later claim: a kill -9 before this commit sends
            # the message again after the restart (Telegram has no idempotency key).
            await self._receipts.record(SentReceipt(item, message_id, sent_at))

    async def _retry_after(self, item: OutboxItem, channel: Channel, seconds: float) -> None:
        logger.warning(
            "%s asked to slow down for %.1f s (outbox row %s)", item.platform, seconds, item.id
        )
        channel.pacer.pause(seconds)
        self._metrics.outbox_retries.labels(item.platform, "rate_limited").inc()
        await self._outbox.retry_later(
            item,
            delay_seconds=seconds,
            error=f"429 retry after {seconds:g} s",
            counts_as_attempt=False,
        )

    async def _transient(self, item: OutboxItem, reason: str) -> None:
        attempt = item.attempts + 1
        if attempt >= self._max_attempts:
            logger.error(
                "gave up on outbox row %s to %s after %s attempts: %s",
                item.id,
                item.platform,
                attempt,
                reason,
            )
            self._metrics.outbox_failed.labels(item.platform, "gave_up").inc()
            await self._outbox.fail(item, error=f"gave up after {attempt} attempts: {reason}")
            return
        delay = backoff_seconds(attempt, base=self._backoff_base)
        logger.warning(
            "sending outbox row %s to %s failed (%s); retry %s in %.1f s",
            item.id,
            item.platform,
            reason,
            attempt,
            delay,
        )
        self._metrics.outbox_retries.labels(item.platform, "transient").inc()
        await self._outbox.retry_later(
            item, delay_seconds=delay, error=reason, counts_as_attempt=True
        )

    async def _unexpected(self, item: OutboxItem, error: Exception) -> None:
        # A failed attempt, as job runners (Sidekiq, which Chatwoot sends with) count any error:
        # a bug may be a passing one, and max_attempts still bounds how long the chat waits.
        # The row keeps only the error's type: its words may quote the message, and
        # `ideabot status` shows the row.
        logger.error(
            "sender crashed on outbox row %s to %s", item.id, item.platform, exc_info=error
        )
        await self._transient(item, f"sender crashed ({type(error).__name__})")

    async def _permanent(self, item: OutboxItem, error: PermanentDeliveryError) -> None:
        if error.recipient_unreachable:
            dropped = await self._outbox.fail_unreachable(item, error=error.reason)
            logger.warning(
                "outbox row %s: its %s chat cannot be reached (%s); %s waiting message(s) failed",
                item.id,
                item.platform,
                error.reason,
                dropped,
            )
            self._metrics.outbox_failed.labels(item.platform, "unreachable").inc(dropped)
            return
        logger.error(
            "outbox row %s to %s failed for good: %s", item.id, item.platform, error.reason
        )
        self._metrics.outbox_failed.labels(item.platform, "rejected").inc()
        await self._outbox.fail(item, error=error.reason, instead=error.instead)
