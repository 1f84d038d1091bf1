"""An idea desk on a test database, and status changes to give it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.ideas.desk import IdeaDesk
from handlers.ideas.status import IdeaStatus, StatusChange, StatusLabels
from storage.dialogue.store import SqlDialogueStore
from tests.helpers.dialogue import CountingSignal

Sessions = async_sessionmaker[AsyncSession]


def desk(sessions: Sessions) -> IdeaDesk:
    return IdeaDesk(
        store=SqlDialogueStore(sessions),
        outbox_signal=CountingSignal(),
        labels=StatusLabels.default(),
        staff_room=None,
    )


def change(status: IdeaStatus, message: str = "", external_id: str = "c1") -> StatusChange:
    return StatusChange(
        external_id=external_id, idea_id=1, status=status, changed_by="Anne", message=message
    )
