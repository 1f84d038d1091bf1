"""When a campaign invites: once now, or on a recurring rule in the installation's time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# One run for a campaign sent now: its invitations share this run key.
ONCE = "once"
# A rule that fires in none of these days never fires.
_HORIZON_DAYS = 400
_RULE = re.compile(
    r"(?P<every>daily|weekly|monthly)"
    r"(?: (?P<nth>\d))?"
    r"(?: (?P<weekday>mon|tue|wed|thu|fri|sat|sun))?"
    r" (?P<hour>\d{1,2}):(?P<minute>\d{2})"
    r"(?: until (?P<until>\d{4}-\d{2}-\d{2}))?"
)


class ScheduleProblem(ValueError):
    """A schedule that cannot be read or never fires; the message says so in one sentence."""


@dataclass(frozen=True, slots=True)
class CampaignSchedule:
    """A campaign's schedule: ``now``, or ``daily``/``weekly DAY``/``monthly N DAY`` at a time."""

    every: str
    at: time = time(0, 0)
    weekday: int | None = None
    nth: int | None = None
    until: date | None = None

    @property
    def recurring(self) -> bool:
        """True for a rule that fires again and again; False for ``now``."""
        return self.every != "now"

    def fires_on(self, day: date) -> bool:
        """True if the rule fires on this local day."""
        if not self.recurring or (self.until is not None and day > self.until):
            return False
        if self.every == "daily":
            return True
        if day.weekday() != self.weekday:
            return False
        return self.every == "weekly" or (day.day - 1) // 7 + 1 == self.nth

    def next_firing(self, after: datetime, zone: ZoneInfo) -> datetime | None:
        """The first firing after ``after`` within about a year; None if there is none."""
        local = after.astimezone(zone)
        for offset in range(_HORIZON_DAYS):
            day = local.date() + timedelta(days=offset)
            firing = datetime.combine(day, self.at, tzinfo=zone)
            if firing > local and self.fires_on(day):
                return firing
        return None

    def current_run(self, now: datetime, zone: ZoneInfo) -> str | None:
        """The run open at ``now``: its key (the day it fired), or None before the first one."""
        if not self.recurring:
            return ONCE
        local = now.astimezone(zone)
        for offset in range(_HORIZON_DAYS):
            day = local.date() - timedelta(days=offset)
            if datetime.combine(day, self.at, tzinfo=zone) <= local and self.fires_on(day):
                return day.isoformat()
        return None


def parse_schedule(
    rule: str, *, now: datetime, zone: ZoneInfo, check: bool = True
) -> CampaignSchedule:
    """The schedule a rule names; a ScheduleProblem if it is not one or (``check``) never fires."""
    words = " ".join(rule.casefold().split())
    if words == "now":
        return CampaignSchedule(every="now")
    match = _RULE.fullmatch(words)
    if match is None:
        raise ScheduleProblem(
            f"“{rule}” is not a schedule: write now, “daily 10:00”, “weekly mon 10:00” or "
            "“monthly 1 mon 10:00” (the first Monday), optionally ending “until 2027-06-30”"
        )
    schedule = _schedule_of(match, rule)
    if check and schedule.recurring and schedule.next_firing(now, zone) is None:
        raise ScheduleProblem(f"the schedule “{rule}” would never fire")
    return schedule


def _schedule_of(match: re.Match[str], rule: str) -> CampaignSchedule:
    every, nth, weekday = match["every"], match["nth"], match["weekday"]
    needs_weekday = every != "daily"
    if (weekday is not None) != needs_weekday or (nth is not None) != (every == "monthly"):
        raise ScheduleProblem(
            f"“{rule}”: daily takes a time, weekly a day and a time, monthly a number, a day "
            "and a time (“monthly 1 mon 10:00”)"
        )
    hour, minute = int(match["hour"]), int(match["minute"])
    if hour > 23 or minute > 59:
        raise ScheduleProblem(f"“{rule}”: {hour}:{minute:02d} is not a time of day")
    try:
        until = None if match["until"] is None else date.fromisoformat(match["until"])
    except ValueError:
        raise ScheduleProblem(f"“{rule}”: {match['until']} is not a date") from None
    return CampaignSchedule(
        every=every,
        at=time(hour, minute),
        weekday=None if weekday is None else WEEKDAYS.index(weekday),
        nth=None if nth is None else int(nth),
        until=until,
    )
