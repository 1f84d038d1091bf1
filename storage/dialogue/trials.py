"""The trial side of a turn's transaction: admins' trials of drafts, in rows of their own."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.flows.engine import FlowState
from handlers.flows.schema import FlowDefinition
from handlers.flows.versions import FlowAction
from handlers.messages import ConversationKey
from handlers.ports import TrialRecord, TrialStatus
from storage.tables import FlowChangeRow, FlowTrialRow, table_of
from storage.types import utc_now

_TRIAL = table_of(FlowTrialRow)
_CHANGE = table_of(FlowChangeRow)


class TrialTransactionPart:
    """The trial methods of the turn's transaction (mixed into SqlDialogueTransaction)."""

    _session: AsyncSession

    async def running_trial(self, *, key: ConversationKey) -> TrialRecord | None:
        """The chat's trial under way, locked so another process's turn waits for this one."""
        row = (
            await self._session.execute(
                select(_TRIAL)
                .where(_TRIAL.c.platform == key.platform)
                .where(_TRIAL.c.chat_id == key.chat_id)
                .where(_TRIAL.c.status == TrialStatus.ACTIVE.value)
                .order_by(_TRIAL.c.id.desc())
                .limit(1)
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

    async def start_trial(self, trial: TrialRecord, *, actor: str, source: str) -> int:
        """End the chat's trial under way, store this one, and note it in the flow's audit trail."""
        now = utc_now()
        key = trial.key
        await self._session.execute(
            update(_TRIAL)
            .where(_TRIAL.c.platform == key.platform)
            .where(_TRIAL.c.chat_id == key.chat_id)
            .where(_TRIAL.c.status == TrialStatus.ACTIVE.value)
            .values(status=TrialStatus.REPLACED.value, updated_at=now)
        )
        inserted = await self._session.execute(
            insert(_TRIAL)
            .values(
                platform=key.platform,
                chat_id=key.chat_id,
                user_id=key.user_id,
                flow_id=trial.flow_id,
                draft_id=trial.draft_id,
                definition=trial.definition.model_dump(mode="json"),
                seen_live=trial.seen_live,
                language=trial.language,
                status=trial.status.value,
                state=trial.state.to_json(),
                created_at=now,
                updated_at=now,
            )
            .returning(_TRIAL.c.id)
        )
        await self._session.execute(
            insert(_CHANGE).values(
                flow_id=trial.flow_id,
                action=FlowAction.TRY.value,
                from_version=trial.seen_live or None,
                to_version=None,
                draft_id=trial.draft_id,
                source=source[:1024],
                actor=actor[:128],
                created_at=now,
            )
        )
        trial_id: int = inserted.scalar_one()
        return trial_id

    async def save_trial(self, trial: TrialRecord) -> None:
        """Store the trial's state and status."""
        assert trial.id is not None
        await self._session.execute(
            update(_TRIAL)
            .where(_TRIAL.c.id == trial.id)
            .values(status=trial.status.value, state=trial.state.to_json(), updated_at=utc_now())
        )
