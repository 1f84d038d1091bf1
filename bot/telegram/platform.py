"""Telegram's part of ``ideabot run``: long polling or the webhook, and the retried updates."""

from __future__ import annotations

from telegram import Bot

from bot.platform import Platform
from bot.runtime import Runtime
from bot.settings import Settings
from bot.shutdown import Service
from bot.telegram.channel import TelegramChannel

NAME = "Telegram"
WEBHOOK_PATH = "/telegram/webhook"


def telegram_platform(*, settings: Settings, runtime: Runtime, bot: Bot | None) -> Platform:
    """Telegram's services, and its webhook route in webhook mode; off without a bot."""
    if bot is None:
        return Platform.off(NAME)
    telegram = TelegramChannel(
        bot=bot,
        dialogue=runtime.dialogue,
        metrics=runtime.metrics,
        poll_timeout_seconds=settings.telegram_poll_timeout_seconds,
        dead_letters=runtime.dead_letters,
        events=runtime.events,
    )
    retried = Service("telegram-retried-updates", telegram.process_retried, stop=telegram.stop)
    url, secret = settings.telegram_webhook_url, settings.telegram_webhook_secret
    if url is None or secret is None:
        polling = Service("telegram-polling", telegram.poll, stop=telegram.stop)
        return Platform(name=NAME, mode="long polling", services=(retried, polling))
    token = secret.get_secret_value()
    webhook = Service(
        "telegram-webhook",
        lambda: telegram.run_webhook(url=url, secret=token),
        stop=telegram.stop,
    )
    return Platform(
        name=NAME,
        mode="webhook",
        services=(retried, webhook),
        routes={WEBHOOK_PATH: telegram.webhook_endpoint(secret=token)},
    )
