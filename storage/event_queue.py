"""Platform events stored before they are acknowledged, then handled in order per chat or thread."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.dead_letters import insert_dead_letter
from storage.tables import EventState, PlatformEventRow, table_of
from storage.types import utc_now
from storage.upsert import insert_if_absent

_EVENT = table_of(PlatformEventRow)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A claimed platform event: its raw payload and how often handling it was tried."""

    id: int
    platform: str
    external_id: str
    ordering_key: str
    payload: dict[str, Any]
    attempts: int


class SqlEventQueue:
    """Stores pushed events once each and hands them out, oldest first per ordering key."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def store(
        self, *, platform: str, external_id: str, ordering_key: str, payload: dict[str, Any]
    ) -> bool:
        """Keep the event for handling; False if this event was stored before (a retry)."""
        now = utc_now()
        async with self._sessions() as session, session.begin():
            inserted = await insert_if_absent(
                session,
                PlatformEventRow,
                conflict=["platform", "external_id"],
                values={
                    "platform": platform,
                    "external_id": external_id[:128],
                    "ordering_key": ordering_key[:160],
                    "payload": payload,
                    "state": EventState.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "last_error": "",
                    "received_at": now,
                },
            )
        return inserted is not None

    async def claim_due(
        self, *, platform: str, limit: int, lease_seconds: float
    ) -> list[StoredEvent]:
        """Lease the oldest waiting event of up to ``limit`` ordering keys."""
        now = utc_now()
        earlier = _EVENT.alias("earlier")
        heads = (
            select(_EVENT.c.id)
            .where(_EVENT.c.platform == platform)
            .where(_EVENT.c.state == EventState.PENDING)
            .where(_EVENT.c.next_attempt_at <= now)
            .where(or_(_EVENT.c.lease_until.is_(None), _EVENT.c.lease_until < now))
            .where(
                ~exists()
                .where(earlier.c.ordering_key == _EVENT.c.ordering_key)
                .where(earlier.c.state == EventState.PENDING)
                .where(earlier.c.id < _EVENT.c.id)
            )
            .order_by(_EVENT.c.id)
            .limit(limit)
        )
        async with self._sessions() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                heads = heads.with_for_update(skip_locked=True, of=_EVENT)
            ids = list((await session.execute(heads)).scalars())
            if not ids:
                return []
            rows = await session.execute(
                update(_EVENT)
                .where(_EVENT.c.id.in_(ids))
                .values(lease_until=now + timedelta(seconds=lease_seconds))
                .returning(
                    _EVENT.c.id,
                    _EVENT.c.platform,
                    _EVENT.c.external_id,
                    _EVENT.c.ordering_key,
                    _EVENT.c.payload,
                    _EVENT.c.attempts,
                )
            )
            events = [StoredEvent(**row._mapping) for row in rows]
        return sorted(events, key=lambda event: event.id)

    async def counts(self) -> dict[str, int]:
        """How many stored events are in each state."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(_EVENT.c.state, func.count()).group_by(_EVENT.c.state)
            )
            return {str(state): int(count) for state, count in rows}

    async def done(self, event: StoredEvent) -> None:
        """The event was handled; the next one of its key may go."""
        await self._settle(event, state=EventState.HANDLED, handled_at=utc_now())

    async def retry_later(self, event: StoredEvent, *, delay_seconds: float, error: str) -> None:
        """Handling failed in a way that may pass; try again after ``delay_seconds``."""
        await self._settle(
            event,
            next_attempt_at=utc_now() + timedelta(seconds=delay_seconds),
            attempts=event.attempts + 1,
            last_error=error[:1024],
        )

    async def fail(self, event: StoredEvent, *, error: str) -> None:
        """Give up on the event: it moves to the dead letters; its key's next event goes on."""
        async with self._sessions() as session, session.begin():
            # The row stays (as failed) so that Slack's retries of it are still recognised.
            await session.execute(
                update(_EVENT)
                .where(_EVENT.c.id == event.id)
                .values(
                    lease_until=None,
                    state=EventState.FAILED,
                    attempts=event.attempts + 1,
                    last_error=error[:1024],
                )
            )
            await insert_dead_letter(
                session,
                platform=event.platform,
                external_id=event.external_id,
                ordering_key=event.ordering_key,
                reason=error,
                payload=event.payload,
            )

    async def _settle(self, event: StoredEvent, **values: Any) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(_EVENT).where(_EVENT.c.id == event.id).values(lease_until=None, **values)
            )
