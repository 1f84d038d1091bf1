"""What retention removes besides conversations: chats' old messages, events, ids, dead letters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.messages import Attachment
from handlers.ports import REDELIVERY_WINDOW
from storage.outbox.deliveries import (
    FarewellThenErase,
    MarkButtonsUsed,
    SendDataExport,
    SendMessage,
    UnreadableDelivery,
    action_of,
    read_delivery,
    stored,
)
from storage.tables import (
    ConversationRow,
    DeadLetterRow,
    EventState,
    InboxRow,
    OutboxRow,
    OutboxState,
    PlatformEventRow,
    table_of,
)

_CONVERSATION = table_of(ConversationRow)
_DEAD_LETTER = table_of(DeadLetterRow)
_EVENT = table_of(PlatformEventRow)
_INBOX = table_of(InboxRow)
_OUTBOX = table_of(OutboxRow)
_SEND = action_of(SendMessage)
_DATA_EXPORT = action_of(SendDataExport)
# What goes to a customer's chat; staff threads go with their conversation, digests stay.
_CHAT_KINDS = (_SEND, _DATA_EXPORT, action_of(FarewellThenErase), action_of(MarkButtonsUsed))
_DONE = (OutboxState.SENT.value, OutboxState.FAILED.value)
# An erasure's own steps (its farewell included) go when it finishes; a failed one is shown.
_ERASURE_STEPS = "erasure:"
SLACK = "slack"


async def forget_chat_messages(
    session: AsyncSession,
    removed: Counter[str],
    chats: Collection[tuple[str, str]],
    *,
    now: datetime,
) -> None:
    """Sent messages of forgotten conversations' chats, up to the first conversation kept."""
    for platform, chat_id in sorted(chats):
        kept_since = await session.scalar(
            select(func.min(_CONVERSATION.c.created_at))
            .where(_CONVERSATION.c.platform == platform)
            .where(_CONVERSATION.c.chat_id == chat_id)
            .where(_CONVERSATION.c.forgotten_at.is_(None))
        )
        conditions = [_OUTBOX.c.destination == f"{platform}:{chat_id}"]
        if kept_since is not None:
            conditions.append(_OUTBOX.c.created_at < kept_since)
        await _forget_messages(session, removed, conditions, now=now)


async def age_out(
    session: AsyncSession,
    removed: Counter[str],
    *,
    cutoff: datetime,
    now: datetime,
    keep_exports_for: timedelta,
) -> None:
    """Chats' messages, stored events, inbox ids and dead letters older than ``cutoff``."""
    await _forget_messages(
        session,
        removed,
        [_OUTBOX.c.created_at < cutoff],
        now=now,
        keep_exports_for=keep_exports_for,
    )
    # Within the window a platform may send an event again, its id must still stop it.
    remembered = min(cutoff, now - REDELIVERY_WINDOW)
    removed["inbox_rows"] += await _count_deleted(
        session, delete(_INBOX).where(_INBOX.c.received_at < remembered)
    )
    removed["slack_events"] += await _count_deleted(
        session,
        delete(_EVENT)
        .where(_EVENT.c.state != EventState.PENDING.value)
        .where(_EVENT.c.received_at < remembered),
    )
    removed["dead_letters"] += await _count_deleted(
        session, delete(_DEAD_LETTER).where(_DEAD_LETTER.c.created_at < cutoff)
    )


async def _forget_messages(
    session: AsyncSession,
    removed: Counter[str],
    conditions: list[Any],
    *,
    now: datetime,
    keep_exports_for: timedelta = timedelta(0),
) -> None:
    """Delete done chat messages; a Slack post keeps its id (an erasure deletes it there)."""
    rows = await session.execute(
        select(_OUTBOX.c.id, _OUTBOX.c.platform, _OUTBOX.c.action, _OUTBOX.c.payload)
        .where(_OUTBOX.c.state.in_(_DONE))
        .where(_OUTBOX.c.action.in_(_CHAT_KINDS))
        .where(~_OUTBOX.c.destination.startswith(_ERASURE_STEPS, autoescape=True))
        # The /mydata limit reads when the last file was asked for.
        .where(
            or_(
                _OUTBOX.c.action != _DATA_EXPORT,
                _OUTBOX.c.created_at < now - keep_exports_for,
            )
        )
        .where(*conditions)
        .where(
            or_(
                _OUTBOX.c.platform != SLACK,
                _OUTBOX.c.platform_message_id == "",
                _OUTBOX.c.action.not_in([_SEND, _DATA_EXPORT]),
            )
        )
    )
    gone = [row.id for row in rows.all()]
    if gone:
        removed["chat_messages"] += await _count_deleted(
            session, delete(_OUTBOX).where(_OUTBOX.c.id.in_(gone))
        )
    posts = await session.execute(
        select(_OUTBOX.c.id, _OUTBOX.c.payload)
        .where(_OUTBOX.c.state == OutboxState.SENT.value)
        .where(_OUTBOX.c.action == _SEND)
        .where(_OUTBOX.c.platform == SLACK)
        .where(_OUTBOX.c.platform_message_id != "")
        .where(~_OUTBOX.c.destination.startswith(_ERASURE_STEPS, autoescape=True))
        .where(*conditions)
    )
    for post in posts.all():
        blank = _blanked(post.payload)
        if blank != post.payload:
            await session.execute(
                update(_OUTBOX).where(_OUTBOX.c.id == post.id).values(payload=blank)
            )
            removed["chat_messages_blanked"] += 1


def _blanked(payload: Any) -> dict[str, Any]:
    """A sent Slack message without its words: whether it was a file is all an erasure reads."""
    try:
        delivery = read_delivery(_SEND, payload)
    except UnreadableDelivery:
        return stored(SendMessage())
    assert isinstance(delivery, SendMessage)
    files = tuple(Attachment(kind=attachment.kind) for attachment in delivery.attachments)
    return stored(SendMessage(attachments=files))


async def _count_deleted(session: AsyncSession, statement: Any) -> int:
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)
