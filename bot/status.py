"""``ideabot status``: what is configured, whether the platforms answer, and the outbox's state."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field

import aiohttp
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import make_url
from telegram.error import TelegramError

from bot.app import open_database, slack_client, telegram_bot
from bot.embeddings.choice import SimilarityChoice, configured_similarity
from bot.problems import database_problem, slack_problem, telegram_problem
from bot.settings import Settings
from handlers.ports import EmbeddingUnavailable
from storage.database import sqlite_file
from storage.dead_letters import SqlDeadLetters
from storage.event_queue import SqlEventQueue
from storage.outbox.store import SqlOutboxStore
from storage.privacy.store import SqlErasures
from storage.similar_decisions import stored_calibration
from storage.tables import EventState

logger = logging.getLogger(__name__)


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
    if settings.telegram_bot_token is None and settings.slack_bot_token is None:
        report.add(
            "nothing to serve: set TELEGRAM_BOT_TOKEN and/or SLACK_BOT_TOKEN (see .env.example)",
            problem=True,
        )
    await _telegram(settings, report)
    await _slack(settings, report)
    await _database(settings, report)
    await _similarity(settings, report)
    return report


async def _similarity(settings: Settings, report: StatusReport) -> None:
    async with configured_similarity(settings) as choice:
        if choice.semantic is None:
            # Lexical still finds similar ideas: a missing model is said, not a problem.
            report.add(f"similar ideas: {choice.description}")
            await _similar_question(settings, report, choice=choice)
            return
        try:
            await choice.semantic.embedder.embed(["status check"])
        except EmbeddingUnavailable as error:
            report.add(
                f"similar ideas: {choice.description}, not answering ({error}); "
                "the lexical method stands in",
                problem=True,
            )
            return
        report.add(f"similar ideas: {choice.description}, answering")
        await _similar_question(settings, report, choice=choice)


async def _similar_question(
    settings: Settings, report: StatusReport, *, choice: SimilarityChoice
) -> None:
    """The threshold the customer's question is asked at, and the decisions it rests on."""
    if settings.similar_idea_threshold == 0:
        report.add("similar question: off (SIMILAR_IDEA_THRESHOLD=0)")
        return
    similar = choice.similar_ideas(settings)
    configured = (
        settings.similar_idea_threshold if choice.semantic is None else choice.semantic.at_least
    )
    path = sqlite_file(settings.database_url)
    calibration = None
    if path is None or path.exists():
        try:
            async with open_database(settings) as sessions, sessions() as session:
                calibration = await stored_calibration(session, method=similar.method)
        except Exception:
            # The database line above already says what is wrong with it.
            logger.debug("similar question: no calibration read", exc_info=True)
    margin = f"margin {similar.offers.margin:.3f}"
    if calibration is None:
        report.add(
            f"similar question: threshold {configured:.3f} (configured; no decisions), {margin}"
        )
        return
    how = (
        f"calibrated from {calibration.decisions} decisions, floor {similar.offers.floor:.3f}"
        if calibration.calibrated
        else f"configured; {calibration.decisions} decisions, {similar.offers.least} needed"
    )
    threshold = calibration.threshold if calibration.calibrated else configured
    report.add(
        f"similar question: threshold {threshold:.3f} ({how}; {calibration.same} the same), "
        f"{margin}"
    )


async def _database(settings: Settings, report: StatusReport) -> None:
    report.add(f"database: {make_url(settings.database_url).render_as_string(hide_password=True)}")
    path = sqlite_file(settings.database_url)
    if path is not None and not path.exists():
        # Checking must not leave an empty database behind in the wrong folder.
        report.add(
            f"database: no database at {path} (run ideabot from the folder with your .env, "
            "or set DATABASE_URL)",
            problem=True,
        )
        return
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
            await _erasures(SqlErasures(sessions), settings, report)
            for failure in await outbox.recent_failures(limit=10):
                report.add(
                    f"failed #{failure.id} {failure.action} to {failure.destination} at "
                    f"{failure.created_at:%Y-%m-%d %H:%M}: {failure.last_error}",
                    problem=True,
                )
    except Exception as error:
        problem = database_problem(error, settings.database_url)
        if problem is None:
            logger.debug("database check failed", exc_info=True)
        reason = problem.reason if problem else f"database: unreachable ({type(error).__name__})"
        report.add(reason, problem=True)


async def _erasures(erasures: SqlErasures, settings: Settings, report: StatusReport) -> None:
    """Retention, and erasures whose Slack steps are not all done, with what is left."""
    days = settings.retention_days
    report.add(
        f"retention: closed conversations are forgotten after {days} day(s)"
        if days
        else "retention: conversations are kept until erased (RETENTION_DAYS=0)"
    )
    for pending in await erasures.pending_erasures():
        failed = f", {pending.steps_failed} failed (see below)" if pending.steps_failed else ""
        report.add(
            f"erasure {pending.erasure_id} ({pending.kind}, by {pending.requested_by}, "
            f"{pending.requested_at:%Y-%m-%d %H:%M}): pending, {pending.steps_left} Slack "
            f"step(s) left{failed}",
            problem=bool(pending.steps_failed),
        )


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
        problem = telegram_problem(error, settings.telegram_api_base_url)
        report.add(
            f"telegram: {mode}: {problem.reason if problem else 'not answering'}", problem=True
        )
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
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
        problem = slack_problem(error, settings.slack_api_base_url)
        report.add(f"slack: {mode}: {problem.reason if problem else 'not answering'}", problem=True)
