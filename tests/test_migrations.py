"""The migrations build exactly the tables the models describe (columns, indexes, keys)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  # the models register their tables on SQLModel.metadata
from storage.database import create_engine
from storage.migrate import migrate


async def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)

        def differences(connection: Connection) -> list[Any]:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            return list(compare_metadata(context, SQLModel.metadata))

        async with engine.connect() as connection:
            found = await connection.run_sync(differences)
    finally:
        await engine.dispose()
    # alembic's own bookkeeping table is not a model.
    found = [d for d in found if not (d[0] == "remove_table" and d[1].name == "alembic_version")]
    assert found == []
