"""Issue 11: the words and buttons of admins' ``/ideabot customers`` in Slack."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.slack.customer_admin import (
    confirm_payload,
    found_lines,
    is_customers_find,
    parse_confirm_payload,
)
from handlers.ports import CustomerMatch


@pytest.mark.parametrize(
    ("payload", "parsed"),
    [
        (confirm_payload(True, 12), (True, 12)),
        (confirm_payload(False, 12), (False, 12)),
        ("customers:erase:", None),
        ("customers:erase:-1", None),
        ("customers:wipe:12", None),
        ("forget:yes:12", None),
    ],
)
def test_confirm_buttons_read_back(payload: str, parsed: tuple[bool, int] | None) -> None:
    assert parse_confirm_payload(payload) == parsed


@pytest.mark.parametrize(
    ("body", "found"),
    [
        ({"command": "/ideabot", "text": "customers find Kari"}, True),
        ({"command": "/ideabot", "text": "  customers   find  "}, True),
        ({"command": "/ideabot", "text": "customers erase 3"}, False),
        ({"command": "/ideas", "text": "customers find Kari"}, False),
        ({"command": "/ideabot", "text": "mydata"}, False),
    ],
)
def test_only_a_search_is_answered_without_being_stored(body: dict[str, str], found: bool) -> None:
    assert is_customers_find(body) is found


def test_found_customers_are_listed_with_slack_markup_escaped() -> None:
    match = CustomerMatch(
        id=7,
        platform="telegram",
        platform_user_id="4242",
        display_name="<!channel> Kari",
        emails=("kari@example.org",),
        conversations=2,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert found_lines([match], "Kari") == (
        "#7 · telegram 4242 · &lt;!channel&gt; Kari · kari@example.org · 2 conversation(s)"
    )
    assert found_lines([], "<@U1>") == "No customer matches “&lt;@U1&gt;”."
