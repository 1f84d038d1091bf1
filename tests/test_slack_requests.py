"""The Slack signature check before bolt, and bolt's log lines without request bodies."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

import pytest

from bot.slack.signed_requests import SignedSlackRequests, WithoutRequestBodies

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


async def never_called(_request: object) -> object:
    raise AssertionError("only signed requests may pass")


def signed(body: bytes, stamp: int, secret: str = SECRET) -> dict[str, str]:
    base = f"v0:{stamp}:".encode() + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": str(stamp), "x-slack-signature": signature}


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({}, "it is not signed"),
        ({"x-slack-request-timestamp": "1"}, "it is not signed"),
        (
            {"x-slack-request-timestamp": "²", "x-slack-signature": "v0=1"},
            "its timestamp is not a number",
        ),
        # Attack review: int() refuses over 4,300 digits, and the ValueError was a 500.
        (
            {"x-slack-request-timestamp": "9" * 5000, "x-slack-signature": "v0=1"},
            "its timestamp is not a number",
        ),
    ],
)
def test_unsigned_requests_are_named(headers: dict[str, str], problem: str) -> None:
    gate = SignedSlackRequests(signing_secret=SECRET, endpoint=never_called)  # type: ignore[arg-type]
    assert gate.problem(body=b"{}", headers=headers) == problem


@pytest.mark.parametrize(
    ("age", "body", "secret", "problem"),
    [
        (301, b"{}", SECRET, "its timestamp is more than five minutes off"),
        (-301, b"{}", SECRET, "its timestamp is more than five minutes off"),
        (0, b"{}", "another-secret", "its signature does not match"),
        (0, b"{ }", SECRET, "its signature does not match"),
        (0, b"{}", SECRET, None),
    ],
)
def test_signed_requests_are_checked_for_age_and_signature(
    age: int, body: bytes, secret: str, problem: str | None
) -> None:
    gate = SignedSlackRequests(signing_secret=SECRET, endpoint=never_called)  # type: ignore[arg-type]
    headers = signed(body, int(time.time()) - age, secret=secret)
    assert gate.problem(body=b"{}", headers=headers) == problem


def test_bolt_lines_with_a_body_keep_only_their_start() -> None:
    record = logging.LogRecord(
        "slack_bolt.AsyncRequestVerification",
        logging.INFO,
        __file__,
        1,
        "Invalid request signature detected (signature: v0=1, timestamp: 1, body: My idea\\nX)",
        (),
        None,
    )
    assert WithoutRequestBodies().filter(record)
    assert record.getMessage() == "Invalid request signature detected (request details withheld)"
    other = logging.LogRecord(
        "slack_bolt", logging.INFO, __file__, 1, "connected %s", ("ok",), None
    )
    assert WithoutRequestBodies().filter(other)
    assert other.getMessage() == "connected ok"
