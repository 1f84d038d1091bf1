"""Issue 13: campaign schedules, read in the installation's time zone, as tables."""

from __future__ import annotations

from datetime import datetime

import pytest

from handlers.campaigns.schedule import ONCE, ScheduleProblem, parse_schedule
from tests.helpers.campaigns import OSLO

# A Monday.
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=OSLO)


@pytest.mark.parametrize(
    ("rule", "next_firing", "current_run"),
    [
        ("daily 10:00", datetime(2026, 12, 1, 10, 0, tzinfo=OSLO), "2026-11-30"),
        ("weekly mon 13:00", datetime(2026, 11, 30, 13, 0, tzinfo=OSLO), "2026-11-23"),
        ("monthly 1 mon 10:00", datetime(2026, 12, 7, 10, 0, tzinfo=OSLO), "2026-11-02"),
        ("Monthly 5 MON 10:00", datetime(2027, 3, 29, 10, 0, tzinfo=OSLO), "2026-11-30"),
        (
            "weekly sun 09:30 until 2026-12-06",
            datetime(2026, 12, 6, 9, 30, tzinfo=OSLO),
            "2026-11-29",
        ),
    ],
)
def test_a_rule_fires_when_it_says(rule: str, next_firing: datetime, current_run: str) -> None:
    schedule = parse_schedule(rule, now=NOW, zone=OSLO)
    assert schedule.next_firing(NOW, OSLO) == next_firing
    assert schedule.current_run(NOW, OSLO) == current_run


def test_now_is_one_run() -> None:
    schedule = parse_schedule("now", now=NOW, zone=OSLO)
    assert (schedule.recurring, schedule.current_run(NOW, OSLO)) == (False, ONCE)


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ("monthly 6 mon 10:00", "would never fire"),
        ("daily 10:00 until 2026-11-01", "would never fire"),
        ("weekly 10:00", "weekly a day and a time"),
        ("daily 25:00", "is not a time of day"),
        ("every so often", "is not a schedule"),
        ("daily 10:00 until 2026-02-30", "is not a date"),
    ],
)
def test_a_rule_that_cannot_fire_is_refused(rule: str, problem: str) -> None:
    with pytest.raises(ScheduleProblem, match=problem):
        parse_schedule(rule, now=NOW, zone=OSLO)
