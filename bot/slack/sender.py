"""Sends outbox items through the Slack Web API, and sorts its errors for the delivery worker."""

from __future__ import annotations

from typing import Any, assert_never

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery.files import Files
from bot.delivery.text_limits import utf16_units
from bot.delivery.worker import PermanentDeliveryError, RetryLater, TransientDeliveryError
from bot.digest_format import digest_text
from bot.slack.format import card_blocks, escape, question_blocks, with_app_command
from handlers.ideas.status import StatusLabels
from handlers.messages import Attachment, Button, TextLimit
from handlers.staff.room import StaffCard
from storage.outbox.deliveries import (
    AddReaction,
    DeleteSlackFile,
    DeleteSlackMessage,
    ErasureStep,
    FarewellThenErase,
    InThread,
    MarkButtonsUsed,
    NotifyStaffMember,
    PostErasureReport,
    PostInThread,
    PostRoomDigest,
    PostStaffCard,
    PostToRoom,
    RewriteRoomDigest,
    RewriteSlackMessage,
    SendDataExport,
    SendMessage,
    ThreadDelivery,
    UpdateStaffCard,
)
from storage.outbox.store import OutboxItem

PLATFORM = "slack"
# A bot message's section text; longer messages are split by the dialogue before this.
MESSAGE_LIMIT = 3000


def shown_length(text: str) -> int:
    """How long ``text`` is once escaped for Slack, which is what Slack's limit applies to."""
    # Slack does not say how it counts; UTF-16 units are never fewer than characters, so a
    # part that fits in them fits however Slack counts characters.
    return utf16_units(escape(text))


TEXT_LIMIT = TextLimit(MESSAGE_LIMIT, measure=shown_length)
CUSTOMER_ICON = ":speech_balloon:"
# What Slack answers for a message or file that is already gone: the step is done.
_ALREADY_GONE = {"message_not_found", "file_not_found", "file_deleted"}

# Errors that no retry can fix: the channel, the token or the app's rights are gone.
_PERMANENT = {
    "channel_not_found": "the channel does not exist or the app cannot see it",
    "is_archived": "the channel is archived",
    "not_in_channel": "the app is not in the channel (invite it with /invite @ideabot)",
    "invalid_auth": "the bot token is not valid",
    "token_revoked": "the bot token was revoked",
    "token_expired": "the bot token expired",
    "account_inactive": "the bot's account is deactivated",
    "not_authed": "no bot token was sent",
    "missing_scope": "the app lacks a scope it needs (see docs/slack-app-manifest.yaml)",
    "restricted_action": "the workspace does not allow the app to post there",
    "user_not_found": "the Slack user does not exist",
    "cannot_dm_bot": "that user is a bot",
    "user_disabled": "the customer's Slack account is deactivated",
}
# Of those, the ones that mean a customer's direct-message chat cannot be reached any more.
_CUSTOMER_GONE = {"channel_not_found", "is_archived", "user_not_found", "user_disabled"}


class SlackSender:
    """Carries out customer messages, staff cards, thread posts, notices and reactions."""

    def __init__(
        self, client: AsyncWebClient, *, files: Files, labels: StatusLabels | None = None
    ) -> None:
        self._client = client
        self._files = files
        self._labels = labels or StatusLabels.default()

    async def deliver(self, item: OutboxItem) -> str:
        """Make the Web API call; the Slack message ``ts`` on success."""
        try:
            return await self._call(item)
        except SlackApiError as error:
            raise _sorted(item, error) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise TransientDeliveryError(f"Slack unreachable: {type(error).__name__}") from error
        except SlackRequestError as error:
            # files_upload_v2's own upload step failed (not a Web API error).
            raise TransientDeliveryError("Slack file upload failed") from error

    async def _call(self, item: OutboxItem) -> str:
        channel = item.chat_id
        match item.delivery:
            case SendMessage(attachments=(attachment, *_)):
                return await self._upload(channel, None, attachment)
            case SendMessage(text=text, buttons=buttons):
                text = with_app_command(text)
                response = await self._client.chat_postMessage(
                    channel=channel,
                    text=escape(text),
                    blocks=question_blocks(text, _choices(buttons)),
                    unfurl_links=False,
                    unfurl_media=False,
                )
                return str(response["ts"])
            case MarkButtonsUsed(message_id=message_id, text=text):
                text = with_app_command(text)
                await self._client.chat_update(
                    channel=channel,
                    ts=message_id,
                    text=escape(text or "✔"),
                    blocks=question_blocks(text or "✔", []),
                )
                return message_id
            case PostRoomDigest(digest=digest):
                response = await self._client.chat_postMessage(
                    channel=channel,
                    text=digest_text(digest, self._labels, escape=escape, bold="*"),
                    unfurl_links=False,
                    unfurl_media=False,
                )
                return str(response["ts"])
            case PostToRoom(attachment=attachment):
                return await self._upload(channel, None, attachment)
            case PostStaffCard(card=card):
                return await self._post_card(channel, card)
            case InThread():
                return await self._in_thread(channel, item.thread_ref, item.delivery)
            case (
                DeleteSlackMessage()
                | RewriteSlackMessage()
                | RewriteRoomDigest()
                | DeleteSlackFile()
                | PostErasureReport()
            ):
                return await self._erasure_step(channel, item.delivery)
            case SendDataExport() | FarewellThenErase():
                # PrivacyRequestSender turns these into plain sends around this sender.
                raise PermanentDeliveryError(f"'{item.delivery.action}' needs the privacy sender")
            case _:
                assert_never(item.delivery)

    async def _erasure_step(self, channel: str, step: ErasureStep) -> str:
        """Carry out one remote step of an erasure; what is already gone counts as done."""
        try:
            match step:
                case DeleteSlackMessage(message_ref=ref):
                    await self._client.chat_delete(channel=channel, ts=ref)
                    return ref
                case RewriteSlackMessage(message_ref=ref, text=text):
                    await self._client.chat_update(channel=channel, ts=ref, text=text, blocks=[])
                    return ref
                case RewriteRoomDigest(message_ref=ref, digest=digest):
                    shown = digest_text(digest, self._labels, escape=escape, bold="*")
                    await self._client.chat_update(channel=channel, ts=ref, text=shown, blocks=[])
                    return ref
                case DeleteSlackFile(file_id=file_id):
                    await self._client.files_delete(file=file_id)
                    return file_id
                case PostErasureReport(text=text, thread_ref=thread_ref):
                    extra: dict[str, Any] = {"thread_ts": thread_ref} if thread_ref else {}
                    response = await self._client.chat_postMessage(
                        channel=channel, text=text, unfurl_links=False, **extra
                    )
                    return str(response["ts"])
                case _:
                    assert_never(step)
        except SlackApiError as error:
            if error.response.get("error") in _ALREADY_GONE:
                return ""
            raise

    async def _post_card(self, channel: str, card: StaffCard) -> str:
        fallback, blocks = card_blocks(card, self._labels)
        response = await self._client.chat_postMessage(
            channel=channel, text=fallback, blocks=blocks, unfurl_links=False
        )
        return str(response["ts"])

    async def _in_thread(
        self,
        channel: str,
        thread_ref: str | None,
        delivery: ThreadDelivery,
    ) -> str:
        if not thread_ref:
            raise PermanentDeliveryError(
                f"conversation {delivery.conversation_id} has no staff thread "
                "(its card was never posted)"
            )
        match delivery:
            case UpdateStaffCard(card=card):
                fallback, blocks = card_blocks(card, self._labels)
                await self._client.chat_update(
                    channel=channel, ts=thread_ref, text=fallback, blocks=blocks
                )
                return thread_ref
            case PostInThread():
                return await self._post_in_thread(channel, thread_ref, delivery)
            case NotifyStaffMember(user_id=user_id, text=text):
                response = await self._client.chat_postEphemeral(
                    channel=channel, user=user_id, text=text, thread_ts=thread_ref
                )
                return str(response.get("message_ts", ""))
            case AddReaction(message_ref=message_ref, name=name):
                try:
                    await self._client.reactions_add(
                        channel=channel, timestamp=message_ref, name=name
                    )
                except SlackApiError as error:
                    # A retried reaction that landed the first time.
                    if error.response.get("error") != "already_reacted":
                        raise
                return message_ref
            case _:
                assert_never(delivery)

    async def _upload(self, channel: str, thread_ref: str | None, attachment: Attachment) -> str:
        fetched = await self._files.fetch(attachment)
        extra: dict[str, Any] = {"thread_ts": thread_ref} if thread_ref else {}
        if fetched.figures:
            # A code block keeps the table's columns; the figures are for who reads, not looks.
            extra["initial_comment"] = f"```{escape(fetched.figures)}```"
        response = await self._client.files_upload_v2(
            channel=channel, file=fetched.data, filename=fetched.name, title=fetched.name, **extra
        )
        return str((response.get("file") or {}).get("id", ""))

    async def _post_in_thread(self, channel: str, thread_ref: str, post: PostInThread) -> str:
        if post.attachments:
            return await self._upload(channel, thread_ref, post.attachments[0])
        words = escape(post.text)
        extra: dict[str, Any] = {}
        if post.author:
            # Shown under the customer's name (needs the chat:write.customize scope).
            extra = {"username": post.author[:80], "icon_emoji": CUSTOMER_ICON}
        response = await self._client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ref,
            text=words or "(empty message)",
            unfurl_links=False,
            unfurl_media=False,
            **extra,
        )
        return str(response["ts"])


def _choices(buttons: tuple[Button, ...]) -> list[dict[str, str]]:
    return [{"label": button.label, "payload": button.payload} for button in buttons]


def _sorted(item: OutboxItem, error: SlackApiError) -> Exception:
    """The delivery error a Slack API error amounts to."""
    response = error.response
    status = response.status_code
    code = str(response.get("error", "")) if isinstance(response.data, dict) else ""
    if status == 429 or code == "ratelimited":
        retry_after = response.headers.get("Retry-After") or response.headers.get("retry-after")
        return RetryLater(float(retry_after) if retry_after else 1.0)
    if status >= 500 or code in ("internal_error", "fatal_error", "service_unavailable"):
        return TransientDeliveryError(f"Slack answered {status} {code}".strip())
    reason = _PERMANENT.get(code, f"Slack refused the request: {code or status}")
    is_customer_chat = isinstance(item.delivery, SendMessage | MarkButtonsUsed)
    return PermanentDeliveryError(
        reason, recipient_unreachable=is_customer_chat and code in _CUSTOMER_GONE
    )
