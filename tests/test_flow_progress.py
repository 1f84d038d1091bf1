"""The overview's and the stats answer's counts: cheap, and the same as the funnel's."""

from __future__ import annotations

from datetime import timedelta

import pytest

from handlers.flows.loader import LoadedFlow
from handlers.flows.versions import UnknownFlow, UnknownVersion
from handlers.ports import VersionCompletion
from storage.dialogue.store import SqlDialogueStore
from storage.flows.progress import SqlFlowProgress
from storage.flows.stats import SqlFlowStats
from tests.test_flow_funnel import NOW, START, Sessions, seed


async def test_the_counts_agree_with_the_funnel_on_every_backend(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    await seed(sessions, shipped_flows)
    progress = SqlFlowProgress(sessions)
    stats = SqlFlowStats(sessions)
    for since in (None, START + timedelta(minutes=5)):
        funnel = await stats.flow_funnel("idea", since=since, now=NOW)
        counted = await progress.completion(flow_id="idea", version=None, since=since)
        assert counted == VersionCompletion("idea", 1, funnel.started, funnel.finished)
    assert await progress.completion(flow_id="idea", version=1, since=None) == (
        VersionCompletion("idea", 1, started=6, finished=2)
    )
    # Under way: not at the end and not put away (the silent one still counts here).
    assert await progress.in_progress() == {"idea": {1: 2}}


async def test_a_count_of_a_flow_or_version_not_stored_is_refused(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    await seed(sessions, shipped_flows)
    # A stats answer counts inside its own transaction, after claiming the request.
    async with SqlDialogueStore(sessions).transaction() as transaction:
        with pytest.raises(UnknownVersion, match="flow 'idea' has no version 2"):
            await transaction.completion(flow_id="idea", version=2, since=None)
        with pytest.raises(UnknownFlow):
            await transaction.completion(flow_id="campaign", version=None, since=None)
