"""Telegram's way in: long polling that confirms an update only once it is stored, or a webhook."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from telegram import Bot, Update
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.metrics import Metrics
from bot.telegram_sender import retry_after_seconds
from bot.telegram_translate import PLATFORM, to_incoming_message
from handlers.dialogue import Dialogue
from handlers.texts import COMMANDS, FALLBACK_LANGUAGE
from storage.database import is_database_outage

logger = logging.getLogger(__name__)

T = TypeVar("T")

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# An update that keeps failing is skipped after this many tries, so one bad update
# cannot stop every customer's messages behind it.
MAX_TRIES_PER_UPDATE = 5
RETRY_CAP_SECONDS = 2.0


class TelegramChannel:
    """Feeds Telegram updates to the dialogue, one chat in order, chats side by side."""

    def __init__(
        self, *, bot: Bot, dialogue: Dialogue, metrics: Metrics, poll_timeout_seconds: int
    ) -> None:
        self._bot = bot
        self._dialogue = dialogue
        self._metrics = metrics
        self._poll_timeout = poll_timeout_seconds
        self._tries: dict[int, int] = {}
        self._failed_batches = 0
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Fetch no more updates; ``poll`` returns once the batch under way is handled."""
        self._stopping.set()

    async def handle_update(self, update: Update) -> None:
        """Translate one update, hand it to the dialogue, then stop a pressed button's spinner."""
        incoming = to_incoming_message(update)
        if incoming is None:
            return
        handled = await self._dialogue.handle(incoming)
        counter = self._metrics.messages_received if handled else self._metrics.duplicates_skipped
        counter.labels(PLATFORM).inc()
        if update.callback_query is not None:
            try:
                await update.callback_query.answer()
            except TelegramError as error:
                # Only the spinner on the button depends on this; the answer is already stored.
                logger.debug("could not answer callback query: %s", error)

    async def start_webhook(self, *, url: str, secret: str) -> None:
        """Tell Telegram where to push updates, with the secret it must send back."""
        await self._bot.initialize()
        await self._publish_commands()
        await self._bot.set_webhook(url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        logger.info("Telegram webhook registered (%s)", url)

    async def run_webhook(self, *, url: str, secret: str) -> None:
        """Register the webhook, then wait until stopped: the HTTP server receives the updates."""
        await self.start_webhook(url=url, secret=secret)
        await self._stopping.wait()

    async def _publish_commands(self) -> None:
        """Fill the chat's command menu, in each language ideabot speaks."""
        try:
            await self._bot.set_my_commands(COMMANDS[FALLBACK_LANGUAGE])
            for language in self._dialogue.languages:
                await self._bot.set_my_commands(COMMANDS[language], language_code=language)
        except TelegramError as error:
            # The menu is a convenience; typed commands work without it.
            logger.warning("could not publish the command menu: %s", error)

    async def poll(self) -> None:
        """Long-poll until stopped; an update is confirmed only after it has been handled."""
        await self._bot.initialize()
        await self._publish_commands()
        await self._bot.delete_webhook(drop_pending_updates=False)
        logger.info("polling Telegram for updates as @%s", self._bot.username)
        offset: int | None = None
        failures_in_a_row = 0
        while not self._stopping.is_set():
            try:
                updates = await self._unless_stopped(
                    self._bot.get_updates(
                        offset=offset,
                        timeout=self._poll_timeout,
                        allowed_updates=ALLOWED_UPDATES,
                    )
                )
            except RetryAfter as error:
                await self._unless_stopped(asyncio.sleep(retry_after_seconds(error)))
                continue
            except InvalidToken:
                raise
            except (NetworkError, TelegramError) as error:
                failures_in_a_row += 1
                delay = min(30.0, 0.5 * 2**failures_in_a_row)
                logger.warning("getUpdates failed (%s); trying again in %.1f s", error, delay)
                await self._unless_stopped(asyncio.sleep(delay))
                continue
            failures_in_a_row = 0
            if updates:
                offset = await self._handle_batch(updates)

    async def _unless_stopped(self, work: Awaitable[T]) -> T | None:
        """``work``'s result; None, with ``work`` dropped, once a stop has come.

        A getUpdates dropped this way confirms nothing: Telegram hands its updates out again.
        """
        task = asyncio.ensure_future(work)
        stopped = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait([task, stopped], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not task.done() or self._stopping.is_set():
                task.cancel()
        if not self._stopping.is_set():
            return task.result()
        with contextlib.suppress(asyncio.CancelledError, TelegramError):
            await task
        return None

    async def _handle_batch(self, updates: Sequence[Update]) -> int:
        """Handle a batch; the offset to confirm: past the batch, or at the first failure."""
        by_chat: dict[str, list[Update]] = defaultdict(list)
        for update in updates:
            chat = update.effective_chat
            by_chat[str(chat.id) if chat is not None else f"update-{update.update_id}"].append(
                update
            )
        failed: list[int] = []

        async def handle_chat(chat_updates: list[Update]) -> None:
            for index, update in enumerate(chat_updates):
                if not await self._handle_safely(update):
                    # Later updates of this chat must wait for this one, to keep their order.
                    failed.extend(later.update_id for later in chat_updates[index:])
                    return

        await asyncio.gather(*(handle_chat(chat_updates) for chat_updates in by_chat.values()))
        if failed:
            self._failed_batches += 1
            await asyncio.sleep(min(RETRY_CAP_SECONDS, 0.25 * 2**self._failed_batches))
            return min(failed)
        self._failed_batches = 0
        return max(update.update_id for update in updates) + 1

    async def _handle_safely(self, update: Update) -> bool:
        try:
            await self.handle_update(update)
        except Exception as error:
            self._metrics.handling_failures.labels(PLATFORM).inc()
            if is_database_outage(error):
                # Not the update's fault: keep it, however long the outage lasts.
                logger.error(
                    "database unavailable while handling Telegram update %s (%s); will retry",
                    update.update_id,
                    type(error).__name__,
                )
                return False
            tries = self._tries.get(update.update_id, 0) + 1
            if tries >= MAX_TRIES_PER_UPDATE:
                self._tries.pop(update.update_id, None)
                logger.exception(
                    "gave up on Telegram update %s after %s tries", update.update_id, tries
                )
                return True
            self._tries[update.update_id] = tries
            logger.exception("handling Telegram update %s failed (try %s)", update.update_id, tries)
            return False
        self._tries.pop(update.update_id, None)
        return True

    def webhook_endpoint(self, *, secret: str) -> Callable[[Request], Awaitable[Response]]:
        """The request handler for POST /telegram/webhook."""
        return WebhookEndpoint(channel=self, bot=self._bot, secret=secret).handle


class WebhookEndpoint:
    """Checks the secret header in constant time, then handles the update before answering."""

    def __init__(self, *, channel: TelegramChannel, bot: Bot, secret: str) -> None:
        self._channel = channel
        self._bot = bot
        self._secret = secret.encode()

    async def handle(self, request: Request) -> Response:
        """Answer one webhook request: 403 without the secret, 500 to have it delivered again."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            return JSONResponse({"error": "forbidden"}, status_code=403)
        try:
            data = await request.json()
            # PTB takes any update_id; ours must be a number, as it is named in our logs.
            if not isinstance(data, dict) or type(data.get("update_id")) is not int:
                raise TypeError("not an update")
            update = Update.de_json(data, self._bot)
        except (ValueError, KeyError, TypeError, AttributeError):
            # Never the body or the error's text in the log: either may carry anyone's words.
            logger.warning("ignored a Telegram webhook request that is not an update")
            return JSONResponse({"error": "not an update"}, status_code=400)
        try:
            await self._channel.handle_update(update)
        except Exception:
            logger.exception("handling Telegram update %s failed", update.update_id)
            # Telegram delivers the update again later; the inbox keeps that from acting twice.
            return JSONResponse({"error": "try again"}, status_code=500)
        return JSONResponse({"ok": True})
