"""INSERT ... ON CONFLICT DO NOTHING for whichever database the session is on."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel


async def insert_if_absent(
    session: AsyncSession,
    table: type[SQLModel],
    *,
    conflict: list[str],
    values: dict[str, Any],
    returning: str = "id",
    conflict_where: Any = None,
) -> Any:
    """Insert a row unless its ``conflict`` columns match one; the ``returning`` value or None.

    ``conflict_where`` names a partial unique index by its condition.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict, index_where=conflict_where)
        .returning(getattr(table, returning))
    )
    result = await session.execute(statement)
    row = result.first()
    return row[0] if row is not None else None
