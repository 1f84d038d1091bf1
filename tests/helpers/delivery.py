"""Outbox messages queued straight in the database, for delivery tests."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.messages import ConversationKey, OutgoingMessage
from storage.dialogue.store import SqlDialogueStore
from storage.outbox.deliveries import SendMessage
from storage.outbox.store import OutboxItem

Sessions = async_sessionmaker[AsyncSession]


def key(chat: str) -> ConversationKey:
    return ConversationKey(platform="telegram", chat_id=chat, user_id=chat)


async def enqueue(sessions: Sessions, chat: str, *texts: str) -> None:
    async with SqlDialogueStore(sessions).transaction() as transaction:
        await transaction.customer_for(key=key(chat), display_name=chat, language="en")
        await transaction.enqueue(key=key(chat), actions=[OutgoingMessage(t) for t in texts])


def text_of(item: OutboxItem) -> str:
    """The words of a message to a customer's chat."""
    assert isinstance(item.delivery, SendMessage), item.delivery
    return item.delivery.text
