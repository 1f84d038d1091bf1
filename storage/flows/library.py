"""Flow versions, drafts and their audit trail in the database, for admins to change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, delete

from handlers.flows.loader import LoadedFlow
from handlers.flows.versions import (
    NOTHING_LIVE,
    ChangedMeanwhile,
    FlowAction,
    FlowChange,
    FlowDraft,
    FlowSummary,
    Published,
    StoredFlow,
    UnknownDraft,
    UnknownFlow,
    UnknownVersion,
    needs_import,
    next_version,
    rollback_target,
)
from storage.flows.queries import (
    as_draft,
    last_imported,
    live_version,
    read_drafts,
    read_history,
    read_stored,
    read_summaries,
    version_checksums,
)
from storage.tables import FlowChangeRow, FlowDraftRow, FlowLiveRow, FlowVersionRow, table_of
from storage.types import utc_now

# Tries of one file's import when other processes import the same folder at the same time.
IMPORT_ATTEMPTS = 3


async def _make_live(
    session: AsyncSession, *, flow_id: str, expected: int | None, version: int, actor: str
) -> None:
    """Point the flow at ``version``, if it is still at ``expected``; else ChangedMeanwhile."""
    if expected is None:
        # A second admin creating the same flow meets the primary key: IntegrityError.
        session.add(FlowLiveRow(flow_id=flow_id, version=version, changed_by=actor))
        await session.flush()
        return
    moved = await session.execute(
        update(table_of(FlowLiveRow))
        .where(table_of(FlowLiveRow).c.flow_id == flow_id)
        .where(table_of(FlowLiveRow).c.version == expected)
        .values(version=version, changed_by=actor, changed_at=utc_now())
    )
    if getattr(moved, "rowcount", 0) != 1:
        raise ChangedMeanwhile(flow_id)


async def _go_live(session: AsyncSession, change: FlowChange) -> Published:
    """Make ``change.to_version`` live, if live is still ``change.from_version``, and record it."""
    assert change.to_version is not None
    await _make_live(
        session,
        flow_id=change.flow_id,
        expected=change.from_version,
        version=change.to_version,
        actor=change.actor,
    )
    _record(session, change)
    return Published(
        flow_id=change.flow_id,
        version=change.to_version,
        previous=change.from_version,
        changed=True,
    )


def _still(flow_id: str, *, live: int | None, seen_live: int | None) -> None:
    """Refuse when the admin decided on a live version (0: none yet) that is no longer live."""
    if seen_live is not None and (live or NOTHING_LIVE) != seen_live:
        raise ChangedMeanwhile(flow_id)


def _record(session: AsyncSession, change: FlowChange) -> None:
    """Add ``change`` to the audit trail, in the transaction that makes it."""
    session.add(
        FlowChangeRow(
            flow_id=change.flow_id,
            action=change.action.value,
            from_version=change.from_version,
            to_version=change.to_version,
            draft_id=change.draft_id,
            source=change.source,
            actor=change.actor,
            created_at=change.at,
        )
    )


class SqlFlowLibrary:
    """Publishes, drafts and rolls back flows; every change is one transaction and one entry.

    Two admins changing one flow at once: the live version is checked when it is moved, and
    version numbers are unique, so the second one gets ChangedMeanwhile and nothing changes.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def _publish(
        self,
        session: AsyncSession,
        *,
        flow: LoadedFlow,
        actor: str,
        action: FlowAction,
        draft_id: int | None = None,
        seen_live: int | None = None,
    ) -> Published:
        """Store ``flow`` as the next version and make it live, unless live has its content."""
        flow_id = flow.definition.id
        live = await live_version(session, flow_id)
        _still(flow_id, live=live, seen_live=seen_live)
        checksums = await version_checksums(session, flow_id)
        if live is not None and checksums.get(live) == flow.checksum:
            return Published(flow_id=flow_id, version=live, previous=live, changed=False)
        version = next_version(checksums)
        session.add(
            FlowVersionRow(
                flow_id=flow_id,
                version=version,
                checksum=flow.checksum,
                source=flow.source,
                definition=flow.definition.model_copy(update={"version": version}).model_dump(
                    mode="json"
                ),
                created_by=actor,
            )
        )
        await session.flush()
        return await _go_live(
            session,
            FlowChange(
                flow_id=flow_id,
                action=action,
                actor=actor,
                at=utc_now(),
                from_version=live,
                to_version=version,
                draft_id=draft_id,
                source=flow.source,
            ),
        )

    async def _write(self, flow_id: str, work: Any) -> Any:
        """Run ``work(session)`` in one transaction; a clash with another admin is told."""
        try:
            async with self._sessions() as session, session.begin():
                return await work(session)
        except IntegrityError:
            raise ChangedMeanwhile(flow_id) from None

    async def push(self, flow: LoadedFlow, *, actor: str) -> Published:
        """Publish ``flow`` as the next version, unless the live version has the same content."""
        published: Published = await self._write(
            flow.definition.id,
            lambda session: self._publish(session, flow=flow, actor=actor, action=FlowAction.PUSH),
        )
        return published

    async def import_files(self, flows: list[LoadedFlow], *, actor: str) -> list[Published]:
        """Publish each file that changed since the folder was last imported and differs."""
        done: list[Published] = []
        for flow in flows:

            async def one(session: AsyncSession, flow: LoadedFlow = flow) -> Published:
                flow_id = flow.definition.id
                live = await live_version(session, flow_id)
                checksums = await version_checksums(session, flow_id)
                wanted = needs_import(
                    checksum=flow.checksum,
                    live=None if live is None else checksums.get(live),
                    last_imported=await last_imported(session, flow_id),
                )
                if not wanted:
                    assert live is not None
                    return Published(flow_id=flow_id, version=live, previous=live, changed=False)
                return await self._publish(
                    session, flow=flow, actor=actor, action=FlowAction.IMPORT
                )

            done.append(await self._imported(flow.definition.id, one))
        return done

    async def _imported(self, flow_id: str, one: Any) -> Published:
        """One file's import; another process importing the same file at once is no error."""
        for _ in range(IMPORT_ATTEMPTS - 1):
            try:
                imported: Published = await self._write(flow_id, one)
            except ChangedMeanwhile:
                # Processes starting together on one database import the same folder: read
                # again, and the file is then the live version.
                continue
            return imported
        last: Published = await self._write(flow_id, one)
        return last

    async def draft(self, flow: LoadedFlow, *, actor: str) -> FlowDraft:
        """Keep ``flow`` as a draft of its flow, not seen by customers."""

        async def store(session: AsyncSession) -> FlowDraft:
            flow_id = flow.definition.id
            live = await live_version(session, flow_id)
            row = FlowDraftRow(
                flow_id=flow_id,
                checksum=flow.checksum,
                source=flow.source,
                definition=flow.definition.model_dump(mode="json"),
                based_on=live,
                created_by=actor,
            )
            session.add(row)
            await session.flush()
            assert row.id is not None
            _record(
                session,
                FlowChange(
                    flow_id=flow_id,
                    action=FlowAction.DRAFT,
                    actor=actor,
                    at=row.created_at,
                    from_version=live,
                    to_version=None,
                    draft_id=row.id,
                    source=flow.source,
                ),
            )
            return as_draft(row)

        stored: FlowDraft = await self._write(flow.definition.id, store)
        return stored

    async def publish_draft(
        self, *, flow_id: str, draft_id: int, actor: str, seen_live: int | None = None
    ) -> Published:
        """Make a draft the flow's next version, live; the draft is then used up.

        With ``seen_live``, refused unless that is still the live version (the admin's view).
        """

        async def publish(session: AsyncSession) -> Published:
            row = await session.get(FlowDraftRow, draft_id)
            if row is None or row.flow_id != flow_id:
                raise UnknownDraft(flow_id, draft_id)
            draft = as_draft(row)
            flow = LoadedFlow(definition=draft.definition, source=row.source, checksum=row.checksum)
            published = await self._publish(
                session,
                flow=flow,
                actor=actor,
                action=FlowAction.PUBLISH,
                draft_id=draft_id,
                seen_live=seen_live,
            )
            await session.execute(delete(FlowDraftRow).where(col(FlowDraftRow.id) == draft_id))
            return published

        published: Published = await self._write(flow_id, publish)
        return published

    async def discard_draft(self, *, flow_id: str, draft_id: int, actor: str) -> None:
        """Throw a draft away; UnknownDraft if the flow has no such draft (any more)."""

        async def discard(session: AsyncSession) -> None:
            row = await session.get(FlowDraftRow, draft_id)
            if row is None or row.flow_id != flow_id:
                raise UnknownDraft(flow_id, draft_id)
            await session.execute(delete(FlowDraftRow).where(col(FlowDraftRow.id) == draft_id))
            _record(
                session,
                FlowChange(
                    flow_id=flow_id,
                    action=FlowAction.DISCARD,
                    actor=actor,
                    at=utc_now(),
                    from_version=None,
                    to_version=None,
                    draft_id=draft_id,
                    source=row.source,
                ),
            )

        await self._write(flow_id, discard)

    async def _move(
        self,
        *,
        flow_id: str,
        actor: str,
        action: FlowAction,
        target: Any,
        seen_live: int | None,
    ) -> Published:
        """Make an existing version live: the one ``target(live, versions)`` picks."""

        async def move(session: AsyncSession) -> Published:
            live = await live_version(session, flow_id)
            if live is None:
                raise UnknownFlow(flow_id)
            _still(flow_id, live=live, seen_live=seen_live)
            version: int = target(live, set(await version_checksums(session, flow_id)))
            if version == live:
                return Published(flow_id=flow_id, version=live, previous=live, changed=False)
            return await _go_live(
                session,
                FlowChange(
                    flow_id=flow_id,
                    action=action,
                    actor=actor,
                    at=utc_now(),
                    from_version=live,
                    to_version=version,
                ),
            )

        published: Published = await self._write(flow_id, move)
        return published

    async def publish_version(
        self, *, flow_id: str, version: int, actor: str, seen_live: int | None = None
    ) -> Published:
        """Make a stored version live again (if ``seen_live`` is still live, when given)."""

        def chosen(live: int, versions: set[int]) -> int:
            if version not in versions:
                raise UnknownVersion(flow_id, version)
            return version

        return await self._move(
            flow_id=flow_id,
            actor=actor,
            action=FlowAction.PUBLISH,
            target=chosen,
            seen_live=seen_live,
        )

    async def rollback(
        self, *, flow_id: str, to: int | None, actor: str, seen_live: int | None = None
    ) -> Published:
        """Make ``to`` (or else the version before the live one) live."""
        return await self._move(
            seen_live=seen_live,
            flow_id=flow_id,
            actor=actor,
            action=FlowAction.ROLLBACK,
            target=lambda live, versions: rollback_target(
                flow_id, live=live, versions=versions, to=to
            ),
        )

    async def drafts(self, *, flow_id: str) -> list[FlowDraft]:
        """The flow's drafts, oldest first."""
        async with self._sessions() as session:
            return await read_drafts(session, flow_id)

    async def history(self, *, flow_id: str) -> list[FlowChange]:
        """Every change of the flow, oldest first."""
        async with self._sessions() as session:
            return await read_history(session, flow_id)

    async def stored(self, *, flow_id: str, version: int | None = None) -> StoredFlow:
        """A stored version of a flow (the live one when ``version`` is None)."""
        async with self._sessions() as session:
            return await read_stored(session, flow_id, version)

    async def summaries(self) -> list[FlowSummary]:
        """Every flow with a live version, by name."""
        async with self._sessions() as session:
            return await read_summaries(session)
