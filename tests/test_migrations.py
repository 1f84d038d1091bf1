"""The migrations build exactly the tables the models describe, and keep the rows they find."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, column, insert, inspect, table
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  # the models register their tables on SQLModel.metadata
from handlers.flows.loader import LoadedFlow, flow_checksum
from storage.database import create_engine, create_sessions
from storage.flows.catalog import SqlFlowCatalog
from storage.flows.library import SqlFlowLibrary
from storage.migrate import alembic_config, migrate
from storage.tables import FlowVersionRow, table_of
from storage.types import utc_now


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


def _upgrade_to(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def test_flow_versions_stored_before_the_flow_library_stay_and_the_newest_is_live(
    database_url: str, shipped_flows: list[LoadedFlow]
) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_to, "0004")
        (idea,) = shipped_flows
        rows = [
            {
                "flow_id": "idea",
                "version": version,
                "checksum": f"old-style checksum {version}",
                "source": "flows/idea.yaml",
                "definition": idea.definition.model_copy(
                    update={"version": version, "name": f"as of {version}"}
                ).model_dump(mode="json"),
                "created_at": utc_now(),
            }
            for version in (1, 2)
        ]
        # the table as revision 0004 left it, before the flow library added columns
        before = table(
            "flow_version",
            *(column(name, table_of(FlowVersionRow).c[name].type) for name in rows[0]),
        )
        async with engine.begin() as connection:
            await connection.execute(insert(before).values(rows))
        await migrate(engine)
        sessions = create_sessions(engine)
        catalog = await SqlFlowCatalog.load(sessions=sessions, default_flow_id="idea")
        assert catalog.default_flow.version == 2
        assert (await catalog.get(flow_id="idea", version=1)).name == "as of 1"
        library = SqlFlowLibrary(sessions)
        (summary,) = await library.summaries()
        assert (summary.live_version, summary.versions) == (2, 2)
        # the checksum is taken anew, so version 2's content as a file is no change
        same = replace(idea, definition=catalog.default_flow)
        same = replace(same, checksum=flow_checksum(same.definition))
        assert not (await library.import_files([same], actor="file"))[0].changed
        assert (await library.push(idea, actor="file")).version == 3
    finally:
        await engine.dispose()


def _downgrade_to(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_flow_trials_come_and_go_with_their_revision(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with engine.begin() as connection:
            assert "flow_trial" in await connection.run_sync(_tables)
            await connection.run_sync(_downgrade_to, "0005")
        async with engine.begin() as connection:
            tables = await connection.run_sync(_tables)
            assert "flow_trial" not in tables
            assert "flow_draft" in tables
        await migrate(engine)
        async with engine.begin() as connection:
            assert "flow_trial" in await connection.run_sync(_tables)
    finally:
        await engine.dispose()
