"""Merge clicks whose value ideabot never wrote are dropped before they reach the database."""

from __future__ import annotations

import pytest

from tests.test_slack_translate import translate
from tests.test_staff_similar import click


@pytest.mark.parametrize(
    ("action_id", "value"),
    [
        ("idea_merge_12", "99999999999:12"),  # beyond the idea numbers: PostgreSQL refuses it
        ("idea_merge_12", "20:99999999999"),
        ("idea_merge_12", "0:12"),
        ("idea_merge_12", "-20:12"),
        ("idea_merge_12", "2_0:12"),  # int() reads it as 20
        ("idea_merge_12", " 20:12"),
        ("idea_merge_12", "٢٠:12"),
        ("idea_merge_12", "20:20"),  # an idea into itself
        ("idea_unmerge", "99999999999"),
    ],
)
async def test_a_merge_click_with_a_value_ideabot_never_writes_is_dropped(
    action_id: str, value: str
) -> None:
    assert await translate(click(action_id, value)) is None
