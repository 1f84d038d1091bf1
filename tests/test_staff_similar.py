"""A card's "possibly the same as": kept on the card, rendered with Merge buttons, clicked."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.slack.format import card_blocks
from handlers.ideas.status import MergeChange
from handlers.staff.room import CardCandidate, HandOffReason, StaffCard
from storage.similar_candidates import staff_candidates
from storage.similar_ideas import SemanticMatching, SimilarIdeas
from tests.helpers.privacy import seed_customer
from tests.test_erasure_vectors import WordsEmbedder
from tests.test_slack_translate import payload, translate

CANDIDATES = (
    CardCandidate(12, "<!here> Dark mode " + "at night " * 20, 3),
    CardCandidate(14, "Dark theme", 1),
)


def card(status: str = "new", similar: tuple[CardCandidate, ...] = CANDIDATES) -> StaffCard:
    return StaffCard(
        conversation_id=7,
        customer_name="Eve",
        platform="telegram",
        language="en",
        reason=HandOffReason.IDEA_RECORDED,
        title="A dark mode",
        idea_id=20,
        idea_status=status,
        similar=similar,
    )


def buttons(blocks: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [
        (element["text"]["text"], element["action_id"], element["value"])
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
        if element["type"] == "button"
    ]


def test_a_card_keeps_its_candidates_and_an_old_card_has_none() -> None:
    stored = json.loads(json.dumps(card().to_json()))
    assert StaffCard.from_json(stored) == card()
    del stored["similar"]  # a card stored before candidates were found
    old = StaffCard.from_json(stored)
    assert old.similar == ()
    _, blocks = card_blocks(old)
    assert "Possibly the same as" not in json.dumps(blocks)
    assert [label for label, _, _ in buttons(blocks)] == [
        "I'll take it",
        "Close conversation",
        "Internal only",
    ]


def test_candidates_show_escaped_cut_titles_followers_and_a_merge_button_each() -> None:
    _, blocks = card_blocks(card())
    (section,) = [
        block["text"]["text"]
        for block in blocks
        if block["type"] == "section" and "Possibly" in block["text"]["text"]
    ]
    first, second = section.splitlines()[1:]
    assert first.startswith("#12 &lt;!here&gt; Dark mode at night")
    assert "…" in first
    assert first.endswith("· 3 followers")
    assert second == "#14 Dark theme · 1 follower"
    assert buttons(blocks)[:2] == [
        ("Merge into #12", "idea_merge_12", "20:12"),
        ("Merge into #14", "idea_merge_14", "20:14"),
    ]


@pytest.mark.parametrize(
    ("status", "labels"),
    [
        ("planned", ["Merge into #12", "Merge into #14"]),
        ("done", []),  # decided: the candidates stay in view, nothing to merge
        ("duplicate", ["Undo merge"]),
    ],
)
def test_what_a_card_offers_follows_its_idea(status: str, labels: list[str]) -> None:
    _, blocks = card_blocks(card(status))
    shown = [label for label, _, _ in buttons(blocks) if "erge" in label]
    assert shown == labels


def test_a_merged_idea_without_candidates_can_still_be_taken_back() -> None:
    _, blocks = card_blocks(card("duplicate", similar=()))
    assert ("Undo merge", "idea_unmerge", "20") in buttons(blocks)


def click(action_id: str, value: str, user: str = "U0ANNE") -> dict[str, Any]:
    body = payload("card_button")
    body["user"]["id"] = user
    body["actions"][0].update(action_id=action_id, value=value)
    return body


async def test_merge_and_undo_clicks_are_merge_changes_by_the_clicker() -> None:
    assert await translate(click("idea_merge_12", "20:12")) == MergeChange(
        external_id="action:1234567890.123456789.abcdef",
        duplicate_id=20,
        changed_by="Anne",
        original_id=12,
        clicked_by="U0ANNE",
    )
    assert await translate(click("idea_unmerge", "20")) == MergeChange(
        external_id="action:1234567890.123456789.abcdef",
        duplicate_id=20,
        changed_by="Anne",
        undo=True,
        clicked_by="U0ANNE",
    )


@pytest.mark.parametrize(
    ("action_id", "value", "user"),
    [
        ("idea_merge_12", "20:12", "U0SIRI"),  # not on the team
        ("idea_merge_12", "20", "U0ANNE"),  # no original: not a value ideabot wrote
        ("idea_merge_12", "x:12", "U0ANNE"),
        ("idea_unmerge", "", "U0ANNE"),
    ],
)
async def test_forged_merge_clicks_are_dropped(action_id: str, value: str, user: str) -> None:
    assert await translate(click(action_id, value, user)) is None


async def test_staff_candidates_leave_out_the_idea_itself_and_ask_the_model_once(
    sqlite_sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await seed_customer(
        sqlite_sessions, name="Kari", words="dark mode app", email="k@example.org", chat_id="1"
    )
    second = await seed_customer(
        sqlite_sessions, name="Ola", words="dark mode please", email="o@example.org", chat_id="2"
    )
    embedder = WordsEmbedder()
    similar = SimilarIdeas(SemanticMatching(embedder=embedder, at_least=0.5))
    text = "dark mode please"
    async with sqlite_sessions() as session:
        await similar.catch_up(session)
        asked_before = len(embedder.texts)
        # The customer's question, then staff's five: one turn, the same text.
        await similar.search(session, text, at_least=0.3)
        found, method = await staff_candidates(
            session, similar, text=text, excluding=second.idea_id
        )
    assert method == "words"
    assert [scored.candidate for scored in found] == [
        CardCandidate(first.idea_id, "dark mode app", 1)
    ]
    assert embedder.texts[asked_before:] == [text]
