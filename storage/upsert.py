"""INSERT ... ON CONFLICT DO NOTHING for whichever database the session is on."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel


async def insert_if_absent(
    session: AsyncSession, table: type[SQLModel], *, conflict: list[str], values: dict[str, Any]
) -> int | None:
    """Insert a row unless one with the same ``conflict`` columns exists; its new id or None."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict)
        .returning(table.id)  # type: ignore[attr-defined]
    )
    result = await session.execute(statement)
    row = result.first()
    return int(row[0]) if row is not None else None
