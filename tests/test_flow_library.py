"""Flows in the database: versions number themselves, changes are audited, catalogs follow."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import open_database
from bot.delivery.text_limits import utf16_units
from bot.scheduler import run_every
from bot.settings import Settings
from handlers.dialogue.dialogue import Dialogue
from handlers.flows.loader import LoadedFlow, parse_flow
from handlers.flows.versions import (
    ChangedMeanwhile,
    FlowAction,
    NothingToRollBackTo,
    Published,
    UnknownDraft,
    UnknownFlow,
    UnknownVersion,
)
from handlers.messages import ConversationKey, TextLimit
from storage.database import reading_sessions, sqlite_file
from storage.dialogue.store import SqlDialogueStore
from storage.flows.catalog import SqlFlowCatalog
from storage.flows.library import SqlFlowLibrary
from storage.outbox.store import SqlOutboxStore
from tests.conftest import SHIPPED_FLOWS
from tests.helpers.dialogue import CountingSignal, Customer, texts
from tests.waiting import eventually

Sessions = async_sessionmaker[AsyncSession]

FLOW = """\
id: tiny
languages: [en]
default_language: en
welcome: {{en: {welcome}}}
steps:
  - id: idea
    question: {{en: "Idea?"}}
end:
  thanks: {{en: Thanks}}
"""


def tiny(welcome: str = "Hi", *, version_line: str = "") -> LoadedFlow:
    return parse_flow(version_line + FLOW.format(welcome=welcome), source="tiny.yaml")


async def test_versions_number_themselves_and_the_catalog_keeps_them(
    database_url: str, sessions: Sessions
) -> None:
    library = SqlFlowLibrary(sessions)
    # a file's own version number only informs
    first = await library.push(tiny(version_line="version: 7\n"), actor="cli:ana")
    assert first == Published(flow_id="tiny", version=1, previous=None, changed=True)
    assert await library.push(tiny(), actor="cli:ana") == Published(
        flow_id="tiny", version=1, previous=1, changed=False
    )
    assert (await library.push(tiny("Hello"), actor="cli:bo")).version == 2
    async with reading_sessions(database_url, sessions) as reads:
        loaded = await SqlFlowCatalog.load(sessions=reads, default_flow_id="tiny")
        assert loaded.default_flow.version == 2
        assert loaded.default_flow.welcome == {"en": "Hello"}
        # An older version is read when asked for, in the middle of a turn's transaction: on
        # SQLite by a connection of its own, so it does not wait for the turn's.
        async with sessions() as session, session.begin():
            older = await asyncio.wait_for(loaded.get(flow_id="tiny", version=1), timeout=10)
            assert older.welcome == {"en": "Hi"}
    (summary,) = await library.summaries()
    assert (summary.flow_id, summary.live_version, summary.versions) == ("tiny", 2, 2)
    assert summary.published_by == "cli:bo"


async def test_the_folder_publishes_only_what_changed_since_it_was_imported(
    sessions: Sessions,
) -> None:
    library = SqlFlowLibrary(sessions)
    (imported,) = await library.import_files([tiny()], actor="file")
    assert (imported.changed, imported.version) == (True, 1)
    assert not (await library.import_files([tiny()], actor="file"))[0].changed
    assert (await library.import_files([tiny("Hello")], actor="file"))[0].version == 2
    await library.rollback(flow_id="tiny", to=None, actor="cli:ana")
    # the unchanged file does not undo the admin's roll-back at the next start
    (kept,) = await library.import_files([tiny("Hello")], actor="file")
    assert (kept.changed, kept.version) == (False, 1)
    (edited,) = await library.import_files([tiny("Hey")], actor="file")
    assert (edited.changed, edited.version, edited.previous) == (True, 3, 1)


async def test_a_discarded_draft_is_gone_and_the_trail_says_who_threw_it_away(
    sessions: Sessions,
) -> None:
    library = SqlFlowLibrary(sessions)
    await library.push(tiny(), actor="cli:ana")
    draft = await library.draft(tiny("Hello"), actor="cli:bo")
    await library.discard_draft(flow_id="tiny", draft_id=draft.draft_id, actor="slack:U0ADA")
    assert await library.drafts(flow_id="tiny") == []
    last = (await library.history(flow_id="tiny"))[-1]
    assert (last.action, last.actor, last.draft_id) == (
        FlowAction.DISCARD,
        "slack:U0ADA",
        draft.draft_id,
    )
    with pytest.raises(UnknownDraft):
        await library.discard_draft(flow_id="tiny", draft_id=draft.draft_id, actor="slack:U0ADA")
    with pytest.raises(UnknownDraft):
        await library.publish_draft(flow_id="tiny", draft_id=draft.draft_id, actor="cli:bo")
    assert (await library.stored(flow_id="tiny")).definition.welcome == {"en": "Hi"}


async def test_drafts_publish_and_every_change_is_in_the_history(sessions: Sessions) -> None:
    library = SqlFlowLibrary(sessions)
    await library.push(tiny(), actor="cli:ana")
    draft = await library.draft(tiny("Hello"), actor="cli:bo")
    assert draft.based_on == 1
    assert [found.draft_id for found in await library.drafts(flow_id="tiny")] == [draft.draft_id]
    loaded = await SqlFlowCatalog.load(sessions=sessions, default_flow_id="tiny")
    assert loaded.default_flow.welcome == {"en": "Hi"}  # customers never see a draft
    published = await library.publish_draft(flow_id="tiny", draft_id=draft.draft_id, actor="cli:bo")
    assert (published.version, published.previous) == (2, 1)
    assert await library.drafts(flow_id="tiny") == []
    with pytest.raises(UnknownDraft, match="flow 'tiny' has no draft"):
        await library.publish_draft(flow_id="tiny", draft_id=draft.draft_id, actor="cli:bo")
    await library.publish_version(flow_id="tiny", version=1, actor="cli:cy")
    await library.rollback(flow_id="tiny", to=2, actor="cli:cy")
    history = await library.history(flow_id="tiny")
    assert [
        (change.action, change.from_version, change.to_version, change.actor) for change in history
    ] == [
        (FlowAction.PUSH, None, 1, "cli:ana"),
        (FlowAction.DRAFT, 1, None, "cli:bo"),
        (FlowAction.PUBLISH, 1, 2, "cli:bo"),
        (FlowAction.PUBLISH, 2, 1, "cli:cy"),
        (FlowAction.ROLLBACK, 1, 2, "cli:cy"),
    ]
    assert history[2].draft_id == draft.draft_id


async def test_clear_refusals(sessions: Sessions) -> None:
    library = SqlFlowLibrary(sessions)
    with pytest.raises(UnknownFlow, match="there is no flow 'tiny'"):
        await library.rollback(flow_id="tiny", to=None, actor="cli:ana")
    with pytest.raises(UnknownFlow):
        await library.history(flow_id="tiny")
    await library.push(tiny(), actor="cli:ana")
    with pytest.raises(NothingToRollBackTo, match="version 1 is its first"):
        await library.rollback(flow_id="tiny", to=None, actor="cli:ana")
    with pytest.raises(UnknownVersion, match="flow 'tiny' has no version 9"):
        await library.rollback(flow_id="tiny", to=9, actor="cli:ana")
    with pytest.raises(UnknownVersion):
        await library.stored(flow_id="tiny", version=9)
    assert len(await library.history(flow_id="tiny")) == 1  # refusals change nothing


async def test_a_publish_against_a_live_version_that_moved_is_refused(sessions: Sessions) -> None:
    library = SqlFlowLibrary(sessions)
    await library.push(tiny(), actor="cli:ana")
    draft = await library.draft(tiny("Hello"), actor="cli:ana")
    await library.push(tiny("Hey"), actor="cli:bo")  # bo publishes while ana looks at version 1
    with pytest.raises(ChangedMeanwhile, match="was changed by someone else just now"):
        await library.publish_draft(
            flow_id="tiny", draft_id=draft.draft_id, actor="cli:ana", seen_live=1
        )
    assert (await library.stored(flow_id="tiny")).definition.welcome == {"en": "Hey"}
    assert len(await library.drafts(flow_id="tiny")) == 1  # nothing half-published


async def test_admins_publishing_at_once_never_share_a_version(sessions: Sessions) -> None:
    library = SqlFlowLibrary(sessions)
    await library.push(tiny(), actor="cli:ana")
    outcomes = await asyncio.gather(
        *(library.push(tiny(f"Hi {n}"), actor=f"cli:{n}") for n in range(4)),
        return_exceptions=True,
    )
    published = [outcome for outcome in outcomes if isinstance(outcome, Published)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, ChangedMeanwhile)]
    assert len(published) + len(refused) == 4
    assert published, "one of them wins"
    assert sorted(outcome.version for outcome in published) == list(range(2, 2 + len(published)))
    live = await library.stored(flow_id="tiny")
    assert live.definition.version == 1 + len(published)


@contextlib.asynccontextmanager
async def refreshing(catalog: SqlFlowCatalog, seconds: float) -> AsyncIterator[None]:
    """The catalog's poller as ``ideabot run`` runs it, for the duration of the block."""
    stopping = asyncio.Event()
    poller = asyncio.create_task(
        run_every(seconds, catalog.refresh, name="flows", stopping=stopping)
    )
    try:
        yield
    finally:
        stopping.set()
        await poller


async def test_a_running_catalog_follows_a_publish_from_another_process(
    database_url: str, sessions: Sessions
) -> None:
    await SqlFlowLibrary(sessions).push(tiny(), actor="file")
    catalog = await SqlFlowCatalog.load(sessions=sessions, default_flow_id="tiny")
    async with refreshing(catalog, seconds=0.1):
        # another engine on the same database: what `ideabot flows push` in a terminal does
        settings = Settings(_env_file=None, database_url=database_url)
        async with open_database(settings) as other:
            await SqlFlowLibrary(other).push(tiny("Hello"), actor="cli:ana")

        async def published() -> bool:
            return catalog.default_flow.welcome == {"en": "Hello"}

        await eventually(published, timeout=5, what="the publish reaching the catalog")
        async with open_database(settings) as other:
            await SqlFlowLibrary(other).rollback(flow_id="tiny", to=None, actor="cli:ana")

        async def rolled_back() -> bool:
            return catalog.default_flow.version == 1

        await eventually(rolled_back, timeout=5, what="the roll-back reaching the catalog")


async def test_the_catalog_looks_for_changes_without_taking_the_write_lock(
    sqlite_url: str, sqlite_sessions: Sessions
) -> None:
    await SqlFlowLibrary(sqlite_sessions).push(tiny(), actor="file")
    database = sqlite_file(sqlite_url)
    assert database is not None
    async with reading_sessions(sqlite_url, sqlite_sessions) as reads:
        catalog = await SqlFlowCatalog.load(sessions=reads, default_flow_id="tiny")
        # Another process writing: a poll that took the write lock would wait for it (30 s).
        writer = sqlite3.connect(database, isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")
            assert await asyncio.wait_for(catalog.refresh(), timeout=10) is False
            writer.execute("ROLLBACK")
        finally:
            writer.close()


SHIPPED = (SHIPPED_FLOWS / "idea.yaml").read_text(encoding="utf-8")
OLD_QUESTION = "What problem would it solve for you?"
NEW_QUESTION = "Which problem would this solve?"


async def test_a_conversation_under_way_finishes_the_version_it_started(
    sessions: Sessions,
) -> None:
    library = SqlFlowLibrary(sessions)
    await library.push(parse_flow(SHIPPED, source="idea.yaml"), actor="file")
    catalog = await SqlFlowCatalog.load(sessions=sessions, default_flow_id="idea")
    dialogue = Dialogue(
        store=SqlDialogueStore(sessions),
        flows=catalog,
        outbox_signal=CountingSignal(),
        message_limits={"telegram": TextLimit(4096, measure=utf16_units)},
    )
    outbox = SqlOutboxStore(sessions)
    kari = Customer(dialogue=dialogue, outbox=outbox)
    await kari.say("/start")
    await library.push(
        parse_flow(SHIPPED.replace(OLD_QUESTION, NEW_QUESTION), source="idea.yaml"), actor="x"
    )
    assert await catalog.refresh()
    # Kari is mid-flow on version 1 and keeps it; Ola starts now and gets version 2.
    kari_next = texts(await kari.say("A dark mode for the mobile app, please, for the evening"))
    assert OLD_QUESTION in kari_next[-1]
    ola = Customer(
        dialogue=dialogue,
        outbox=outbox,
        key=ConversationKey("telegram", "43", "43"),
        ids=itertools.count(100),
    )
    await ola.say("/start")
    ola_next = texts(await ola.say("A dark mode for the mobile app, please, for the evening"))
    assert NEW_QUESTION in ola_next[-1]


async def test_a_conversation_finishes_a_version_the_catalog_no_longer_keeps(
    database_url: str, sessions: Sessions
) -> None:
    library = SqlFlowLibrary(sessions)
    await library.push(parse_flow(SHIPPED, source="idea.yaml"), actor="file")
    async with reading_sessions(database_url, sessions) as reads:
        catalog = await SqlFlowCatalog.load(sessions=reads, default_flow_id="idea", older_kept=1)
        dialogue = Dialogue(
            store=SqlDialogueStore(sessions),
            flows=catalog,
            outbox_signal=CountingSignal(),
            message_limits={"telegram": TextLimit(4096, measure=utf16_units)},
        )
        kari = Customer(dialogue=dialogue, outbox=SqlOutboxStore(sessions))
        await kari.say("/start")
        for question in (NEW_QUESTION, "What would it change for you?"):
            changed = SHIPPED.replace(OLD_QUESTION, question)
            await library.push(parse_flow(changed, source="idea.yaml"), actor="x")
            assert await catalog.refresh()
        # Version 1 made way for version 2 in memory; Kari's turn reads it again.
        kari_next = texts(await kari.say("A dark mode for the mobile app, please, for the evening"))
        assert OLD_QUESTION in kari_next[-1]
