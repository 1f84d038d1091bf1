"""Dead letters: what could not be parsed or handled, kept with its raw payload for a person."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.dialogue.text_repair import repair_json
from storage.tables import DeadLetterRow, EventState, PlatformEventRow, table_of
from storage.types import utc_now
from storage.upsert import insert_if_absent

_LETTER = table_of(DeadLetterRow)
_EVENT = table_of(PlatformEventRow)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One dead letter: where it came from, why it is here, and its raw payload (ASCII JSON)."""

    id: int
    platform: str
    external_id: str
    ordering_key: str
    reason: str
    payload: str
    size_bytes: int
    created_at: datetime


def raw_json(payload: Any) -> str:
    """``payload`` as ASCII JSON: NUL and lone surrogates become escapes any database keeps."""
    return json.dumps(payload, ensure_ascii=True, sort_keys=True, default=str)


async def insert_dead_letter(
    session: AsyncSession,
    *,
    platform: str,
    external_id: str,
    ordering_key: str,
    reason: str,
    payload: Any,
) -> None:
    """Keep ``payload`` aside in the session's transaction; a second copy of it is ignored."""
    text = payload if isinstance(payload, str) else raw_json(payload)
    await insert_if_absent(
        session,
        DeadLetterRow,
        conflict=["platform", "external_id"],
        values={
            "platform": platform,
            "external_id": external_id[:128],
            "ordering_key": ordering_key[:160],
            "reason": reason[:512],
            "payload": text,
            "size_bytes": len(text.encode()),
            "created_at": utc_now(),
        },
    )


class SqlDeadLetters:
    """Puts updates aside, lists them, and sends them back to be handled or drops them."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def put(
        self, *, platform: str, external_id: str, ordering_key: str, reason: str, payload: Any
    ) -> None:
        """Keep an update that cannot be handled, so the ones after it can go on."""
        async with self._sessions() as session, session.begin():
            await insert_dead_letter(
                session,
                platform=platform,
                external_id=external_id,
                ordering_key=ordering_key,
                reason=reason,
                payload=payload,
            )

    async def all(self) -> list[DeadLetter]:
        """Every dead letter, oldest first."""
        async with self._sessions() as session:
            rows = await session.execute(select(_LETTER).order_by(_LETTER.c.id))
            return [DeadLetter(**row._mapping) for row in rows]

    async def counts(self) -> dict[str, int]:
        """How many dead letters each platform has."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(_LETTER.c.platform, func.count()).group_by(_LETTER.c.platform)
            )
            return {str(platform): int(count) for platform, count in rows}

    async def retry(self, *, ids: list[int] | None) -> list[int]:
        """Queue these (None: all) to be handled again by ``ideabot run``; the ids queued."""
        now = utc_now()
        async with self._sessions() as session, session.begin():
            query = select(_LETTER).with_for_update()
            if ids is not None:
                query = query.where(_LETTER.c.id.in_(ids))
            letters = [DeadLetter(**row._mapping) for row in await session.execute(query)]
            for letter in letters:
                # JSON columns on PostgreSQL refuse NUL and lone surrogates: repair them now.
                payload = repair_json(json.loads(letter.payload))
                waiting = {
                    "state": EventState.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "lease_until": None,
                    "last_error": "",
                    "payload": payload,
                }
                moved = await session.execute(
                    update(_EVENT)
                    .where(_EVENT.c.platform == letter.platform)
                    .where(_EVENT.c.external_id == letter.external_id)
                    .values(**waiting)
                )
                if moved.rowcount == 0:  # type: ignore[attr-defined]  # Result of an UPDATE has it
                    await session.execute(
                        _EVENT.insert().values(
                            platform=letter.platform,
                            external_id=letter.external_id,
                            ordering_key=letter.ordering_key,
                            received_at=now,
                            **waiting,
                        )
                    )
            await session.execute(
                delete(_LETTER).where(_LETTER.c.id.in_([letter.id for letter in letters]))
            )
        return [letter.id for letter in letters]

    async def drop(self, *, ids: list[int] | None) -> list[int]:
        """Forget these dead letters (None: all); the ids dropped."""
        async with self._sessions() as session, session.begin():
            statement = delete(_LETTER).returning(_LETTER.c.id)
            if ids is not None:
                statement = statement.where(_LETTER.c.id.in_(ids))
            return sorted(int(found) for found in (await session.execute(statement)).scalars())
