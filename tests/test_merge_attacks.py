"""Merge and Undo driven into corners: cycles, stale undos; nothing is half-done or crashes."""

from __future__ import annotations

from handlers.flows.loader import LoadedFlow
from handlers.ideas.desk import ChangeOutcome
from handlers.ideas.status import IdeaStatus, MergeChange, StatusChange
from handlers.messages import ConversationKey
from storage.idea_queries import export_ideas
from tests.helpers.dialogue import finish_default_flow, make_customer
from tests.helpers.idea_desk import Sessions, desk


async def _ideas(sessions: Sessions, flows: list[LoadedFlow], count: int) -> None:
    """``count`` ideas, numbered from 1, each by its own customer."""
    first = await make_customer(sessions, flows)
    await finish_default_flow(first)
    for number in range(1, count):
        author = await make_customer(sessions, flows)
        # The same message numbers as the first: the inbox takes each external id once.
        author.key, author.ids = ConversationKey("telegram", str(500 + number), "x"), first.ids
        await finish_default_flow(author)


def merge(number: str, duplicate: int, original: int | None) -> MergeChange:
    undo = original is None
    return MergeChange(f"m{number}", duplicate, "Anne", original_id=original, undo=undo)


async def _state(sessions: Sessions) -> dict[int, tuple[str, list[int]]]:
    return {
        idea["id"]: (idea["status"], [customer["id"] for customer in idea["linked_customers"]])
        for idea in await export_ideas(sessions)
    }


async def test_merging_back_into_ones_own_duplicate_makes_no_cycle(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    await _ideas(sqlite_sessions, shipped_flows, 2)
    ideas = desk(sqlite_sessions)
    assert (await ideas.merge(merge("1", 2, 1))).outcome is ChangeOutcome.CHANGED
    # `/ideas merge 1 into 2` (no click): 2 is itself merged into 1.
    assert (await ideas.merge(merge("2", 1, 2))).outcome is ChangeOutcome.UNCHANGED
    state = await _state(sqlite_sessions)
    assert state[1] == ("new", [1, 2])
    assert state[2] == ("duplicate", [])


async def test_an_undo_of_an_idea_no_longer_merged_changes_nothing(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    await _ideas(sqlite_sessions, shipped_flows, 3)
    ideas = desk(sqlite_sessions)
    assert (await ideas.merge(merge("1", 2, 1))).outcome is ChangeOutcome.CHANGED
    reopened = StatusChange("s1", 2, IdeaStatus.NEW, "Anne")
    assert (await ideas.change_status(reopened)).outcome is ChangeOutcome.CHANGED
    assert (await ideas.merge(merge("2", 2, 3))).outcome is ChangeOutcome.CHANGED
    assert (await ideas.merge(merge("3", 2, None))).outcome is ChangeOutcome.CHANGED
    # The first merge's Undo, on a stale card: 2 is open now and has its customers.
    assert (await ideas.merge(merge("4", 2, None))).outcome is ChangeOutcome.UNCHANGED
    state = await _state(sqlite_sessions)
    assert state[2] == ("new", [2])
    assert state[1] == ("new", [1, 2])  # the author heard of the merge into 1 and stays on it
