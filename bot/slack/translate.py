"""Turns Slack payloads into the core's values: a customer message, a staff message, a click."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.slack.commands import (
    IDEAS_COMMAND,
    AskDigest,
    Merge,
    SetStatus,
    Tagging,
    parse_ideas_command,
)
from bot.slack.format import CARD_ACTION_PREFIX, CUSTOMER_ACTION_PREFIX, STATUS_ACTION
from bot.slack.staff_access import Role
from handlers.dialogue.text_repair import repair_json
from handlers.ideas.digest import DigestRequest
from handlers.ideas.status import IdeaStatus, MergeChange, StatusChange, StatusLabels, TagChange
from handlers.messages import Attachment, AttachmentKind, ConversationKey, IncomingMessage
from handlers.staff.room import CardAction, CardActionKind, StaffDirectMessage, StaffMessage

logger = logging.getLogger(__name__)

PLATFORM = "slack"
SLASH_COMMAND = "/ideabot"
# Subtypes that are a person's words (with files, or also sent to the channel).
_SPOKEN = {None, "file_share", "thread_broadcast"}
_LINK = re.compile(r"<([^<>|]+)\|([^<>]+)>")
_BARE = re.compile(r"<([^<>]+)>")


@dataclass(frozen=True, slots=True)
class SlackUser:
    """What ideabot needs to know of a Slack user."""

    id: str
    name: str
    locale: str
    team_id: str
    is_bot: bool


UserLookup = Callable[[str], Awaitable[SlackUser]]


class RoleLookup(Protocol):
    """The one access rule (``StaffAccess.role_of``): a Slack person's role, by id and team."""

    async def __call__(self, *, user_id: str, team_id: str) -> Role: ...


Translated = (
    IncomingMessage
    | StaffMessage
    | CardAction
    | StaffDirectMessage
    | StatusChange
    | TagChange
    | DigestRequest
    | MergeChange
    | None
)


@dataclass(frozen=True, slots=True)
class Workspace:
    """Who we are in Slack and where staff work."""

    team_id: str
    bot_user_id: str
    staff_channel: str | None
    admin_user_ids: frozenset[str]


def event_identity(body: dict[str, Any]) -> tuple[str, str] | None:
    """The (external id, ordering key) a payload is stored under; None if ideabot ignores it."""
    if body.get("type") == "event_callback":
        event = body.get("event") or {}
        if event.get("type") != "message":
            return None
        inner = event.get("message") or event.get("previous_message") or {}
        thread = event.get("thread_ts") or inner.get("thread_ts") or ""
        return str(body["event_id"]), f"{event.get('channel', '')}:{thread}"
    if body.get("type") == "block_actions":
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id", ""
        )
        return f"action:{body['trigger_id']}", str(channel)
    if body.get("command"):
        return f"command:{body['trigger_id']}", str(body.get("channel_id", ""))
    return None


def slack_to_plain(text: str) -> str:
    """Slack's markup as a person reads it: links as ``label (url)``, entities decoded."""
    text = _LINK.sub(lambda match: f"{match.group(2)} ({match.group(1)})", text)

    def bare(match: re.Match[str]) -> str:
        inner = match.group(1)
        if inner.startswith("!"):
            return "@" + inner[1:].split("^")[0]
        if inner.startswith(("@", "#")):
            return inner[0] + inner[1:]
        return inner

    text = _BARE.sub(bare, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _files(message: dict[str, Any]) -> tuple[Attachment, ...]:
    found = []
    for file in message.get("files") or []:
        mime = str(file.get("mimetype", ""))
        found.append(
            Attachment(
                kind=AttachmentKind.PHOTO if mime.startswith("image/") else AttachmentKind.DOCUMENT,
                platform=PLATFORM,
                file_id=str(file.get("id", "")),
                file_name=str(file.get("name", "")),
                mime_type=mime,
                size_bytes=file.get("size"),
                details={
                    "url_private": file.get("url_private_download") or file.get("url_private")
                },
            )
        )
    return tuple(found)


class SlackTranslator:
    """Decides what a Slack payload is to ideabot, looking people up as needed."""

    def __init__(
        self,
        *,
        workspace: Workspace,
        users: UserLookup,
        roles: RoleLookup,
        labels: StatusLabels | None = None,
    ) -> None:
        self._workspace = workspace
        self._users = users
        self._roles = roles
        self._labels = labels or StatusLabels.default()

    async def translate(self, body: dict[str, Any]) -> Translated:
        """The core's value for this payload, or None when nothing should happen."""
        # Every string a customer or Slack wrote is made storable once, here, for all paths.
        body = repair_json(body)
        if body.get("type") == "event_callback":
            return await self._message_event(str(body["event_id"]), body.get("event") or {})
        if body.get("type") == "block_actions":
            return await self._button(body)
        if body.get("command") == SLASH_COMMAND:
            return await self._command(body)
        if body.get("command") == IDEAS_COMMAND:
            return await self._ideas_command(body)
        return None

    async def _is_staff(self, *, user_id: str, team_id: str, surface: str) -> bool:
        """The one access rule; a refusal is logged with who and where, never with words."""
        if self._workspace.staff_channel is None:
            return False  # no staff room: nothing staff do could be shown anywhere
        if await self._roles(user_id=user_id, team_id=team_id) is Role.CUSTOMER:
            logger.info("refused Slack user %s at %s: not staff", user_id, surface)
            return False
        return True

    async def _ideas_command(self, body: dict[str, Any]) -> Translated:
        user_id = str(body.get("user_id", ""))
        team_id = str(body.get("team_id", ""))
        if not await self._is_staff(user_id=user_id, team_id=team_id, surface=IDEAS_COMMAND):
            return None
        command = parse_ideas_command(str(body.get("text", "")), self._labels)
        if isinstance(command, AskDigest):
            return DigestRequest(external_id=f"command:{body['trigger_id']}")
        if isinstance(command, Merge):
            user = await self._users(user_id)
            return MergeChange(
                external_id=f"command:{body['trigger_id']}",
                duplicate_id=command.duplicate_id,
                original_id=command.original_id,
                changed_by=user.name,
                undo=command.original_id is None,
            )
        if isinstance(command, Tagging):
            user = await self._users(user_id)
            return TagChange(
                external_id=f"command:{body['trigger_id']}",
                idea_id=command.idea_id,
                changed_by=user.name,
                add=command.add,
                remove=command.remove,
            )
        if not isinstance(command, SetStatus):
            return None
        user = await self._users(user_id)
        return StatusChange(
            external_id=f"command:{body['trigger_id']}",
            idea_id=command.idea_id,
            status=command.status,
            changed_by=user.name,
            message=command.message,
        )

    def _foreign(self, message: dict[str, Any]) -> bool:
        """Posted by a bot, or by a person of another workspace (a shared channel)."""
        if message.get("bot_id") or message.get("subtype") == "bot_message":
            return True
        if not message.get("user") or message.get("user") == self._workspace.bot_user_id:
            return True
        teams = {message.get(key) for key in ("user_team", "team", "source_team")} - {None}
        return any(team != self._workspace.team_id for team in teams)

    async def _message_event(self, event_id: str, event: dict[str, Any]) -> Translated:
        channel = str(event.get("channel", ""))
        subtype = event.get("subtype")
        if channel and channel == self._workspace.staff_channel:
            return await self._staff_event(event_id, event)
        if event.get("channel_type") != "im":
            return None
        edited = subtype == "message_changed"
        message = (event.get("message") or {}) if edited else event
        if (subtype not in _SPOKEN and not edited) or self._foreign(message):
            return None
        user_id = str(message["user"])
        key = ConversationKey(platform=PLATFORM, chat_id=channel, user_id=user_id)
        if user_id in self._workspace.admin_user_ids:
            # Admins are never customers; they are told where customers are.
            return None if edited else StaffDirectMessage(external_id=event_id, chat=key)
        user = await self._users(user_id)
        if user.is_bot:
            return None
        return IncomingMessage(
            key=key,
            external_id=event_id,
            text=str(message.get("text", "")),
            display_name=user.name,
            language_code=user.locale,
            attachments=_files(message),
            platform_message_id=str(message.get("ts", "")),
            edited=edited,
        )

    async def _staff_event(self, event_id: str, event: dict[str, Any]) -> Translated:
        subtype = event.get("subtype")
        if subtype == "message_changed":
            message, edited, deleted = event.get("message") or {}, True, False
            if (message.get("text") == (event.get("previous_message") or {}).get("text")) and (
                message.get("files") == (event.get("previous_message") or {}).get("files")
            ):
                return None  # an unfurl or a reply count changed, not the words
        elif subtype == "message_deleted":
            message, edited, deleted = event.get("previous_message") or {}, False, True
        elif subtype in _SPOKEN:
            message, edited, deleted = event, False, False
        else:
            return None  # joins, topic changes, pins and other system messages
        thread_ref = message.get("thread_ts")
        if not thread_ref or thread_ref == message.get("ts") or self._foreign(message):
            return None  # top-level posts, bots, the bot itself, other workspaces
        user = await self._users(str(message["user"]))
        if user.is_bot or not await self._is_staff(
            user_id=user.id, team_id=user.team_id, surface="a staff thread"
        ):
            return None  # a reply by someone not on the team never reaches a customer
        return StaffMessage(
            external_id=event_id,
            thread_ref=str(thread_ref),
            message_ref=str(message.get("ts") or event.get("deleted_ts", "")),
            user_id=user.id,
            user_name=user.name,
            text=slack_to_plain(str(message.get("text", ""))),
            attachments=_files(message),
            edited=edited,
            deleted=deleted,
        )

    async def _button(self, body: dict[str, Any]) -> Translated:
        actions = body.get("actions") or []
        person = body.get("user") or {}
        if not actions or not person.get("id"):
            return None
        action = actions[0]
        action_id = str(action.get("action_id", ""))
        external_id = f"action:{body['trigger_id']}"
        channel = str((body.get("channel") or {}).get("id", ""))
        if action_id == STATUS_ACTION and channel == self._workspace.staff_channel:
            return await self._status_selected(body, action, external_id)
        if action_id.startswith(CARD_ACTION_PREFIX) and channel == self._workspace.staff_channel:
            if not await self._is_staff(
                user_id=str(person["id"]), team_id=str(person.get("team_id", "")), surface="a card"
            ):
                return None
            try:
                kind = CardActionKind(action_id.removeprefix(CARD_ACTION_PREFIX))
                conversation_id = int(action.get("value", ""))
            except ValueError:
                return None
            user = await self._users(str(person["id"]))
            return CardAction(
                external_id=external_id,
                conversation_id=conversation_id,
                kind=kind,
                user_id=user.id,
                user_name=user.name,
            )
        if action_id.startswith(CUSTOMER_ACTION_PREFIX) and channel.startswith("D"):
            user = await self._users(str(person["id"]))
            message = body.get("message") or {}
            return IncomingMessage(
                key=ConversationKey(platform=PLATFORM, chat_id=channel, user_id=user.id),
                external_id=external_id,
                display_name=user.name,
                language_code=user.locale,
                button_payload=str(action.get("value", "")),
                button_message_id=str(message.get("ts", "")),
                button_message_text=slack_to_plain(str(message.get("text", ""))),
            )
        return None

    async def _status_selected(
        self, body: dict[str, Any], action: dict[str, Any], external_id: str
    ) -> Translated:
        person = body.get("user") or {}
        if not await self._is_staff(
            user_id=str(person["id"]), team_id=str(person.get("team_id", "")), surface="a card"
        ):
            return None
        chosen = str((action.get("selected_option") or {}).get("value", ""))
        idea, _, status = chosen.partition(":")
        try:
            change_to = IdeaStatus(status)
            idea_id = int(idea)
        except ValueError:
            return None
        user = await self._users(str(person["id"]))
        return StatusChange(
            external_id=external_id, idea_id=idea_id, status=change_to, changed_by=user.name
        )

    async def _command(self, body: dict[str, Any]) -> Translated:
        channel = str(body.get("channel_id", ""))
        user_id = str(body.get("user_id", ""))
        if not channel.startswith("D") or user_id in self._workspace.admin_user_ids:
            return None
        user = await self._users(user_id)
        words = str(body.get("text", "")).strip()
        return IncomingMessage(
            key=ConversationKey(platform=PLATFORM, chat_id=channel, user_id=user_id),
            external_id=f"command:{body['trigger_id']}",
            text="/" + (words or "help"),
            display_name=user.name,
            language_code=user.locale,
        )
