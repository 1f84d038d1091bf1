"""Issue 11: the words and buttons of admins' ``/ideabot customers`` in Slack."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.slack.customer_admin import (
    CustomerLookup,
    CustomerOrder,
    CustomerVerb,
    confirm_payload,
    found_lines,
    parse_confirm_payload,
    parse_customers_command,
)
from handlers.ports import CustomerMatch
from handlers.privacy.answers import ErasureAnswer


@pytest.mark.parametrize(
    ("payload", "parsed"),
    [
        (confirm_payload(True, 12), ErasureAnswer(erase=True, customer_id=12)),
        (confirm_payload(False, 12), ErasureAnswer(erase=False, customer_id=12)),
        ("customers:erase:", None),
        ("customers:erase:-1", None),
        ("customers:erase:+1", None),
        ("customers:erase: 1", None),
        ("customers:erase:1_0", None),
        ("customers:erase:#1", None),
        ("customers:erase:\u0663", None),
        ("customers:erase:1234567890", None),
        ("customers:wipe:12", None),
        ("forget:yes:12", None),
    ],
)
def test_confirm_buttons_read_back(payload: str, parsed: ErasureAnswer | None) -> None:
    assert parse_confirm_payload(payload) == parsed


@pytest.mark.parametrize(
    ("words", "asked"),
    [
        ("customers erase 3", CustomerOrder(verb=CustomerVerb.ERASE, customer_id=3)),
        ("  Customers   EXPORT  #3 ", CustomerOrder(verb=CustomerVerb.EXPORT, customer_id=3)),
        ("customers find Kari", CustomerLookup("find Kari")),
        ("  customers   find  ", CustomerLookup("find")),
        # Review R2 of issue 11: these were stored whole, the searched-for e-mail with them.
        ("customers Find alice@example.org", CustomerLookup("Find alice@example.org")),
        ("Customers find alice@example.org", CustomerLookup("find alice@example.org")),
        ("customers search alice@example.org", CustomerLookup("search alice@example.org")),
        ("customers alice@example.org", CustomerLookup("alice@example.org")),
        ("customers erase alice@example.org", CustomerLookup("erase alice@example.org")),
        ("customers erase 3 alice@example.org", CustomerLookup("erase 3 alice@example.org")),
        ("customers erase \u0663", CustomerLookup("erase \u0663")),
        ("mydata", None),
        ("", None),
    ],
)
def test_only_export_or_erase_of_a_number_is_a_request_to_store(
    words: str, asked: CustomerOrder | CustomerLookup | None
) -> None:
    assert parse_customers_command(words) == asked


def test_a_stored_request_is_its_parsed_words() -> None:
    order = parse_customers_command("CUSTOMERS Erase #0042")
    assert order == CustomerOrder(verb=CustomerVerb.ERASE, customer_id=42)
    assert order.text == "customers erase 42"


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
