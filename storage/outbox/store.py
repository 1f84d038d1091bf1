"""The delivery side of the outbox: claim the next message of each chat, record how it went."""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.staff.room import StaffRoom
from storage.outbox.actions import report_failure, report_reaction
from storage.outbox.deliveries import (
    Delivery,
    FarewellThenErase,
    InThread,
    PostStaffCard,
    SendMessage,
    ThreadDelivery,
    UnreadableDelivery,
    read_delivery,
)
from storage.outbox.rows import enqueue_rows
from storage.tables import (
    CustomerRow,
    ErasureRow,
    OutboxRow,
    OutboxState,
    StaffThreadRow,
    table_of,
)
from storage.types import utc_now

_OUTBOX = table_of(OutboxRow)
_CUSTOMER = table_of(CustomerRow)
_THREAD = table_of(StaffThreadRow)
_ERASURE = table_of(ErasureRow)
# An erasure's Slack steps go to a destination of their own, ``erasure:<id>``.
_ERASURE_PREFIX = "erasure:"
_MARK_SENT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("row_id"))
    .values(
        state=OutboxState.SENT,
        lease_until=None,
        sent_at=bindparam("when_sent"),
        platform_message_id=bindparam("message_id"),
        attempts=bindparam("tries"),
    )
)


def _is_head() -> Any:
    """The row is the oldest pending one of its destination (the next to send there)."""
    earlier = _OUTBOX.alias("earlier")
    return ~(
        exists()
        .where(earlier.c.destination == _OUTBOX.c.destination)
        .where(earlier.c.state == OutboxState.PENDING)
        .where(earlier.c.id < _OUTBOX.c.id)
    )


async def _record(session: AsyncSession, receipts: Sequence[SentReceipt]) -> None:
    """Mark the receipts' rows sent and set off what their delivery leads to."""
    if receipts:
        await session.execute(_MARK_SENT, [_receipt_parameters(r) for r in receipts])
        await _after_sent(session, receipts)
        await _finish_erasures(session, [receipt.item for receipt in receipts])


async def _finish_erasures(session: AsyncSession, items: Sequence[OutboxItem]) -> None:
    """Mark an erasure finished once none of its Slack steps is pending any more."""
    for destination in {item.destination for item in items}:
        if not destination.startswith(_ERASURE_PREFIX):
            continue
        waiting = (
            exists()
            .where(_OUTBOX.c.destination == destination)
            .where(_OUTBOX.c.state == OutboxState.PENDING)
        )
        finished = await session.execute(
            update(_ERASURE)
            .where(_ERASURE.c.id == int(destination.removeprefix(_ERASURE_PREFIX)))
            .where(_ERASURE.c.finished_at.is_(None))
            .where(~waiting)
            .values(finished_at=utc_now())
        )
        if getattr(finished, "rowcount", 0):
            # Done steps name a customer's DM channel or posts: the audit row is what stays.
            await session.execute(
                delete(_OUTBOX)
                .where(_OUTBOX.c.destination == destination)
                .where(_OUTBOX.c.state == OutboxState.SENT)
            )


def _receipt_parameters(receipt: SentReceipt) -> dict[str, Any]:
    return {
        "row_id": receipt.item.id,
        "when_sent": receipt.sent_at,
        "message_id": receipt.platform_message_id[:128],
        "tries": receipt.item.attempts + 1,
    }


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One claimed outbox row: what to do, where, and how often it was tried."""

    id: int
    destination: str
    platform: str
    chat_id: str
    delivery: Delivery
    attempts: int
    created_at: datetime
    # A delivery into a staff thread needs the thread's id, known once its card was posted.
    thread_ref: str | None = None


@dataclass(frozen=True, slots=True)
class SentReceipt:
    """A claimed item the platform accepted, waiting to be recorded as sent."""

    item: OutboxItem
    platform_message_id: str
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxBacklog:
    """How many outbox rows wait, were sent, or failed."""

    pending: int
    sent: int
    failed: int


@dataclass(frozen=True, slots=True)
class FailedDelivery:
    """An outbox row given up on, for ``ideabot status``."""

    id: int
    destination: str
    action: str
    last_error: str
    created_at: datetime


async def _with_thread_refs(session: AsyncSession, items: list[OutboxItem]) -> list[OutboxItem]:
    """Items for a staff thread, with the thread's id (known once its card was posted)."""
    wanted = {
        item.delivery.conversation_id for item in items if isinstance(item.delivery, InThread)
    }
    if not wanted:
        return items
    rows = await session.execute(
        select(_THREAD.c.conversation_id, _THREAD.c.thread_ref).where(
            _THREAD.c.conversation_id.in_(wanted)
        )
    )
    refs = {conversation_id: ref for conversation_id, ref in rows}
    return [
        replace(item, thread_ref=refs.get(item.delivery.conversation_id))
        if isinstance(item.delivery, InThread)
        else item
        for item in items
    ]


async def _after_sent(session: AsyncSession, receipts: Sequence[SentReceipt]) -> None:
    """What a delivery sets off: a posted card opens its thread; a reply gets its reaction."""
    for receipt in receipts:
        match receipt.item.delivery:
            case PostStaffCard(conversation_id=conversation_id):
                await session.execute(
                    update(_THREAD)
                    .where(_THREAD.c.conversation_id == conversation_id)
                    .values(thread_ref=receipt.platform_message_id, updated_at=receipt.sent_at)
                )
            case SendMessage(report=report) if report is not None:
                await _post_in_thread(session, report_reaction(report))


async def _report_failures(
    session: AsyncSession, deliveries: Sequence[Delivery], error: str
) -> None:
    for delivery in deliveries:
        if isinstance(delivery, SendMessage) and delivery.report is not None:
            await _post_in_thread(session, report_failure(delivery.report, error))


async def _post_in_thread(session: AsyncSession, delivery: ThreadDelivery) -> None:
    conversation_id = delivery.conversation_id
    room = (
        await session.execute(
            select(_THREAD.c.room_platform, _THREAD.c.room_chat_id).where(
                _THREAD.c.conversation_id == conversation_id
            )
        )
    ).first()
    if room is None:
        return
    staff_room = StaffRoom(platform=room.room_platform, chat_id=room.room_chat_id)
    await enqueue_rows(
        session,
        destination=staff_room.destination(conversation_id),
        platform=staff_room.platform,
        chat_id=staff_room.chat_id,
        deliveries=[delivery],
    )


def _claimed(row: Any) -> OutboxItem:
    """The item of a claimed row, its JSON read back as the typed delivery it was written from."""
    return OutboxItem(
        id=row.id,
        destination=row.destination,
        platform=row.platform,
        chat_id=row.chat_id,
        delivery=read_delivery(row.action, row.payload),
        attempts=row.attempts,
        created_at=row.created_at,
    )


async def _readable(session: AsyncSession, rows: Iterable[Any]) -> list[OutboxItem]:
    """The claimed rows as items; a row no sender could read fails at once, with why."""
    items: list[OutboxItem] = []
    for row in rows:
        try:
            items.append(_claimed(row))
        except UnreadableDelivery as error:
            await session.execute(
                update(_OUTBOX)
                .where(_OUTBOX.c.id == row.id)
                .values(
                    state=OutboxState.FAILED,
                    lease_until=None,
                    last_error=f"unreadable {row.action!r} payload: {error}"[:1024],
                )
            )
    return items


def _readable_deliveries(rows: Iterable[Any]) -> list[Delivery]:
    """The deliveries of rows given up on; an unreadable one has no report to make."""
    deliveries: list[Delivery] = []
    for row in rows:
        with contextlib.suppress(UnreadableDelivery):
            deliveries.append(read_delivery(row.action, row.payload))
    return deliveries


class SqlOutboxStore:
    """Claims and settles outbox rows; safe with several processes on one database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def claim_due(
        self,
        *,
        platforms: Collection[str],
        limit: int,
        lease_seconds: float,
        busy: Collection[int] = (),
    ) -> list[OutboxItem]:
        """Lease the oldest due message of up to ``limit`` chats.

        Rows in ``busy`` are still in the caller's hands and are left alone.
        """
        now = utc_now()
        heads = (
            select(_OUTBOX.c.id)
            .where(_OUTBOX.c.state == OutboxState.PENDING)
            .where(_OUTBOX.c.platform.in_(list(platforms)))
            .where(_OUTBOX.c.id.not_in(list(busy)))
            .where(_OUTBOX.c.next_attempt_at <= now)
            .where(or_(_OUTBOX.c.lease_until.is_(None), _OUTBOX.c.lease_until < now))
            .where(_is_head())
            .order_by(_OUTBOX.c.priority, _OUTBOX.c.id)
            .limit(limit)
        )
        if limit <= 0:
            return []
        async with self._sessions() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                # Another process may be claiming too: skip what it holds instead of waiting.
                heads = heads.with_for_update(skip_locked=True, of=_OUTBOX)
            ids = list((await session.execute(heads)).scalars())
            if not ids:
                return []
            rows = await session.execute(
                update(_OUTBOX)
                .where(_OUTBOX.c.id.in_(ids))
                .where(or_(_OUTBOX.c.lease_until.is_(None), _OUTBOX.c.lease_until < now))
                .values(lease_until=now + timedelta(seconds=lease_seconds))
                .returning(
                    _OUTBOX.c.id,
                    _OUTBOX.c.destination,
                    _OUTBOX.c.platform,
                    _OUTBOX.c.chat_id,
                    _OUTBOX.c.action,
                    _OUTBOX.c.payload,
                    _OUTBOX.c.attempts,
                    _OUTBOX.c.created_at,
                )
            )
            items = await _readable(session, rows)
            items = await _with_thread_refs(session, items)
        return sorted(items, key=lambda item: item.id)

    async def record_sent(self, receipts: Sequence[SentReceipt]) -> None:
        """Record what the platforms accepted, and what that sets off."""
        async with self._sessions() as session, session.begin():
            await _record(session, receipts)

    async def mark_sent(self, item: OutboxItem, *, platform_message_id: str) -> None:
        """The platform accepted the message."""
        await self.record_sent([SentReceipt(item, platform_message_id, utc_now())])

    async def retry_later(
        self, item: OutboxItem, *, delay_seconds: float, error: str, counts_as_attempt: bool
    ) -> None:
        """Try again after ``delay_seconds``; the chat's later messages keep waiting behind it."""
        await self._settle(
            item,
            state=OutboxState.PENDING,
            next_attempt_at=utc_now() + timedelta(seconds=delay_seconds),
            attempts=item.attempts + (1 if counts_as_attempt else 0),
            last_error=error[:1024],
        )

    async def release(self, item: OutboxItem) -> None:
        """Give the claim back unsent: the message is due again at once, here or elsewhere."""
        await self._settle(item)

    async def fail(self, item: OutboxItem, *, error: str, instead: str = "") -> None:
        """Give up on this message for good, queueing ``instead`` to the chat if given."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(_OUTBOX)
                .where(_OUTBOX.c.id == item.id)
                .values(
                    lease_until=None,
                    state=OutboxState.FAILED,
                    attempts=item.attempts + 1,
                    last_error=error[:1024],
                )
            )
            await _report_failures(session, [item.delivery], error)
            await _finish_erasures(session, [item])
            if isinstance(item.delivery, FarewellThenErase):
                instead = instead or item.delivery.could_not
            if instead:
                await enqueue_rows(
                    session,
                    destination=item.destination,
                    platform=item.platform,
                    chat_id=item.chat_id,
                    deliveries=[SendMessage(text=instead)],
                )

    async def fail_unreachable(self, item: OutboxItem, *, error: str) -> int:
        """The chat cannot be reached: fail its waiting messages, mark the customer; how many."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(_OUTBOX)
                .where(_OUTBOX.c.destination == item.destination)
                .where(_OUTBOX.c.state == OutboxState.PENDING)
                .values(state=OutboxState.FAILED, lease_until=None, last_error=error[:1024])
                .returning(_OUTBOX.c.action, _OUTBOX.c.payload)
            )
            dropped = result.all()
            await _report_failures(session, _readable_deliveries(dropped), error)
            await session.execute(
                update(_CUSTOMER)
                .where(_CUSTOMER.c.platform == item.platform)
                .where(_CUSTOMER.c.chat_id == item.chat_id)
                .values(unreachable=True, unreachable_reason=error[:512], updated_at=utc_now())
            )
        return len(dropped)

    async def next_due_at(self, *, platforms: Collection[str]) -> datetime | None:
        """When the first chat's next message may be claimed: its retry time or lease end.

        Only the head of each chat counts: messages behind a head that waits (a 429, a
        backoff) are not due before it, and counting them would make the worker spin.
        """
        heads = (
            select(_OUTBOX.c.next_attempt_at, _OUTBOX.c.lease_until)
            .where(_OUTBOX.c.state == OutboxState.PENDING)
            .where(_OUTBOX.c.platform.in_(list(platforms)))
            .where(_is_head())
        )
        async with self._sessions() as session:
            rows = (await session.execute(heads)).all()
        moments = [max(row.next_attempt_at, row.lease_until or row.next_attempt_at) for row in rows]
        return min(moments, default=None)

    async def recent_failures(self, *, limit: int = 10) -> list[FailedDelivery]:
        """The newest messages given up on, with why."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(
                    _OUTBOX.c.id,
                    _OUTBOX.c.destination,
                    _OUTBOX.c.action,
                    _OUTBOX.c.last_error,
                    _OUTBOX.c.created_at,
                )
                .where(_OUTBOX.c.state == OutboxState.FAILED)
                .order_by(_OUTBOX.c.id.desc())
                .limit(limit)
            )
            return [FailedDelivery(**row._mapping) for row in rows]

    async def backlog(self) -> OutboxBacklog:
        """Counts of outbox rows by state."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(_OUTBOX.c.state, func.count()).group_by(_OUTBOX.c.state)
            )
            counts = {state: count for state, count in rows}
        return OutboxBacklog(
            pending=counts.get(OutboxState.PENDING, 0),
            sent=counts.get(OutboxState.SENT, 0),
            failed=counts.get(OutboxState.FAILED, 0),
        )

    async def _settle(self, item: OutboxItem, **values: Any) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(_OUTBOX).where(_OUTBOX.c.id == item.id).values(lease_until=None, **values)
            )
