"""Issue 11: what an erasure leaves, as plain functions: titles, links, digests."""

from __future__ import annotations

import pytest

from handlers.ideas.digest import Digest, DigestChange, DigestIdea, WaitingConversation
from handlers.privacy.rules import (
    CUSTOMER_ERASURE,
    ERASED_TITLE,
    digest_without,
    kept_title,
    report_text,
    staff_message_link,
)


@pytest.mark.parametrize(
    ("staff_title", "kept"),
    [(None, ERASED_TITLE), ("", ERASED_TITLE), ("  ", ERASED_TITLE), (" Dark mode ", "Dark mode")],
)
def test_an_idea_keeps_the_staff_title_else_the_placeholder(
    staff_title: str | None, kept: str
) -> None:
    assert kept_title(staff_title) == kept


@pytest.mark.parametrize(
    ("ts", "thread_ts", "link"),
    [
        ("1700.000100", None, "https://slack.com/archives/C1/p1700000100"),
        (
            "1700.000200",
            "1700.000100",
            "https://slack.com/archives/C1/p1700000200?thread_ts=1700.000100&cid=C1",
        ),
    ],
)
def test_a_staff_message_link_is_built_from_channel_and_ts(
    ts: str, thread_ts: str | None, link: str
) -> None:
    assert staff_message_link(channel="C1", ts=ts, thread_ts=thread_ts) == link


DIGEST = Digest(
    since="a",
    until="b",
    new_ideas=[DigestIdea(1, "purple elephant", "new"), DigestIdea(2, "other", "new")],
    most_requested=[DigestIdea(3, "their kept idea", "planned", linked=12)],
    status_changes=[DigestChange(1, "purple elephant", "new", "planned", "Anne")],
    themes=[("purple elephant", 2), ("their kept idea", 3), ("other", 1)],
    waiting=[WaitingConversation(7, "Alice", "x"), WaitingConversation(8, "Bob", "y")],
)


def test_a_digest_loses_erased_ideas_and_waiting_customers_and_renames_kept_ones() -> None:
    cleaned = digest_without(
        DIGEST,
        removed_ideas={1},
        renamed_ideas={3: ERASED_TITLE},
        conversations={7},
        old_titles={"purple elephant": None, "their kept idea": ERASED_TITLE},
    )
    assert cleaned is not None
    assert [idea.id for idea in cleaned.new_ideas] == [2]
    assert cleaned.most_requested == [DigestIdea(3, ERASED_TITLE, "planned", linked=12)]
    assert cleaned.status_changes == []
    assert cleaned.themes == [(ERASED_TITLE, 3), ("other", 1)]
    assert [waiting.customer_name for waiting in cleaned.waiting] == ["Bob"]


def test_a_digest_that_names_nothing_erased_is_left_alone() -> None:
    untouched = digest_without(
        DIGEST, removed_ideas={99}, renamed_ideas={}, conversations={98}, old_titles={}
    )
    assert untouched is None


def test_the_report_names_counts_and_links_only() -> None:
    text = report_text(
        4, kind=CUSTOMER_ERASURE, removed={"messages": 3, "ideas_removed": 0}, links=["L1"]
    )
    assert text.splitlines() == [
        "Erasure 4: a customer's data erased in ideabot and in ideabot's own Slack posts.",
        "Removed: messages: 3.",
        "A bot cannot delete staff messages. A workspace admin should delete these by hand:",
        "• L1",
    ]
