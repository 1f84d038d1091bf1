"""Telegram's way in: long polling that confirms an update only once it is stored, or a webhook."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import warnings
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from telegram import Bot, Update
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBUserWarning

from bot.backoff import doubled
from bot.http.json_body import read_json, why_unread
from bot.metrics import Metrics
from bot.telegram.sender import retry_after_seconds
from bot.telegram.translate import PLATFORM, to_incoming_message
from bot.telegram.updates import RawUpdate, error_kind, read_update
from handlers.dialogue.dialogue import Dialogue
from handlers.texts import COMMANDS, FALLBACK_LANGUAGE
from storage.database import is_database_outage
from storage.dead_letters import SqlDeadLetters
from storage.event_queue import SqlEventQueue, StoredEvent

logger = logging.getLogger(__name__)

T = TypeVar("T")

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# An update that keeps failing goes to the dead letters after this many tries, so one bad
# update cannot stop every customer's messages behind it.
MAX_TRIES_PER_UPDATE = 5
RETRY_CAP_SECONDS = 2.0
# How often a process looks for dead letters that `ideabot deadletters retry` sent back.
RETRIED_POLL_SECONDS = 2.0
RETRIED_LEASE_SECONDS = 60.0
# The getUpdates that confirms the last batch at a stop may take this long; a stop waits no
# longer for a Telegram it cannot reach.
CONFIRM_AT_STOP_SECONDS = 2.0
# PTB warns that get_updates exists; ideabot asks for the raw updates on purpose, so that one
# unreadable update is put aside instead of failing the whole batch (see _fetch_updates).
_RAW_GET_UPDATES_WARNING = r"Please use 'Bot\.getUpdates'"


class TelegramChannel:
    """Feeds Telegram updates to the dialogue, one chat in order, chats side by side."""

    def __init__(
        self,
        *,
        bot: Bot,
        dialogue: Dialogue,
        metrics: Metrics,
        poll_timeout_seconds: int,
        dead_letters: SqlDeadLetters,
        events: SqlEventQueue,
    ) -> None:
        self._bot = bot
        self._dialogue = dialogue
        self._metrics = metrics
        self._poll_timeout = poll_timeout_seconds
        self._dead_letters = dead_letters
        self._events = events
        self._tries: dict[str, int] = {}
        self._failed_batches = 0
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Fetch no more updates; ``poll`` returns once the batch under way is handled."""
        self._stopping.set()

    def _username(self) -> str | None:
        """Our bot's username, known once ``initialize`` has asked Telegram (None before)."""
        try:
            return self._bot.username
        except RuntimeError:
            # PTB raises until getMe has answered; `ideabot run` asks before any update.
            return None

    async def handle_update(self, update: Update, *, key: str) -> None:
        """Translate one update, hand it to the dialogue, then stop a pressed button's spinner.

        ``key`` is the update's id for the inbox (``bot.telegram.updates.external_id``).
        """
        incoming = to_incoming_message(update, external_id=key, bot_username=self._username())
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
                raw = await self._unless_stopped(self._fetch_updates(offset))
            except RetryAfter as error:
                await self._unless_stopped(asyncio.sleep(retry_after_seconds(error)))
                continue
            except InvalidToken:
                raise
            except (NetworkError, TelegramError) as error:
                failures_in_a_row += 1
                delay = doubled(failures_in_a_row, base=0.5, cap=30.0)
                logger.warning("getUpdates failed (%s); trying again in %.1f s", error, delay)
                await self._unless_stopped(asyncio.sleep(delay))
                continue
            if raw is None:
                break  # stopped while polling: nothing of that poll is confirmed
            failures_in_a_row = 0
            updates = [read_update(data, self._bot) for data in raw]
            if updates:
                offset = await self._handle_batch(updates, offset)
        if offset is not None:
            await self._confirm_handled(offset)

    async def _confirm_handled(self, offset: int) -> None:
        """Tell Telegram, at a stop, that the updates below ``offset`` are handled.

        Otherwise it sends the last batch again after the restart. An update this call
        returns is at or past ``offset``: it stays unconfirmed and comes again after the restart.
        """
        asked = {"offset": offset, "timeout": 0, "limit": 1, "allowed_updates": ALLOWED_UPDATES}
        try:
            async with asyncio.timeout(CONFIRM_AT_STOP_SECONDS):
                await self._get_updates(asked)
        except (TimeoutError, TelegramError) as error:
            logger.warning(
                "could not confirm the handled Telegram updates at the stop (%s); Telegram sends "
                "the last of them again, and the inbox skips them",
                type(error).__name__,
            )
            return
        logger.info("confirmed the handled Telegram updates (up to %s)", offset - 1)

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

    async def _fetch_updates(self, offset: int | None) -> list[Any]:
        """The next updates as raw dicts: ``get_updates`` would fail the batch for one bad one."""
        asked: dict[str, Any] = {"timeout": self._poll_timeout, "allowed_updates": ALLOWED_UPDATES}
        if offset is not None:
            asked["offset"] = offset
        result = await self._get_updates(asked)
        if not isinstance(result, list):
            raise TelegramError("getUpdates did not answer with a list")
        return result

    async def _get_updates(self, asked: dict[str, Any]) -> Any:
        """Call getUpdates with ``asked`` and return its raw result."""
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=_RAW_GET_UPDATES_WARNING, category=PTBUserWarning
            )
            # "getUpdates" goes through the bot's getUpdates request, with its long read timeout.
            return await self._bot.do_api_request("getUpdates", api_kwargs=asked, return_type=None)

    async def _handle_batch(self, updates: list[RawUpdate], offset: int | None) -> int | None:
        """Handle a batch; the offset to confirm: past the batch, or at the first failure."""
        by_chat: dict[str, list[RawUpdate]] = defaultdict(list)
        for update in updates:
            by_chat[update.chat].append(update)
        failed: list[int] = []

        async def handle_chat(chat_updates: list[RawUpdate]) -> None:
            for index, update in enumerate(chat_updates):
                if not await self._handle_safely(update):
                    # Later updates of this chat must wait for this one, to keep their order.
                    failed.extend(later.update_id for later in chat_updates[index:])
                    return

        await asyncio.gather(*(handle_chat(chat_updates) for chat_updates in by_chat.values()))
        if failed:
            self._failed_batches += 1
            await asyncio.sleep(doubled(self._failed_batches, base=0.25, cap=RETRY_CAP_SECONDS))
            known = [update_id for update_id in failed if update_id >= 0]
            return min(known) if known else offset
        self._failed_batches = 0
        known = [update.update_id for update in updates if update.update_id >= 0]
        return max(known) + 1 if known else offset

    async def _handle_safely(self, raw: RawUpdate, *, pushed: bool = False) -> bool:
        """Handle one update; False if it must be tried again (polled: the offset stays)."""
        if raw.update is None:
            return await self._put_aside(raw, raw.problem)
        try:
            await self.handle_update(raw.update, key=raw.key)
        except Exception as error:
            self._metrics.handling_failures.labels(PLATFORM).inc()
            if is_database_outage(error):
                # Not the update's fault: keep it, however long the outage lasts.
                logger.error(
                    "handling Telegram update %s failed (%s); Telegram sends it again"
                    if pushed
                    else "database unavailable while handling Telegram update %s (%s); will retry",
                    raw.update_id,
                    type(error).__name__,
                )
                return False
            tries = self._tries.get(raw.key, 0) + 1
            logger.error(
                "handling Telegram update %s failed (try %s): %s",
                raw.update_id,
                tries,
                type(error).__name__,
                exc_info=True,
            )
            if tries < MAX_TRIES_PER_UPDATE:
                self._tries[raw.key] = tries
                return False
            self._tries.pop(raw.key, None)
            return await self._put_aside(
                raw, f"handling failed {tries} times: {type(error).__name__}"
            )
        self._tries.pop(raw.key, None)
        return True

    async def _put_aside(self, raw: RawUpdate, reason: str) -> bool:
        """Store ``raw`` as a dead letter; False if even that failed (then it is tried again)."""
        try:
            await self._dead_letters.put(
                platform=PLATFORM,
                external_id=raw.key,
                ordering_key=raw.chat,
                reason=reason,
                payload=raw.data,
            )
        except Exception as error:
            logger.error(
                "could not put Telegram update %s aside (%s); will retry",
                raw.update_id,
                type(error).__name__,
            )
            return False
        logger.warning(
            "Telegram update %s is in the dead letters (%s); `ideabot deadletters` shows it",
            raw.update_id,
            reason,
        )
        return True

    async def process_retried(self) -> None:
        """Handle dead letters sent back by `ideabot deadletters retry`, until stopped."""
        while not self._stopping.is_set():
            try:
                events = await self._events.claim_due(
                    platform=PLATFORM, limit=8, lease_seconds=RETRIED_LEASE_SECONDS
                )
            except Exception as error:
                logger.error("cannot look for retried Telegram updates (%s)", type(error).__name__)
                events = []
            for event in events:
                await self._handle_retried(event)
            if not events:
                await self._unless_stopped(asyncio.sleep(RETRIED_POLL_SECONDS))

    async def _handle_retried(self, event: StoredEvent) -> None:
        raw = read_update(event.payload, self._bot)
        try:
            if raw.update is None:
                await self._events.fail(event, error=raw.problem)
                return
            await self.handle_update(raw.update, key=raw.key)
        except Exception as error:
            if is_database_outage(error):
                return  # the lease runs out and the update is tried again
            # The stored event's row, not its external id: that names the chat.
            logger.error("retried Telegram event %s failed again: %s", event.id, error_kind(error))
            # The dead letters keep it again, with the new reason.
            await _quietly(self._events.fail(event, error=f"retry failed: {type(error).__name__}"))
            return
        await _quietly(self._events.done(event))

    def webhook_endpoint(self, *, secret: str) -> Callable[[Request], Awaitable[Response]]:
        """The request handler for POST /telegram/webhook."""
        return WebhookEndpoint(channel=self, bot=self._bot, secret=secret).handle

    async def handle_webhook_update(self, data: dict[str, Any]) -> bool:
        """Handle a pushed update; False if Telegram should send it again (answer 500)."""
        return await self._handle_safely(read_update(data, self._bot), pushed=True)


async def _quietly(work: Awaitable[None]) -> None:
    """Do ``work``; if the database fails meanwhile, the lease runs out and it is done again."""
    try:
        await work
    except Exception as error:
        logger.error("could not record a retried Telegram update (%s)", type(error).__name__)


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
            data = read_json(await request.body())
        except ValueError as error:
            logger.warning("ignored a Telegram webhook request: %s", why_unread(error))
            return JSONResponse({"error": "not an update"}, status_code=400)
        # PTB takes any update_id; ours must be a number, as it is named in our logs.
        if not isinstance(data, dict) or type(data.get("update_id")) is not int:
            logger.warning("ignored a Telegram webhook request that is not an update")
            return JSONResponse({"error": "not an update"}, status_code=400)
        # An unreadable update is put aside and answered 200, so Telegram does not send it for
        # ever; one that failed for a passing reason gets 500 and comes again (the inbox keeps
        # that from acting twice).
        if await self._channel.handle_webhook_update(data):
            return JSONResponse({"ok": True})
        return JSONResponse({"error": "try again"}, status_code=500)
