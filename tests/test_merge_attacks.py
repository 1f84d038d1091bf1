"""Merge and Undo driven into corners: cycles, stale undos; nothing is half-done or crashes."""

from __future__ import annotations

from sqlalchemy import insert, select

from handlers.flows.loader import LoadedFlow
from handlers.ideas.desk import ChangeOutcome, IdeaDesk
from handlers.ideas.status import IdeaStatus, MergeChange, StatusChange, StatusLabels
from handlers.messages import ConversationKey
from storage.dialogue.store import SqlDialogueStore
from storage.idea_queries import export_ideas
from storage.outbox.deliveries import NotifyStaffMember, read_delivery
from storage.privacy.store import SqlErasures
from storage.tables import IdeaFollowerRow, OutboxRow, table_of
from storage.types import utc_now
from tests.helpers.dialogue import CountingSignal, finish_default_flow, make_customer
from tests.helpers.idea_desk import Sessions, desk
from tests.helpers.privacy import ROOM, seed_customer


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


def _room_desk(sessions: Sessions) -> IdeaDesk:
    return IdeaDesk(
        store=SqlDialogueStore(sessions),
        outbox_signal=CountingSignal(),
        labels=StatusLabels.default(),
        staff_room=ROOM,
    )


async def _notices(sessions: Sessions) -> list[tuple[str, str, str]]:
    """(destination, who, words) of every line queued for one staff member alone."""
    outbox = table_of(OutboxRow)
    async with sessions() as session:
        rows = await session.execute(
            select(outbox.c.destination, outbox.c.action, outbox.c.payload).order_by(outbox.c.id)
        )
        notices = [(row.destination, read_delivery(row.action, row.payload)) for row in rows.all()]
    return [
        (destination, delivery.user_id, delivery.text)
        for destination, delivery in notices
        if isinstance(delivery, NotifyStaffMember)
    ]


async def test_a_merge_command_that_merges_nothing_tells_who_typed_it_why(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    """Review of issue 13: `/ideas merge` said "its thread will show the merge", and none came."""
    await _ideas(sqlite_sessions, shipped_flows, 2)
    ideas = _room_desk(sqlite_sessions)
    assert (await ideas.merge(merge("1", 2, 1))).outcome is ChangeOutcome.CHANGED
    typed = MergeChange("m2", 2, "Anne", original_id=1, asked_by="U0ANNE")
    assert (await ideas.merge(typed)).outcome is ChangeOutcome.UNCHANGED
    assert await _notices(sqlite_sessions) == [
        ("staff:2", "U0ANNE", "Idea #2 is already merged or was not changed.")
    ]


async def test_a_merge_into_an_idea_whose_words_were_erased_is_refused_in_one_sentence(
    sessions: Sessions,
) -> None:
    """Review of issue 13: a stale card's Merge went into "(the author's words were erased)"."""
    alice = await seed_customer(
        sessions, name="Alice", words="purple dashboard", email="a@example.org", chat_id="7001"
    )
    bob = await seed_customer(
        sessions, name="Bob", words="green export", email="b@example.org", chat_id="7002"
    )
    async with sessions() as session, session.begin():
        # Bob shares Alice's idea too, so it stays, without her words, when she is erased.
        await session.execute(
            insert(table_of(IdeaFollowerRow)).values(
                idea_id=alice.idea_id,
                customer_id=bob.customer_id,
                kind="vote",
                created_at=utc_now(),
            )
        )
    erased = await SqlErasures(sessions, admins=[]).erase_customer(
        customer_id=alice.customer_id, requested_by="cli:operator"
    )
    assert erased is not None
    ideas = _room_desk(sessions)
    click = MergeChange("m1", bob.idea_id, "Anne", original_id=alice.idea_id, clicked_by="U0ANNE")
    typed = MergeChange("m2", bob.idea_id, "Anne", original_id=alice.idea_id, asked_by="U0ANNE")
    for change in (click, typed):
        assert (await ideas.merge(change)).outcome is ChangeOutcome.WORDS_ERASED
    refusal = (
        f"Idea #{alice.idea_id} keeps no words since its author's data was erased, "
        "so nothing was merged into it."
    )
    thread = f"staff:{bob.conversation_id}"
    assert await _notices(sessions) == [(thread, "U0ANNE", refusal)] * 2
    state = await _state(sessions)
    assert state[bob.idea_id] == ("new", [bob.customer_id])
