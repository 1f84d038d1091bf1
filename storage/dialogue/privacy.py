"""The privacy side of a turn's transaction: what the chat already asked, read from the outbox."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.messages import ConversationKey
from storage.outbox.deliveries import FarewellThenErase, SendDataExport, action_of
from storage.tables import OutboxRow, OutboxState, table_of
from storage.types import utc_now

_OUTBOX = table_of(OutboxRow)
_EXPORT_ACTION = action_of(SendDataExport)
_ERASE_ACTION = action_of(FarewellThenErase)


class PrivacyTransactionPart:
    """The privacy methods of the turn's transaction (mixed into SqlDialogueTransaction)."""

    _session: AsyncSession

    async def data_export_within(self, *, key: ConversationKey, within: timedelta) -> bool:
        """True if a file of the customer's data was queued for this chat in the last ``within``."""
        # Sent rows stay in the outbox until an erasure, so they also tell when it was asked.
        query = select(
            exists()
            .where(_OUTBOX.c.destination == key.destination)
            .where(_OUTBOX.c.action == _EXPORT_ACTION)
            .where(_OUTBOX.c.created_at >= utc_now() - within)
        )
        return bool((await self._session.execute(query)).scalar())

    async def erasure_waiting(self, *, key: ConversationKey) -> bool:
        """True if this chat's erasure is queued or failed, and has not been carried out."""
        # Carried out, the erasure deletes its own row with the rest of the chat's.
        query = select(
            exists()
            .where(_OUTBOX.c.destination == key.destination)
            .where(_OUTBOX.c.action == _ERASE_ACTION)
            # A failed one waits for an operator (`ideabot status` shows it): not a second.
            .where(_OUTBOX.c.state.in_([OutboxState.PENDING, OutboxState.FAILED]))
        )
        return bool((await self._session.execute(query)).scalar())
