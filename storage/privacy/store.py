"""`SqlErasures`: a customer's erasure and the retention sweep, each one transaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.ports import ConversationStatus, ErasureOutcome, Farewell, PendingErasure
from handlers.privacy.rules import CUSTOMER_ERASURE, RETENTION
from storage.privacy.aging import age_out, forget_chat_messages
from storage.privacy.card_quotes import scrub_cards
from storage.privacy.erasure import (
    Cleanup,
    clear_ideas,
    drop_outbox,
    erasure_destination,
    finish,
    forget_arrivals,
    forget_conversations,
    forget_decisions,
    scrub_digests,
    start,
    unlink_invitations,
)
from storage.privacy.records import ERASED_PLATFORM
from storage.tables import (
    ConversationRow,
    CustomerRow,
    ErasureRow,
    IdeaRow,
    MessageRow,
    OutboxRow,
    OutboxState,
    ScheduledRunRow,
    table_of,
)
from storage.types import utc_now
from storage.upsert import insert_if_absent

_CONVERSATION = table_of(ConversationRow)
_CUSTOMER = table_of(CustomerRow)
_ERASURE = table_of(ErasureRow)
_IDEA = table_of(IdeaRow)
_MESSAGE = table_of(MessageRow)
_OUTBOX = table_of(OutboxRow)
_CLOSED = [
    ConversationStatus.FINISHED.value,
    ConversationStatus.CANCELLED.value,
    ConversationStatus.CLOSED.value,
    ConversationStatus.ABANDONED.value,
]
RETENTION_JOB = "retention"
# One sweep forgets at most this many conversations; the next day's sweep takes the rest.
RETENTION_BATCH = 5000


def _outcome(cleanup: Cleanup, steps: int) -> ErasureOutcome:
    return ErasureOutcome(
        erasure_id=cleanup.erasure_id,
        removed={name: count for name, count in cleanup.removed.items() if count},
        remote_steps=steps,
        could_not=tuple(cleanup.links),
    )


class SqlErasures:
    """Erases in one transaction, and leaves Slack's part to the outbox."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        admins: Sequence[str] = (),
        export_every: timedelta = timedelta(0),
    ) -> None:
        self._sessions = sessions
        self._admins = tuple(admins)
        # Retention keeps the newest /mydata requests this long: their limit reads them.
        self._export_every = export_every

    async def erase_customer(
        self, *, customer_id: int, requested_by: str, farewell: Farewell | None = None
    ) -> ErasureOutcome | None:
        """Everything of one customer in one transaction, then ``farewell``; None if none."""
        async with self._sessions() as session, session.begin():
            query = (
                select(_CUSTOMER)
                .where(_CUSTOMER.c.id == customer_id)
                .where(_CUSTOMER.c.platform != ERASED_PLATFORM)
            )
            if session.get_bind().dialect.name == "postgresql":
                # The dialogue locks this row for a turn: an erasure waits for the turn, not mixes.
                query = query.with_for_update()
            customer = (await session.execute(query)).first()
            if customer is None:
                return None
            cleanup = await start(
                session, kind=CUSTOMER_ERASURE, requested_by=requested_by, now=utc_now()
            )
            await _erase(session, cleanup, customer)
            steps = await finish(session, cleanup, admins=self._admins, farewell=farewell)
        return _outcome(cleanup, steps)

    async def forget_closed_before(
        self, *, cutoff: datetime, period: str, requested_by: str
    ) -> ErasureOutcome | None:
        """Conversations closed before ``cutoff`` lose their words everywhere, once per period.

        So do chats' sent messages, stored events, inbox ids and dead letters older than it.
        """
        now = utc_now()
        async with self._sessions() as session, session.begin():
            claimed = await insert_if_absent(
                session,
                ScheduledRunRow,
                conflict=["job", "period"],
                values={"job": RETENTION_JOB, "period": period, "ran_at": now},
            )
            if claimed is None:
                return None
            old = await _closed_before(session, cutoff)
            aged: Counter[str] = Counter()
            await age_out(
                session, aged, cutoff=cutoff, now=now, keep_exports_for=self._export_every
            )
            if not old and not +aged:
                # Nothing is old enough: no audit entry for a sweep that removed nothing.
                return ErasureOutcome(erasure_id=0, removed={}, remote_steps=0, could_not=())
            cleanup = await start(session, kind=RETENTION, requested_by=requested_by, now=now)
            cleanup.removed.update(aged)
            ids = [row.id for row in old]
            ideas = await session.execute(
                select(_IDEA.c.id).where(_IDEA.c.conversation_id.in_(ids))
            )
            await clear_ideas(session, cleanup, list(ideas.scalars()), author_id=None)
            await forget_decisions(session, cleanup, conversation_ids=ids)
            await forget_conversations(session, cleanup, ids)
            chats = {(row.platform, row.chat_id) for row in old if row.chat_id}
            await forget_chat_messages(session, cleanup.removed, chats, now=now)
            await scrub_digests(session, cleanup)
            await scrub_cards(session, cleanup)
            steps = await finish(session, cleanup, admins=self._admins)
        return _outcome(cleanup, steps)

    async def pending_erasures(self) -> list[PendingErasure]:
        """Erasures whose Slack steps are not all done, oldest first."""
        async with self._sessions() as session:
            erasures = await session.execute(
                select(_ERASURE).where(_ERASURE.c.finished_at.is_(None)).order_by(_ERASURE.c.id)
            )
            pending = []
            for row in erasures.all():
                counts: dict[str, int] = dict(
                    (
                        await session.execute(
                            select(_OUTBOX.c.state, func.count())
                            .where(_OUTBOX.c.destination == erasure_destination(row.id))
                            .group_by(_OUTBOX.c.state)
                        )
                    ).all()
                )
                pending.append(
                    PendingErasure(
                        erasure_id=row.id,
                        kind=row.kind,
                        requested_by=row.requested_by,
                        requested_at=row.requested_at,
                        steps_left=int(counts.get(OutboxState.PENDING.value, 0)),
                        steps_failed=int(counts.get(OutboxState.FAILED.value, 0)),
                    )
                )
        return pending


async def _closed_before(session: AsyncSession, cutoff: datetime) -> list[Any]:
    """Conversations closed before ``cutoff`` and not yet forgotten, one batch of them."""
    # Active and with-staff conversations are never forgotten, however old: they are in use.
    conversation = _CONVERSATION.c
    rows = await session.execute(
        select(conversation.id, conversation.platform, conversation.chat_id)
        .where(conversation.status.in_(_CLOSED))
        .where(conversation.updated_at < cutoff)
        .where(conversation.forgotten_at.is_(None))
        .order_by(conversation.id)
        .limit(RETENTION_BATCH)
    )
    return list(rows.all())


async def _erase(session: AsyncSession, cleanup: Cleanup, customer: Any) -> None:
    """The rows of one customer: conversations, ideas, outbox, arrivals; the row a tombstone."""
    customer_id: int = customer.id
    platform: str = customer.platform
    conversations = await session.execute(
        select(_CONVERSATION.c.id, _CONVERSATION.c.chat_id).where(
            _CONVERSATION.c.customer_id == customer_id
        )
    )
    rows = conversations.all()
    chats = {customer.chat_id} | {row.chat_id for row in rows if row.chat_id}
    ideas = await session.execute(select(_IDEA.c.id).where(_IDEA.c.customer_id == customer_id))
    await forget_conversations(session, cleanup, [row.id for row in rows])
    await drop_outbox(session, cleanup, [f"{platform}:{chat}" for chat in sorted(chats)])
    # After their own messages are gone: only others' quotes of their titles are rewritten.
    await clear_ideas(session, cleanup, list(ideas.scalars()), author_id=customer_id)
    await forget_decisions(
        session, cleanup, conversation_ids=[row.id for row in rows], customer_id=customer_id
    )
    for chat in sorted(chats):
        await forget_arrivals(session, cleanup, platform=platform, chat_id=chat)
    await scrub_digests(session, cleanup)
    await scrub_cards(session, cleanup)
    # Messages outside any conversation (none today) go too.
    await session.execute(_MESSAGE.delete().where(_MESSAGE.c.customer_id == customer_id))
    await unlink_invitations(session, customer_id)
    await session.execute(
        update(_CUSTOMER)
        .where(_CUSTOMER.c.id == customer_id)
        .values(
            platform=ERASED_PLATFORM,
            platform_user_id=f"erased:{cleanup.erasure_id}",
            chat_id="",
            display_name="",
            language="",
            unreachable=True,
            unreachable_reason="",
            wants_updates=False,
            wants_invitations=False,
            updated_at=cleanup.now,
        )
    )
    cleanup.removed["customers"] += 1
