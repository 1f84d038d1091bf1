"""The composition root: builds every part from the settings and wires them together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.console import PLATFORM as CONSOLE
from bot.console import ConsoleScreen, run_console
from bot.delivery import Channel, DeliveryWorker
from bot.http_server import build_http_app
from bot.metrics import Metrics
from bot.pacing import Pacer
from bot.settings import Settings
from bot.telegram_channel import TelegramChannel
from bot.telegram_sender import MESSAGE_LIMIT, TelegramSender
from bot.telegram_translate import PLATFORM as TELEGRAM
from handlers.dialogue import Dialogue
from handlers.flow_loader import load_flows
from storage.database import create_engine, create_sessions
from storage.dialogue_store import SqlDialogueStore
from storage.flow_store import SqlFlowCatalog, register_flows
from storage.migrate import migrate
from storage.outbox_store import SqlOutboxStore

logger = logging.getLogger(__name__)


class ConfigurationError(Exception):
    """The settings do not allow what was asked; the message says what to set."""


@dataclass(frozen=True, slots=True)
class Runtime:
    """The parts every command shares, wired and ready."""

    metrics: Metrics
    dialogue: Dialogue
    worker: DeliveryWorker


@contextlib.asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Migrate the database and yield its sessions; the engine is closed afterwards."""
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        yield create_sessions(engine)
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings, *, channels: Mapping[str, Channel]
) -> AsyncIterator[Runtime]:
    """Migrate, load and register the flows, and wire dialogue and delivery together."""
    flows = load_flows(settings.flows_path)
    async with open_database(settings) as sessions:
        await register_flows(sessions, flows)
        catalog = await SqlFlowCatalog.load(
            sessions=sessions, current=flows, default_flow_id=settings.default_flow
        )
        metrics = Metrics.create()
        worker = DeliveryWorker(
            outbox=SqlOutboxStore(sessions),
            channels=channels,
            metrics=metrics,
            lease_seconds=settings.outbox_lease_seconds,
            max_in_flight=settings.outbox_max_in_flight,
            max_attempts=settings.outbox_max_attempts,
            backoff_base_seconds=settings.outbox_backoff_base_seconds,
        )
        dialogue = Dialogue(
            store=SqlDialogueStore(sessions),
            flows=catalog,
            outbox_signal=worker,
            message_limits={TELEGRAM: MESSAGE_LIMIT},
        )
        yield Runtime(metrics=metrics, dialogue=dialogue, worker=worker)


async def chat(settings: Settings) -> None:
    """Run ``ideabot chat``: one customer conversation in this terminal."""
    screen = ConsoleScreen(sys.stdout)
    # A terminal has no rate limit; the pacer is there because every channel has one.
    unpaced = Pacer(chat_rate=1000.0, chat_burst=1000, global_rate=1000.0)
    async with open_runtime(
        settings, channels={CONSOLE: Channel(sender=screen, pacer=unpaced)}
    ) as runtime:
        await run_console(dialogue=runtime.dialogue, worker=runtime.worker, screen=screen)


def _telegram_bot(settings: Settings) -> Bot:
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


async def serve(settings: Settings) -> None:
    """Run ``ideabot run``: the HTTP server, delivery, and every configured platform."""
    if settings.telegram_bot_token is None:
        raise ConfigurationError(
            "nothing to serve: set TELEGRAM_BOT_TOKEN (see .env.example), "
            "or try `ideabot chat` to talk to the bot in this terminal"
        )
    bot = _telegram_bot(settings)
    pacer = Pacer(
        chat_rate=settings.telegram_chat_rate_per_second,
        chat_burst=settings.telegram_chat_burst,
        global_rate=settings.telegram_global_rate_per_second,
    )
    channels = {TELEGRAM: Channel(sender=TelegramSender(bot), pacer=pacer)}
    async with open_runtime(settings, channels=channels) as runtime:
        telegram = TelegramChannel(
            bot=bot,
            dialogue=runtime.dialogue,
            metrics=runtime.metrics,
            poll_timeout_seconds=settings.telegram_poll_timeout_seconds,
        )
        webhook_url = settings.telegram_webhook_url
        secret = settings.telegram_webhook_secret
        webhook = None
        if webhook_url is not None and secret is not None:
            webhook = telegram.webhook_endpoint(secret=secret.get_secret_value())
        app = build_http_app(metrics=runtime.metrics, telegram_webhook=webhook)
        server = uvicorn.Server(
            uvicorn.Config(
                app, host=settings.host, port=settings.port, log_config=None, lifespan="off"
            )
        )
        tasks = [
            asyncio.create_task(server.serve(), name="http"),
            asyncio.create_task(runtime.worker.run(), name="delivery"),
        ]
        if webhook_url is not None and secret is not None:
            await telegram.start_webhook(url=webhook_url, secret=secret.get_secret_value())
        else:
            tasks.append(asyncio.create_task(telegram.poll(), name="telegram-polling"))
        logger.info(
            "ideabot is running: http://%s:%s, Telegram by %s",
            settings.host,
            settings.port,
            "webhook" if settings.telegram_webhook_mode else "long polling",
        )
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await bot.shutdown()
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        logger.info("ideabot stopped")
