"""``ideabot status``: what is configured, whether the platforms answer, and the outbox's state."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import aiohttp
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from telegram.error import TelegramError

from bot.app import open_database, slack_client, telegram_bot
from bot.settings import Settings
from storage.dead_letters import SqlDeadLetters
from storage.event_queue import SqlEventQueue
from storage.outbox_store import SqlOutboxStore
from storage.tables import EventState


@dataclass
class StatusReport:
    """Lines to print, and whether anything needs a person's attention."""

    lines: list[str] = field(default_factory=list)
    healthy: bool = True

    def add(self, line: str, *, problem: bool = False) -> None:
        """Add a line; a problem makes the report unhealthy."""
        self.lines.append(("✗ " if problem else "  ") + line)
        self.healthy = self.healthy and not problem


async def status_report(settings: Settings) -> StatusReport:
    """Check configuration, connectivity and the outbox, without changing anything."""
    report = StatusReport()
    report.add(f"database: {make_url(settings.database_url).render_as_string(hide_password=True)}")
    await _telegram(settings, report)
    await _slack(settings, report)
    try:
        async with open_database(settings) as sessions:
            outbox = SqlOutboxStore(sessions)
            backlog = await outbox.backlog()
            counts = f"pending: {backlog.pending}, sent: {backlog.sent}, failed: {backlog.failed}"
            report.add(f"outbox: {counts}")
            events = await SqlEventQueue(sessions).counts()
            if events:
                # Failed events are also dead letters: the line below is the one to act on.
                report.add(
                    f"stored events: waiting: {events.get(EventState.PENDING, 0)}, handled: "
                    f"{events.get(EventState.HANDLED, 0)}, failed: "
                    f"{events.get(EventState.FAILED, 0)}"
                )
            letters = await SqlDeadLetters(sessions).counts()
            if letters:
                each = ", ".join(
                    f"{platform}: {count}" for platform, count in sorted(letters.items())
                )
                report.add(
                    f"dead letters: {sum(letters.values())} ({each}); "
                    "see `ideabot deadletters list`",
                    problem=True,
                )
            for failure in await outbox.recent_failures(limit=10):
                report.add(
                    f"failed #{failure.id} {failure.action} to {failure.destination} at "
                    f"{failure.created_at:%Y-%m-%d %H:%M}: {failure.last_error}",
                    problem=True,
                )
    except (SQLAlchemyError, OSError) as error:
        report.add(f"database unreachable: {type(error).__name__}", problem=True)
    return report


async def _telegram(settings: Settings, report: StatusReport) -> None:
    if settings.telegram_bot_token is None:
        report.add("telegram: not configured (TELEGRAM_BOT_TOKEN is empty)")
        return
    mode = "webhook" if settings.telegram_webhook_mode else "long polling"
    bot = telegram_bot(settings)
    try:
        me = await bot.get_me()
        report.add(f"telegram: @{me.username}, {mode}, answering")
    except TelegramError as error:
        report.add(f"telegram: {mode}, not answering: {error.message}", problem=True)
    finally:
        with contextlib.suppress(Exception):
            await bot.shutdown()


async def _slack(settings: Settings, report: StatusReport) -> None:
    if settings.slack_bot_token is None:
        report.add("slack: not configured (SLACK_BOT_TOKEN is empty)")
        return
    mode = "Socket Mode" if settings.slack_socket_mode else "events at /slack/events"
    channel = settings.slack_staff_channel or "none (no hand-off to staff)"
    client = slack_client(settings)
    try:
        answer = await client.auth_test()
        report.add(
            f"slack: workspace {answer['team_id']} as {answer['user_id']}, {mode}, "
            f"staff channel {channel}"
        )
    except SlackApiError as error:
        code = error.response.get("error", "") if isinstance(error.response.data, dict) else ""
        report.add(f"slack: {mode}, refused: {code or error.response.status_code}", problem=True)
    except (aiohttp.ClientError, TimeoutError) as error:
        report.add(f"slack: {mode}, unreachable: {type(error).__name__}", problem=True)
