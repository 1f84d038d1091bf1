"""The composition root: builds every part from the settings and wires them together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import uvicorn
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.configuration import ConfigurationError as ConfigurationError
from bot.console.channel import PLATFORM as CONSOLE
from bot.console.channel import ConsoleScreen, run_console
from bot.database_access import open_database as open_database
from bot.delivery.campaign_charts import CAMPAIGN_CHART_PLATFORM, CampaignCharts
from bot.delivery.charts import FunnelCharts
from bot.delivery.files import (
    SLACK_FILE_LIMITS,
    TELEGRAM_FILE_LIMITS,
    Files,
    SlackFiles,
    TelegramFiles,
)
from bot.delivery.pacing import Pacer
from bot.delivery.privacy_requests import (
    DATA_EXPORT_PLATFORM,
    DataExportFiles,
    PrivacyRequestSender,
)
from bot.delivery.report_charts import ReportCharts
from bot.delivery.worker import Channel, DeliveryWorker
from bot.embeddings.choice import configured_similarity
from bot.http.server import HttpServer, build_http_app
from bot.metrics import Metrics
from bot.platform import Platform
from bot.problems import slack_problem, telegram_problem
from bot.runtime import Runtime
from bot.scheduler import run_every
from bot.settings import Settings
from bot.shutdown import Service, StopForced, StopOutcome, StopSignals, supervise
from bot.slack.platform import slack_platform
from bot.slack.sender import PLATFORM as SLACK
from bot.slack.sender import TEXT_LIMIT as SLACK_TEXT_LIMIT
from bot.slack.sender import SlackSender
from bot.startup import until_reachable
from bot.status_labels import load_status_labels
from bot.telegram.platform import telegram_platform
from bot.telegram.sender import TEXT_LIMIT as TELEGRAM_TEXT_LIMIT
from bot.telegram.sender import TelegramSender
from bot.telegram.translate import PLATFORM as TELEGRAM
from handlers.campaigns.campaign import Respect
from handlers.campaigns.desk import CampaignDesk
from handlers.dialogue.dialogue import Dialogue
from handlers.dialogue.privacy import PrivacySettings
from handlers.dialogue.trial import FlowTrials
from handlers.flows.charts import CHART_PLATFORM
from handlers.flows.loader import LoadedFlow, load_flows
from handlers.ideas.desk import ChangeResult, IdeaDesk
from handlers.ideas.digest import Digest, DigestDesk, DigestSchedule
from handlers.ideas.reminders import Reminders
from handlers.ideas.report import REPORT_CHART_PLATFORM, ReportDesk, ReportSchedule
from handlers.ideas.status import MergeChange, StatusChange, StatusLabels
from handlers.ports import FlowCatalog, FlowLibrary, OutboxSignal
from handlers.privacy.desk import PrivacyDesk, RetentionSweep
from handlers.staff.desk import StaffDesk
from handlers.staff.room import StaffRoom
from storage.campaigns.store import SqlCampaigns
from storage.database import reading_sessions
from storage.dead_letters import SqlDeadLetters
from storage.dialogue.store import SqlDialogueStore
from storage.digest_queries import SqlDigestSource
from storage.event_queue import SqlEventQueue
from storage.flows.catalog import SqlFlowCatalog
from storage.flows.library import SqlFlowLibrary
from storage.flows.progress import SqlFlowProgress
from storage.flows.stats import SqlFlowStats
from storage.idea_queries import IdeaCatalog
from storage.outbox.store import SqlOutboxStore
from storage.privacy.records import SqlCustomerRecords
from storage.privacy.store import SqlErasures
from storage.report_queries import SqlReportSource
from storage.similar_ideas import SimilarIdeas
from storage.types import utc_now

logger = logging.getLogger(__name__)

# Who the audit trail names for versions published from the flows folder at start.
FOLDER_ACTOR = "file"


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    channels: Mapping[str, Channel],
    staff_room: StaffRoom | None = None,
    labels: StatusLabels | None = None,
    wait: bool = False,
) -> AsyncIterator[Runtime]:
    """Migrate, import the flows folder, and wire dialogue and delivery together."""
    flows = load_flows(settings.flows_path)
    async with (
        open_database(settings, wait=wait) as sessions,
        reading_sessions(settings.database_url, sessions) as reads,
        configured_similarity(settings) as similarity,
    ):
        logger.info("similar ideas: %s", similarity.description)
        library = SqlFlowLibrary(sessions)
        await import_flows(library, flows)
        catalog = await SqlFlowCatalog.load(sessions=reads, default_flow_id=settings.default_flow)
        metrics = Metrics.create()
        # The worker needs no waking after a customer's erasure: it claims again when a send ends.
        requests_desk = privacy_desk(settings, sessions)
        worker = DeliveryWorker(
            outbox=SqlOutboxStore(sessions),
            channels={
                name: replace(
                    channel, sender=PrivacyRequestSender(channel.sender, desk=requests_desk)
                )
                for name, channel in channels.items()
            },
            metrics=metrics,
            lease_seconds=settings.outbox_lease_seconds,
            max_in_flight=settings.outbox_max_in_flight,
            max_attempts=settings.outbox_max_attempts,
            backoff_base_seconds=settings.outbox_backoff_base_seconds,
        )
        # One index of open ideas, for the customer's question, staff's cards and the digest.
        similar = similarity.similar_ideas(settings)
        store = SqlDialogueStore(sessions, similar)
        message_limits = {TELEGRAM: TELEGRAM_TEXT_LIMIT, SLACK: SLACK_TEXT_LIMIT}
        file_limits = {TELEGRAM: TELEGRAM_FILE_LIMITS, SLACK: SLACK_FILE_LIMITS}
        dialogue = Dialogue(
            store=store,
            flows=catalog,
            outbox_signal=worker,
            message_limits=message_limits,
            staff_room=staff_room,
            similar_at_least=settings.similar_idea_threshold,
            file_limits=file_limits,
            reopen_closed_threads=settings.staff_reopen_closed_threads,
            privacy=PrivacySettings(
                retention_days=settings.retention_days,
                notice_url=settings.privacy_notice_url,
                export_every=timedelta(minutes=settings.data_export_every_minutes),
            ),
        )
        staff_desk = None
        if staff_room is not None:
            staff_desk = StaffDesk(
                store=store,
                room=staff_room,
                outbox_signal=worker,
                message_limits=message_limits,
                note_prefix=settings.staff_note_prefix,
                signature=settings.staff_signature,
                file_limits=file_limits,
            )
        idea_desk = IdeaDesk(
            store=store,
            outbox_signal=worker,
            labels=labels or StatusLabels.default(),
            staff_room=staff_room,
        )
        yield Runtime(
            metrics=metrics,
            dialogue=dialogue,
            trials=FlowTrials(store=store, outbox_signal=worker, message_limits=message_limits),
            worker=worker,
            staff_desk=staff_desk,
            idea_desk=idea_desk,
            ideas=IdeaCatalog(sessions),
            flows=catalog,
            library=library,
            flow_stats=SqlFlowStats(sessions),
            flow_progress=SqlFlowProgress(sessions),
            store=store,
            events=SqlEventQueue(sessions),
            dead_letters=SqlDeadLetters(sessions),
            reminders=Reminders(store=store, flows=catalog, outbox_signal=worker),
            digest=digest_desk(
                settings, sessions, staff_room, similar=similar, outbox_signal=worker
            ),
            privacy=privacy_desk(settings, sessions, outbox_signal=worker),
            campaigns=campaign_desk(settings, sessions, catalog, outbox_signal=worker),
            report=report_desk(settings, sessions, outbox_signal=worker),
            retention=RetentionSweep(
                erasures=_erasures(settings, sessions),
                days=settings.retention_days,
                outbox_signal=worker,
            ),
        )


async def import_flows(library: FlowLibrary, flows: list[LoadedFlow]) -> None:
    """Publish the flows folder's changed files, each with a log line; unchanged ones stay."""
    for flow, published in zip(
        flows, await library.import_files(flows, actor=FOLDER_ACTOR), strict=True
    ):
        if published.changed:
            logger.info(
                "%s: flow '%s' is published as version %s (was %s)",
                flow.source,
                published.flow_id,
                published.version,
                published.previous or "not published",
            )


def chat(settings: Settings) -> None:
    """Run ``ideabot chat``: one customer conversation in this terminal."""
    files = Files({})
    screen = ConsoleScreen(sys.stdout, files=files, folder=Path.cwd())
    # A terminal has no rate limit; the pacer is there because every channel has one.
    unpaced = Pacer(chat_rate=1000.0, chat_burst=1000, global_rate=1000.0)
    # The loop runs only while a line is handled: reading the next one blocks outside it,
    # where Ctrl-C interrupts at once.
    with asyncio.Runner() as runner:
        opened = contextlib.AsyncExitStack()
        runtime = runner.run(
            opened.enter_async_context(
                open_runtime(settings, channels={CONSOLE: Channel(sender=screen, pacer=unpaced)})
            )
        )
        files.add(DATA_EXPORT_PLATFORM, DataExportFiles(runtime.privacy))
        try:
            run_console(
                dialogue=runtime.dialogue, worker=runtime.worker, screen=screen, run=runner.run
            )
        finally:
            runner.run(opened.aclose())


def telegram_bot(settings: Settings) -> Bot:
    """The PTB Bot for the token, at TELEGRAM_API_BASE_URL."""
    assert settings.telegram_bot_token is not None
    base = settings.telegram_api_base_url
    return Bot(
        token=settings.telegram_bot_token.get_secret_value(),
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
        request=HTTPXRequest(
            connection_pool_size=settings.outbox_max_in_flight + 4,
            connect_timeout=10.0,
            read_timeout=15.0,
            write_timeout=15.0,
            pool_timeout=15.0,
        ),
        get_updates_request=HTTPXRequest(
            connection_pool_size=2,
            read_timeout=settings.telegram_poll_timeout_seconds + 10.0,
        ),
    )


async def merge_ideas(settings: Settings, change: MergeChange) -> ChangeResult:
    """``ideabot ideas merge|unmerge``: the same as from Slack, queued for ``ideabot run``."""
    async with open_database(settings) as sessions, configured_similarity(settings) as similarity:
        # The merge is a labelled pair, scored by the method ``ideabot run`` uses.
        desk = _command_line_desk(settings, sessions, similar=similarity.similar_ideas(settings))
        return await desk.merge(change)


def digest_desk(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    staff_room: StaffRoom | None,
    *,
    similar: SimilarIdeas,
    outbox_signal: OutboxSignal,
) -> DigestDesk:
    """The digest, on the configured schedule, for the staff room."""
    return DigestDesk(
        store=SqlDialogueStore(sessions),
        source=SqlDigestSource(sessions, similar=similar),
        room=staff_room,
        schedule=DigestSchedule(
            frequency=settings.digest_frequency,
            weekday=settings.digest_weekday,
            hour=settings.digest_hour,
            timezone=settings.digest_timezone,
        ),
        waiting_longer_than=timedelta(hours=settings.waiting_alert_hours),
        outbox_signal=outbox_signal,
    )


def report_desk(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    outbox_signal: OutboxSignal | None = None,
) -> ReportDesk:
    """The leadership's report, monthly to its Slack channel (the staff channel unless set)."""
    channel = settings.report_slack_channel or settings.slack_staff_channel
    return ReportDesk(
        store=SqlDialogueStore(sessions),
        source=SqlReportSource(sessions),
        room=StaffRoom(platform=SLACK, chat_id=channel)
        if settings.slack_bot_token is not None and channel
        else None,
        schedule=ReportSchedule(
            frequency=settings.report_every,
            day=settings.report_day,
            hour=settings.report_hour,
            timezone=settings.timezone,
        ),
        outbox_signal=outbox_signal or _NobodyToWake(),
    )


def staff_room_of(settings: Settings) -> StaffRoom | None:
    """The staff room the settings name, if Slack and a staff channel are configured."""
    if settings.slack_bot_token is None or settings.slack_staff_channel is None:
        return None
    return StaffRoom(platform=SLACK, chat_id=settings.slack_staff_channel)


async def digest_now(settings: Settings, *, post: bool) -> Digest:
    """``ideabot digest``: the digest since the last scheduled one; queued for Slack if ``post``."""
    async with open_database(settings) as sessions, configured_similarity(settings) as similarity:
        desk = digest_desk(
            settings,
            sessions,
            staff_room_of(settings) if post else None,
            similar=similarity.similar_ideas(settings),
            outbox_signal=_NobodyToWake(),
        )
        digest = await desk.post_now(utc_now(), external_id=f"cli:{uuid.uuid4()}")
        assert digest is not None
        return digest


def _erasures(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> SqlErasures:
    return SqlErasures(
        sessions,
        admins=sorted(settings.slack_admin_user_ids),
        export_every=timedelta(minutes=settings.data_export_every_minutes),
    )


def campaign_desk(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    flows: FlowCatalog,
    *,
    outbox_signal: OutboxSignal | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> CampaignDesk:
    """Invitation campaigns over the database, bound by the installation's respect rules."""
    return CampaignDesk(
        campaigns=SqlCampaigns(sessions),
        flows=flows,
        respect=Respect(
            cap_days=settings.campaign_cap_days,
            quiet_from=time(settings.campaign_quiet_from),
            quiet_until=time(settings.campaign_quiet_until),
            zone=ZoneInfo(settings.timezone),
        ),
        outbox_signal=outbox_signal or _NobodyToWake(),
        clock=clock,
        batch_size=settings.campaign_batch_size,
    )


def privacy_desk(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    outbox_signal: OutboxSignal | None = None,
) -> PrivacyDesk:
    """Find, export and erase customers; the command line has no worker to wake."""
    return PrivacyDesk(
        records=SqlCustomerRecords(sessions),
        erasures=_erasures(settings, sessions),
        outbox_signal=outbox_signal or _NobodyToWake(),
    )


class _NobodyToWake:
    """The command line has no delivery worker; a running ``ideabot run`` finds the rows."""

    def outbox_changed(self) -> None:
        """Nothing to wake here."""


def _command_line_desk(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    similar: SimilarIdeas | None = None,
) -> IdeaDesk:
    return IdeaDesk(
        store=SqlDialogueStore(sessions, similar),
        outbox_signal=_NobodyToWake(),
        labels=load_status_labels(settings),
        staff_room=staff_room_of(settings),
    )


async def change_idea_status(settings: Settings, change: StatusChange) -> ChangeResult:
    """``ideabot ideas status``: the same change as from Slack, queued for ``ideabot run``."""
    async with open_database(settings) as sessions:
        return await _command_line_desk(settings, sessions).change_status(change)


def slack_client(settings: Settings) -> AsyncWebClient:
    """The Slack Web API client for the bot token, at SLACK_API_BASE_URL."""
    assert settings.slack_bot_token is not None
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_base_url,
        timeout=15,
    )


@dataclass(frozen=True, slots=True)
class _Clients:
    """The configured platforms' clients, and the outbound channels built on them."""

    channels: dict[str, Channel]
    bot: Bot | None
    slack: AsyncWebClient | None
    staff_room: StaffRoom | None
    labels: StatusLabels
    files: Files


def _clients(settings: Settings) -> _Clients:
    """Clients, senders, pacers and file sources for Telegram and Slack, as configured."""
    labels = load_status_labels(settings)
    channels: dict[str, Channel] = {}
    files = Files({})
    bot = None
    if settings.telegram_bot_token is not None:
        bot = telegram_bot(settings)
        files.add(TELEGRAM, TelegramFiles(bot))
        pacer = Pacer(
            chat_rate=settings.telegram_chat_rate_per_second,
            chat_burst=settings.telegram_chat_burst,
            global_rate=settings.telegram_global_rate_per_second,
        )
        channels[TELEGRAM] = Channel(sender=TelegramSender(bot, files=files), pacer=pacer)
    slack = None
    staff_room = None
    if settings.slack_bot_token is not None:
        slack = slack_client(settings)
        files.add(
            SLACK,
            SlackFiles(
                token=settings.slack_bot_token.get_secret_value(),
                api_base_url=settings.slack_api_base_url,
            ),
        )
        pacer = Pacer(
            chat_rate=settings.slack_channel_rate_per_second,
            chat_burst=settings.slack_channel_burst,
            global_rate=settings.slack_global_rate_per_second,
        )
        channels[SLACK] = Channel(
            sender=SlackSender(slack, files=files, labels=labels), pacer=pacer
        )
        if settings.slack_staff_channel is not None:
            staff_room = StaffRoom(platform=SLACK, chat_id=settings.slack_staff_channel)
    return _Clients(
        channels=channels, bot=bot, slack=slack, staff_room=staff_room, labels=labels, files=files
    )


async def _check_platforms(settings: Settings, clients: _Clients) -> None:
    """Check the tokens before serving: a rejected one stops here; no network is waited for."""
    if clients.bot is not None:
        try:
            # initialize() calls getMe; polling and the webhook reuse what it learned.
            await until_reachable(
                clients.bot.initialize,
                describe=lambda error: telegram_problem(error, settings.telegram_api_base_url),
            )
        except BaseException:
            with contextlib.suppress(Exception):
                await clients.bot.shutdown()
            raise
    if clients.slack is not None:
        await until_reachable(
            clients.slack.auth_test,
            describe=lambda error: slack_problem(error, settings.slack_api_base_url),
        )


async def serve(settings: Settings) -> None:
    """Run ``ideabot run`` until SIGTERM or SIGINT: HTTP, delivery, every configured platform."""
    if settings.telegram_bot_token is None and settings.slack_bot_token is None:
        raise ConfigurationError(
            "nothing to serve: set TELEGRAM_BOT_TOKEN and/or SLACK_BOT_TOKEN (see .env.example), "
            "or try `ideabot chat` to talk to the bot in this terminal"
        )
    signals = StopSignals()
    # Taken over before the start-up waits for Telegram, Slack or the database, so that a
    # stop then (systemd, Ctrl-C) ends the process cleanly as well.
    signals.install()
    try:
        outcome = await _serve_unless_stopped_first(settings, signals)
    finally:
        signals.remove()
    logger.info("ideabot stopped")
    if outcome is None:
        return
    if outcome.crash is not None:
        raise outcome.crash
    if outcome.abandoned:
        raise StopForced(", ".join(outcome.abandoned))


async def _serve_unless_stopped_first(
    settings: Settings, signals: StopSignals
) -> StopOutcome | None:
    """Start and serve; a stop signal before the services run abandons the start (None)."""
    running = asyncio.Event()
    main = asyncio.create_task(_start_and_supervise(settings, signals, running))
    requested = asyncio.create_task(signals.requested.wait())
    try:
        await asyncio.wait([main, requested], return_when=asyncio.FIRST_COMPLETED)
        if not main.done() and not running.is_set():
            why = signals.first.name if signals.first is not None else "stop signal"
            logger.info("ideabot is stopping (%s) before it started", why)
            # Nothing is under way yet: what is waited for (a platform, the database) is
            # given up, and cancelling runs the cleanup that closes its connections.
            main.cancel()
        await asyncio.wait([main])
    finally:
        requested.cancel()
        main.cancel()
    return None if main.cancelled() else main.result()


async def _start_and_supervise(
    settings: Settings, signals: StopSignals, running: asyncio.Event
) -> StopOutcome:
    """Check the platforms, open the runtime and supervise the services until they stop."""
    clients = _clients(settings)
    await _check_platforms(settings, clients)
    async with open_runtime(
        settings,
        channels=clients.channels,
        staff_room=clients.staff_room,
        labels=clients.labels,
        wait=True,
    ) as runtime:
        # Charts are drawn from the database, which is open from here on; they share one lock,
        # as matplotlib is not made for two threads drawing at once.
        drawing = asyncio.Lock()
        clients.files.add(CHART_PLATFORM, FunnelCharts(runtime.flow_stats, drawing=drawing))
        clients.files.add(
            CAMPAIGN_CHART_PLATFORM, CampaignCharts(runtime.campaigns.figures, drawing=drawing)
        )
        clients.files.add(REPORT_CHART_PLATFORM, ReportCharts(runtime.report, drawing=drawing))
        # Customers' data files likewise: built from the database when they are sent.
        clients.files.add(DATA_EXPORT_PLATFORM, DataExportFiles(runtime.privacy))
        platforms = [
            telegram_platform(settings=settings, runtime=runtime, bot=clients.bot),
            slack_platform(
                settings=settings, runtime=runtime, client=clients.slack, labels=clients.labels
            ),
        ]
        services = [
            *_jobs(settings, runtime=runtime),
            *(service for platform in platforms for service in platform.services),
            _http(settings, metrics=runtime.metrics, platforms=platforms),
        ]
        logger.info(
            "ideabot is running: http://%s:%s; %s",
            settings.host,
            settings.port,
            "; ".join(f"{platform.name}: {platform.mode}" for platform in platforms),
        )
        running.set()
        try:
            outcome = await supervise(
                services, signals=signals, grace_seconds=settings.shutdown_timeout_seconds
            )
        finally:
            if clients.bot is not None:
                with contextlib.suppress(Exception):
                    await clients.bot.shutdown()
            # The Slack client opens a session per call: nothing of it is left to close.
    # Here the database connections are closed too.
    return outcome


def _jobs(settings: Settings, *, runtime: Runtime) -> list[Service]:
    """Delivery and the periodic sweeps: the services every platform shares."""
    return [
        Service(
            "delivery",
            runtime.worker.run,
            stop=runtime.worker.stop,
            under_way=runtime.worker.under_way,
        ),
        _periodic(
            "reminders",
            lambda: runtime.reminders.sweep(utc_now()),
            seconds=settings.reminder_sweep_seconds,
        ),
        # Once a day in one process (a scheduled run): old trials of drafts are deleted.
        _periodic(
            "trials",
            lambda: runtime.trials.sweep(utc_now()),
            seconds=settings.reminder_sweep_seconds,
        ),
        _periodic(
            "digest",
            lambda: runtime.digest.tick(utc_now()),
            seconds=settings.reminder_sweep_seconds,
        ),
        # The month's run is claimed in the database, so every process ticks and one posts.
        _periodic(
            "report",
            lambda: runtime.report.tick(utc_now()),
            seconds=settings.reminder_sweep_seconds,
        ),
        _periodic("flows", runtime.flows.refresh, seconds=settings.flow_refresh_seconds),
        # The sweep claims its day in the database, so ticking often runs it once a day.
        _periodic(
            "retention",
            lambda: runtime.retention.tick(utc_now()),
            seconds=settings.reminder_sweep_seconds,
        ),
        # Every process ticks; the invitations' unique key and a lock keep each sent once.
        _periodic("campaigns", runtime.campaigns.tick, seconds=settings.campaign_tick_seconds),
        # Reads the open ideas at start (not in a customer's turn), then embeds those without
        # a vector of the configured model: after a change of model, or an import.
        _periodic(
            "idea vectors",
            runtime.store.backfill_vectors,
            seconds=settings.embeddings_backfill_seconds,
        ),
    ]


def _http(settings: Settings, *, metrics: Metrics, platforms: list[Platform]) -> Service:
    """The one HTTP server: health, metrics and every platform's routes."""
    app = build_http_app(
        metrics=metrics,
        routes={path: end for platform in platforms for path, end in platform.routes.items()},
        max_body_bytes=settings.http_max_body_bytes,
        body_timeout_seconds=settings.http_body_timeout_seconds,
    )
    server = HttpServer(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            lifespan="off",
            # Over this many connections (or requests under way), uvicorn answers 503 at once.
            limit_concurrency=settings.http_max_connections,
            timeout_graceful_shutdown=max(1, int(settings.shutdown_timeout_seconds)),
        )
    )
    return Service(
        "http",
        server.serve,
        stop=server.stop,
        under_way=lambda: f"{len(server.server_state.tasks)} request(s) under way",
    )


def _periodic(name: str, job: Callable[[], Awaitable[object]], *, seconds: float) -> Service:
    """A service running ``job`` every ``seconds``; a stop ends its wait, never a job under way."""
    stopping = asyncio.Event()
    return Service(
        name,
        lambda: run_every(seconds, job, name=name, stopping=stopping),
        stop=stopping.set,
    )
