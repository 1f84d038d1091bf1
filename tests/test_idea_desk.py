"""Idea statuses with real storage (SQLite): history, news to every linked customer, opt-out."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select
from sqlmodel import col

from bot.slack.commands import (
    Merge,
    Search,
    SetStatus,
    Tagging,
    parse_ideas_command,
    search_results,
)
from handlers.flows.loader import LoadedFlow
from handlers.ideas.desk import ChangeOutcome
from handlers.ideas.status import (
    IdeaStatus,
    MergeChange,
    StatusChange,
    StatusLabels,
    TagChange,
    parse_status,
)
from handlers.messages import ConversationKey
from storage.idea_queries import IdeaFilter, export_ideas
from storage.outbox.rows import BULK
from storage.outbox.store import SqlOutboxStore
from storage.tables import IdeaFollowerRow, IdeaStatusChangeRow, OutboxRow, table_of
from storage.types import utc_now
from tests.helpers.delivery import text_of
from tests.helpers.dialogue import Customer, finish_default_flow, make_customer, texts
from tests.helpers.idea_desk import Sessions, change, desk

OLA = ConversationKey(platform="telegram", chat_id="77", user_id="77")


async def two_followers(sessions: Sessions, flows: list[LoadedFlow]) -> tuple[Customer, Customer]:
    """Kari gave idea #1 (en); Ola (nb) said "me too" to it."""
    kari = await make_customer(sessions, flows)
    await finish_default_flow(kari)
    await kari.replies()
    ola = await make_customer(sessions, flows)
    ola.key, ola.ids, ola.language_code = OLA, kari.ids, "nb"
    await ola.say("/help")
    await ola.replies()
    async with sessions() as session, session.begin():
        await session.execute(
            insert(table_of(IdeaFollowerRow)).values(
                idea_id=1, customer_id=2, kind="vote", created_at=utc_now()
            )
        )
    return kari, ola


async def delivered(sessions: Sessions) -> dict[str, list[str]]:
    """Everything waiting in the outbox, marked sent, as texts by chat."""
    outbox = SqlOutboxStore(sessions)
    found: dict[str, list[str]] = {}
    while items := await outbox.claim_due(platforms=["telegram"], limit=100, lease_seconds=30):
        for item in items:
            await outbox.mark_sent(item, platform_message_id=str(item.id))
            found.setdefault(item.chat_id, []).append(text_of(item))
    return found


async def test_every_linked_customer_hears_in_their_language(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    kari, ola = await two_followers(sqlite_sessions, shipped_flows)
    result = await desk(sqlite_sessions).change_status(
        change(IdeaStatus.PLANNED, "We start in May.")
    )
    assert (result.outcome, result.notified) == (ChangeOutcome.CHANGED, 2)
    news = await delivered(sqlite_sessions)
    (to_kari,) = news[kari.key.chat_id]
    assert to_kari == (
        "Good news: your idea “A dark mode for the mobile app, please, for the evening” is "
        "planned.\n\nWe start in May.\n\n"
        "(Type /unsubscribe if you would rather not get news about ideas.)"
    )
    (to_ola,) = news[ola.key.chat_id]
    assert to_ola.startswith("Gode nyheter: ideen din «A dark mode")
    assert to_ola.endswith("(Skriv /unsubscribe hvis du ikke vil ha nyheter om ideer.)")

    async with sqlite_sessions() as session:
        history = (await session.execute(select(IdeaStatusChangeRow))).scalars().all()
        priorities = set((await session.execute(select(col(OutboxRow.priority)))).scalars())
    assert [(h.from_status, h.to_status, h.changed_by, h.notified) for h in history] == [
        ("new", "planned", "Anne", 2)
    ]
    assert BULK in priorities


async def test_an_unsubscribed_customer_is_not_told(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    kari, ola = await two_followers(sqlite_sessions, shipped_flows)
    replies = await ola.say("/unsubscribe")
    assert replies[0]["text"].startswith("Greit: du får ikke flere nyheter om ideer.")
    result = await desk(sqlite_sessions).change_status(change(IdeaStatus.DONE))
    assert result.notified == 1
    assert list(await delivered(sqlite_sessions)) == [kari.key.chat_id]
    await ola.say("/subscribe")
    await ola.replies()
    await desk(sqlite_sessions).change_status(change(IdeaStatus.DECLINED, external_id="c2"))
    assert sorted(await delivered(sqlite_sessions)) == sorted([kari.key.chat_id, "77"])


async def test_unchanged_unknown_and_repeated_changes_do_nothing(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    await two_followers(sqlite_sessions, shipped_flows)
    ideas = desk(sqlite_sessions)
    assert (await ideas.change_status(change(IdeaStatus.NEW))).outcome is ChangeOutcome.UNCHANGED
    missing = StatusChange(external_id="x", idea_id=99, status=IdeaStatus.DONE, changed_by="A")
    assert (await ideas.change_status(missing)).outcome is ChangeOutcome.NOT_FOUND
    first = await ideas.change_status(change(IdeaStatus.PLANNED, external_id="same"))
    again = await ideas.change_status(change(IdeaStatus.PLANNED, external_id="same"))
    assert (first.outcome, again.outcome) == (ChangeOutcome.CHANGED, ChangeOutcome.DUPLICATE)
    news = await delivered(sqlite_sessions)
    assert [len(texts) for texts in news.values()] == [1, 1]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("status 12 planned We start in May", SetStatus(12, IdeaStatus.PLANNED, "We start in May")),
        ("status #3 under review", SetStatus(3, IdeaStatus.UNDER_REVIEW, "")),
        ("status 3 in_progress", SetStatus(3, IdeaStatus.IN_PROGRESS, "")),
        (
            "status 4 Planlagt Vi starter i mai",
            SetStatus(4, IdeaStatus.PLANNED, "Vi starter i mai"),
        ),
        ("update 5 A week more", SetStatus(5, None, "A week more")),
    ],
)
def test_ideas_command_is_understood(words: str, expected: SetStatus) -> None:
    assert parse_ideas_command(words, StatusLabels.default()) == expected


@pytest.mark.parametrize(
    ("words", "problem"),
    [
        ("", "Usage:"),
        ("status x planned", "is not an idea number"),
        ("status 2147483648 planned", "is not an idea number"),  # past PostgreSQL's integer
        ("tag 9" + "9" * 5000 + " urgent", "is not an idea number"),  # past int()'s 4300 digits
        ("merge 2147483648 into 1", "Usage:"),
        ("status 3 soon", "is not a status"),
    ],
)
def test_ideas_command_mistakes_are_explained(words: str, problem: str) -> None:
    answer = parse_ideas_command(words, StatusLabels.default())
    assert isinstance(answer, str)
    assert problem in answer
    assert "under review" in answer


def test_status_names_in_any_language() -> None:
    labels = StatusLabels.default()
    assert parse_status("Avslått", labels) is IdeaStatus.DECLINED
    assert parse_status("in-progress", labels) is IdeaStatus.IN_PROGRESS
    assert parse_status("later", labels) is None


async def test_an_update_without_a_new_status_reaches_every_follower(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    kari, ola = await two_followers(sqlite_sessions, shipped_flows)
    update = StatusChange(
        external_id="u1", idea_id=1, status=None, changed_by="Anne", message="A week more."
    )
    result = await desk(sqlite_sessions).change_status(update)
    assert (result.outcome, result.notified) == (ChangeOutcome.CHANGED, 2)
    news = await delivered(sqlite_sessions)
    assert news[kari.key.chat_id][0].startswith(
        "News about your idea “A dark mode for the mobile app, please, for the evening”:\n\n"
        "A week more."
    )
    assert news[ola.key.chat_id][0].startswith("Nytt om ideen din «A dark mode")
    empty = StatusChange(external_id="u2", idea_id=1, status=None, changed_by="Anne")
    assert (await desk(sqlite_sessions).change_status(empty)).outcome is ChangeOutcome.UNCHANGED


async def test_tags_history_and_followers_show_in_the_export_and_filters(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    await two_followers(sqlite_sessions, shipped_flows)
    ideas = desk(sqlite_sessions)
    tagging = TagChange(external_id="t1", idea_id=1, changed_by="Anne", add=("#UI", "Dark Mode"))
    assert (await ideas.change_tags(tagging)).outcome is ChangeOutcome.CHANGED
    untag = TagChange(external_id="t2", idea_id=1, changed_by="Anne", remove=("ui",))
    await ideas.change_tags(untag)
    await ideas.change_status(change(IdeaStatus.PLANNED, "Soon."))

    (idea,) = await export_ideas(sqlite_sessions)
    assert idea["tags"] == ["dark-mode"]
    assert idea["votes"] == 1
    assert [(c["kind"], c["language"]) for c in idea["linked_customers"]] == [
        ("author", "en"),
        ("vote", "nb"),
    ]
    (history,) = idea["status_history"]
    assert (history["from"], history["to"], history["message"], history["by"]) == (
        "new",
        "planned",
        "Soon.",
        "Anne",
    )
    found = await export_ideas(sqlite_sessions, where=IdeaFilter(tag="#Dark-Mode", text="mobile"))
    assert [idea["id"] for idea in found] == [1]
    assert await export_ideas(sqlite_sessions, where=IdeaFilter(text="banana")) == []
    assert await export_ideas(sqlite_sessions, where=IdeaFilter(status="new")) == []


async def test_the_most_requested_come_first(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    kari, _ = await two_followers(sqlite_sessions, shipped_flows)  # idea 1: two linked
    other = await make_customer(sqlite_sessions, shipped_flows)
    other.key = ConversationKey(platform="telegram", chat_id="88", user_id="88")
    other.ids = kari.ids
    await finish_default_flow(other)  # idea 2: one linked
    top = await export_ideas(sqlite_sessions, where=IdeaFilter(top=True))
    assert [idea["id"] for idea in top] == [1, 2]
    oldest_first = await export_ideas(sqlite_sessions)
    assert [idea["id"] for idea in oldest_first] == [1, 2]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("search dark mode", Search(text="dark mode")),
        ("list planned #UI", Search(status=IdeaStatus.PLANNED, tag="ui")),
        ("list", Search()),
        ("top #mobile", Search(top=True, tag="mobile")),
        ("tag 4 ui Mobile -old", Tagging(4, ("ui", "mobile"), ("old",))),
    ],
)
def test_ideas_search_and_tag_commands(words: str, expected: object) -> None:
    assert parse_ideas_command(words, StatusLabels.default()) == expected


def test_search_results_link_to_the_threads() -> None:
    document = {
        "id": 3,
        "status": "planned",
        "title": "Dark <mode>",
        "tags": ["ui"],
        "linked_customers": [{}, {}],
        "thread": {"channel": "C0STAFF", "ts": "1700000001.000100"},
    }
    assert search_results([document], StatusLabels.default()) == (
        "#3 [Planned] Dark &lt;mode&gt; · 2 asked #ui · "
        "<https://slack.com/archives/C0STAFF/p1700000001000100|thread>"
    )
    assert search_results([], StatusLabels.default()) == "No ideas found."


async def similar_pair(sessions: Sessions, flows: list[LoadedFlow]) -> tuple[Customer, Customer]:
    """Kari recorded idea 1; Ola, with the similar-idea question on, gives a like one."""
    kari = await make_customer(sessions, flows)
    await finish_default_flow(kari)
    await kari.replies()
    ola = await make_customer(sessions, flows)
    ola.dialogue._similar_at_least = 0.3  # as SIMILAR_IDEA_THRESHOLD sets it
    ola.key, ola.ids = OLA, kari.ids
    await ola.say("/start")
    await ola.say("Dark mode in the mobile app please, the evening light is too bright")
    await ola.say("Reading in bed hurts")
    await ola.press("Every week")
    await ola.press("4")
    replies = await ola.press("No")
    assert texts(replies) == [
        "Thank you! Someone has suggested something like it already: «A dark mode for the "
        "mobile app, please, for the evening». Is your idea the same?"
    ]
    return kari, ola


async def test_a_customer_with_the_same_idea_joins_it_and_hears_of_it(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    _, ola = await similar_pair(sessions, shipped_flows)
    replies = await ola.press("Yes, the same")
    assert texts(replies)[0].startswith("Thank you! I've added your voice and your answers")
    ideas = await export_ideas(sessions)
    assert [(idea["id"], idea["status"], idea["votes"]) for idea in ideas] == [
        (1, "new", 1),
        (2, "duplicate", 0),
    ]
    result = await desk(sessions).change_status(change(IdeaStatus.PLANNED))
    assert result.notified == 2
    news = texts(await ola.replies())  # the harness reads every chat: Kari's and Ola's news
    assert len(news) == 2
    assert all(item.startswith("Good news: your idea “A dark mode") for item in news)
    replies = await ola.say("Hello again")
    assert texts(replies)[0].startswith("Welcome back!")


async def test_a_different_idea_is_recorded_as_new(
    sqlite_sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    _, ola = await similar_pair(sqlite_sessions, shipped_flows)
    assert texts(await ola.say("maybe"))[0].endswith("Is your idea the same?")  # asked again
    replies = await ola.say("no")
    assert texts(replies)[0].startswith("Thank you! Your idea is recorded.")
    ideas = await export_ideas(sqlite_sessions)
    assert [(idea["id"], idea["status"]) for idea in ideas] == [(1, "new"), (2, "new")]


async def test_merging_moves_customers_to_the_original_tells_them_and_can_be_undone(
    sessions: Sessions, shipped_flows: list[LoadedFlow]
) -> None:
    kari, _ = await two_followers(sessions, shipped_flows)  # idea 1: Kari (author), Ola
    per = await make_customer(sessions, shipped_flows)
    per.key, per.ids = ConversationKey("telegram", "99", "99"), kari.ids
    await finish_default_flow(per)  # idea 2 by Per
    await delivered(sessions)
    ideas = desk(sessions)
    merge = MergeChange(external_id="m1", duplicate_id=2, original_id=1, changed_by="Anne")
    result = await ideas.merge(merge)
    assert (result.outcome, result.notified) == (ChangeOutcome.CHANGED, 1)
    (told,) = (await delivered(sessions))["99"]
    assert told.startswith("Your idea “A dark mode for the mobile app, please, for the evening” is")
    assert "→ «A dark mode for the mobile app, please, for the evening»" in told
    documents = {idea["id"]: idea for idea in await export_ideas(sessions)}
    assert documents[2]["status"] == "duplicate"
    assert [c["id"] for c in documents[1]["linked_customers"]] == [1, 2, 3]
    assert documents[2]["linked_customers"] == []
    assert (await ideas.merge(merge)).outcome is ChangeOutcome.DUPLICATE

    undo = MergeChange(external_id="m2", duplicate_id=2, changed_by="Anne", undo=True)
    assert (await ideas.merge(undo)).outcome is ChangeOutcome.CHANGED
    documents = {idea["id"]: idea for idea in await export_ideas(sessions)}
    assert documents[2]["status"] == "new"
    assert [c["id"] for c in documents[1]["linked_customers"]] == [1, 2]
    assert [(c["id"], c["kind"]) for c in documents[2]["linked_customers"]] == [(3, "author")]
    again = MergeChange(external_id="m3", duplicate_id=2, changed_by="Anne", undo=True)
    assert (await ideas.merge(again)).outcome is ChangeOutcome.UNCHANGED


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("merge 14 into 12", Merge(14, 12)),
        ("merge #14 #12", Merge(14, 12)),
        ("unmerge 14", Merge(14, None)),
    ],
)
def test_merge_commands(words: str, expected: Merge) -> None:
    assert parse_ideas_command(words, StatusLabels.default()) == expected
    assert isinstance(parse_ideas_command("merge 14", StatusLabels.default()), str)
