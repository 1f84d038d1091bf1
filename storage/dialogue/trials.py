"""The trial side of a turn's transaction: admins' trials of drafts, in rows of their own."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.flows.engine import FlowState
from handlers.flows.schema import FlowDefinition
from handlers.messages import ConversationKey
from handlers.ports import TrialRecord, TrialStatus
from storage.tables import FlowTrialRow, table_of
from storage.types import utc_now
from storage.upsert import insert_if_absent

_TRIAL = table_of(FlowTrialRow)
_ONE_ACTIVE = _TRIAL.c.status == TrialStatus.ACTIVE.value
# The condition of the partial unique index (one active trial per chat), written as the index
# has it: PostgreSQL matches ON CONFLICT to the index by this text, not by a bound parameter.
_INDEX_WHERE = text("status = 'active'")
# Each failed try means another process started a trial in this chat meanwhile (it committed,
# so the next try replaces it); more than a few at once is no admin clicking.
_START_ATTEMPTS = 5


class TrialStartClash(Exception):
    """Other processes kept starting trials in the chat while this one tried to."""


class TrialTransactionPart:
    """The trial methods of the turn's transaction (mixed into SqlDialogueTransaction)."""

    _session: AsyncSession

    async def running_trial(
        self, *, key: ConversationKey, idle_limit: timedelta
    ) -> TrialRecord | None:
        """The chat's one active trial touched within ``idle_limit``.

        On PostgreSQL its row is locked, so another process's turn or start in this chat waits
        for this transaction; SQLite runs one write transaction at a time anyway.
        """
        row = (
            await self._session.execute(
                select(_TRIAL)
                .where(_TRIAL.c.platform == key.platform)
                .where(_TRIAL.c.chat_id == key.chat_id)
                .where(_ONE_ACTIVE)
                .where(_TRIAL.c.updated_at >= utc_now() - idle_limit)
                .with_for_update()
            )
        ).first()
        if row is None:
            return None
        return TrialRecord(
            id=row.id,
            key=ConversationKey(row.platform, row.chat_id, row.user_id),
            flow_id=row.flow_id,
            draft_id=row.draft_id,
            seen_live=row.seen_live,
            language=row.language,
            definition=FlowDefinition.model_validate(row.definition),
            status=TrialStatus(row.status),
            state=FlowState.from_json(row.state),
        )

    async def start_trial(self, trial: TrialRecord) -> int:
        """End the chat's trial under way and store this one; a trial started meanwhile, too."""
        key = trial.key
        for _ in range(_START_ATTEMPTS):
            now = utc_now()
            await self._session.execute(
                update(_TRIAL)
                .where(_TRIAL.c.platform == key.platform)
                .where(_TRIAL.c.chat_id == key.chat_id)
                .where(_ONE_ACTIVE)
                .values(status=TrialStatus.REPLACED.value, updated_at=now)
            )
            # A trial another process inserted after that update waits for its commit here,
            # then makes this insert do nothing; the next round replaces it.
            trial_id = await insert_if_absent(
                self._session,
                FlowTrialRow,
                conflict=["platform", "chat_id"],
                conflict_where=_INDEX_WHERE,
                values={
                    "platform": key.platform,
                    "chat_id": key.chat_id,
                    "user_id": key.user_id,
                    "flow_id": trial.flow_id,
                    "draft_id": trial.draft_id,
                    "definition": trial.definition.model_dump(mode="json"),
                    "seen_live": trial.seen_live,
                    "language": trial.language,
                    "status": trial.status.value,
                    "state": trial.state.to_json(),
                    "created_at": now,
                    "updated_at": now,
                },
            )
            if trial_id is not None:
                return int(trial_id)
        raise TrialStartClash(f"{_START_ATTEMPTS} trials started at once in chat {key.chat_id}")

    async def save_trial(self, trial: TrialRecord) -> None:
        """Store the trial's state and status."""
        assert trial.id is not None
        await self._session.execute(
            update(_TRIAL)
            .where(_TRIAL.c.id == trial.id)
            .values(status=trial.status.value, state=trial.state.to_json(), updated_at=utc_now())
        )

    async def delete_trials(self, *, touched_before: datetime) -> int:
        """Delete every trial last touched before ``touched_before``; how many."""
        deleted = await self._session.execute(
            delete(_TRIAL).where(_TRIAL.c.updated_at < touched_before)
        )
        return int(getattr(deleted, "rowcount", 0) or 0)
