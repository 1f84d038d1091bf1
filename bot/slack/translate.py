"""Turns Slack payloads into the core's values: a customer message, a staff message, a click."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from bot.slack.campaign_admin import (
    CAMPAIGNS_PAYLOAD,
    CampaignClicked,
    CampaignsAsked,
    CampaignsNotUnderstood,
    CampaignsRefused,
    CampaignsRequest,
    parse_campaign_payload,
)
from bot.slack.campaign_words import (
    CampaignWordsError,
    is_campaigns_command,
    parse_campaigns_command,
)
from bot.slack.commands import (
    IDEAS_COMMAND,
    MAX_IDEA_ID,
    AskDigest,
    Merge,
    Retitle,
    SetStatus,
    Tagging,
    parse_ideas_command,
)
from bot.slack.customer_admin import (
    CUSTOMERS_PAYLOAD,
    CustomerOrder,
    CustomersAsked,
    CustomersRefused,
    CustomersRequest,
    EraseAnswered,
    parse_customers_command,
)
from bot.slack.flow_requests import (
    FLOW_ACTION_PREFIX,
    AdminWords,
    FlowButton,
    FlowClick,
    FlowNotUnderstood,
    FlowOverview,
    FlowRefused,
    FlowRequest,
    FlowStatsAsked,
    FlowTarget,
    FlowTry,
    FlowUpload,
)
from bot.slack.format import (
    CARD_ACTION_PREFIX,
    CUSTOMER_ACTION_PREFIX,
    MERGE_ACTION_PREFIX,
    STATUS_ACTION,
    UNMERGE_ACTION,
)
from bot.slack.staff_access import Role, RoleLookup, is_admin
from bot.slack.stats_words import STATS_SUBCOMMAND, StatsWordsError, stats_query
from handlers.dialogue.text_repair import repair_json
from handlers.dialogue.trial import is_trial_payload, parse_publish_payload
from handlers.flows.upload import is_flow_file
from handlers.ideas.digest import DigestRequest
from handlers.ideas.status import (
    IdeaStatus,
    MergeChange,
    StatusChange,
    StatusLabels,
    TagChange,
    TitleChange,
)
from handlers.messages import Attachment, AttachmentKind, ConversationKey, IncomingMessage
from handlers.staff.room import CardAction, CardActionKind, StaffMessage

logger = logging.getLogger(__name__)

PLATFORM = "slack"
SLASH_COMMAND = "/ideabot"
# The admins' part of /ideabot: the flows, in their direct message with the app.
FLOWS_SUBCOMMAND = "flows"
UNREADABLE_BUTTON = (
    "That button could not be read, so nothing was changed; type /ideabot flows for fresh buttons."
)
# ``/ideabot flows try NAME``: walk the newest draft of NAME as a customer would.
TRY_SUBCOMMAND = "try"
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
# Takes a click: (the payload, its first action, the external id it is stored under).
_ClickTaker = Callable[[dict[str, Any], dict[str, Any], str], Awaitable["Translated"]]


Translated = (
    IncomingMessage
    | StaffMessage
    | CardAction
    | StatusChange
    | TagChange
    | TitleChange
    | DigestRequest
    | MergeChange
    | FlowRequest
    | AdminWords
    | CustomersRequest
    | CampaignsRequest
    | None
)


@dataclass(frozen=True, slots=True)
class Workspace:
    """Who we are in Slack and where staff work."""

    team_id: str
    bot_user_id: str
    staff_channel: str | None
    admin_user_ids: frozenset[str]


def _message_identity(body: dict[str, Any]) -> tuple[str, str] | None:
    """A message event, ordered by its channel and thread; other events are ignored."""
    event = body.get("event") or {}
    if event.get("type") != "message":
        return None
    inner = event.get("message") or event.get("previous_message") or {}
    thread = event.get("thread_ts") or inner.get("thread_ts") or ""
    return str(body["event_id"]), f"{event.get('channel', '')}:{thread}"


def _action_identity(body: dict[str, Any]) -> tuple[str, str]:
    """A click, ordered by the channel it was in."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id", ""
    )
    return f"action:{body['trigger_id']}", str(channel)


def event_identity(body: dict[str, Any]) -> tuple[str, str] | None:
    """The (external id, ordering key) a payload is stored under; None if ideabot ignores it."""
    match body:
        case {"type": "event_callback"}:
            return _message_identity(body)
        case {"type": "block_actions"}:
            return _action_identity(body)
        case {"command": command} if command:
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


@dataclass(frozen=True, slots=True)
class _Click:
    """Who pressed a button, in which channel, and the message the button was on."""

    user_id: str
    team_id: str
    channel: str
    message_ts: str
    message_text: str


def _click_of(body: dict[str, Any]) -> _Click:
    """The parts of a block action every click handler reads."""
    person = body.get("user") or {}
    message = body.get("message") or {}
    return _Click(
        user_id=str(person["id"]),
        team_id=str(person.get("team_id", "")),
        channel=str((body.get("channel") or {}).get("id", "")),
        message_ts=str(message.get("ts", "")),
        message_text=slack_to_plain(str(message.get("text", ""))),
    )


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


@dataclass(frozen=True, slots=True)
class _StaffWords:
    """The message a staff channel event is about, and whether it was edited or deleted."""

    message: dict[str, Any]
    edited: bool = False
    deleted: bool = False


def _posted(event: dict[str, Any]) -> _StaffWords | None:
    """A new message: its words are the event's own."""
    return _StaffWords(event)


def _edited(event: dict[str, Any]) -> _StaffWords | None:
    """An edit; None when an unfurl or a reply count changed, not the words."""
    message = event.get("message") or {}
    before = event.get("previous_message") or {}
    if message.get("text") == before.get("text") and message.get("files") == before.get("files"):
        return None
    return _StaffWords(message, edited=True)


def _deleted(event: dict[str, Any]) -> _StaffWords | None:
    """A deletion: the words are the message as it was."""
    return _StaffWords(event.get("previous_message") or {}, deleted=True)


# Joins, topic changes, pins and other system messages are not here: nobody said anything.
_STAFF_WORDS: Final[Mapping[str | None, Callable[[dict[str, Any]], _StaffWords | None]]] = (
    MappingProxyType(
        dict.fromkeys(_SPOKEN, _posted) | {"message_changed": _edited, "message_deleted": _deleted}
    )
)


def _idea_change(
    command: SetStatus | Tagging | Merge | Retitle,
    *,
    external_id: str,
    changed_by: str,
    user_id: str,
) -> StatusChange | TagChange | MergeChange | TitleChange:
    """The core's change for a stored ``/ideas`` command that changes an idea."""
    match command:
        case Merge():
            return MergeChange(
                external_id=external_id,
                duplicate_id=command.duplicate_id,
                original_id=command.original_id,
                changed_by=changed_by,
                undo=command.original_id is None,
                asked_by=user_id,
            )
        case Retitle():
            return TitleChange(
                external_id=external_id,
                idea_id=command.idea_id,
                changed_by=changed_by,
                title=command.title,
            )
        case Tagging():
            return TagChange(
                external_id=external_id,
                idea_id=command.idea_id,
                changed_by=changed_by,
                add=command.add,
                remove=command.remove,
            )
        case SetStatus():
            return StatusChange(
                external_id=external_id,
                idea_id=command.idea_id,
                status=command.status,
                changed_by=changed_by,
                message=command.message,
            )


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
        match body:
            case {"type": "event_callback"}:
                return await self._message_event(str(body["event_id"]), body.get("event") or {})
            case {"type": "block_actions"}:
                return await self._button(body)
            case {"command": command} if command == SLASH_COMMAND:
                return await self._command(body)
            case {"command": command} if command == IDEAS_COMMAND:
                return await self._ideas_command(body)
        return None

    async def _is_staff(self, *, user_id: str, team_id: str, surface: str) -> bool:
        """The one access rule; a refusal is logged with where, never with who or words."""
        if self._workspace.staff_channel is None:
            return False  # no staff room: nothing staff do could be shown anywhere
        if await self._roles(user_id=user_id, team_id=team_id) is Role.CUSTOMER:
            logger.info("refused a Slack user at %s: not staff", surface)
            return False
        return True

    async def _is_admin(self, *, user_id: str, team_id: str) -> bool:
        """The one access rule, asked only of SLACK_ADMIN_USERS: not of every customer's words."""
        if user_id not in self._workspace.admin_user_ids:
            return False
        return await is_admin(self._roles, user_id=user_id, team_id=team_id)

    async def _not_admin(self, body: dict[str, Any], external_id: str) -> FlowRefused | None:
        """The refusal for a click by someone who is no admin; None for an admin's."""
        person = body.get("user") or {}
        user_id = str(person["id"])
        role = await self._roles(user_id=user_id, team_id=str(person.get("team_id", "")))
        if role is Role.ADMIN:
            return None
        channel = str((body.get("channel") or {}).get("id", ""))
        return FlowRefused(external_id=external_id, channel=channel, user_id=user_id)

    async def _ideas_command(self, body: dict[str, Any]) -> Translated:
        user_id = str(body.get("user_id", ""))
        team_id = str(body.get("team_id", ""))
        if not await self._is_staff(user_id=user_id, team_id=team_id, surface=IDEAS_COMMAND):
            return None
        command = parse_ideas_command(str(body.get("text", "")), self._labels)
        match command:
            case AskDigest():
                return DigestRequest(external_id=f"command:{body['trigger_id']}")
            case Merge() | Tagging() | SetStatus() | Retitle():
                user = await self._users(user_id)
                return _idea_change(
                    command,
                    external_id=f"command:{body['trigger_id']}",
                    changed_by=user.name,
                    user_id=user.id,
                )
        return None

    def _foreign(self, message: dict[str, Any]) -> bool:
        """Posted by a bot, or by a person of another workspace (a shared channel)."""
        if message.get("bot_id") or message.get("subtype") == "bot_message":
            return True
        if not message.get("user") or message.get("user") == self._workspace.bot_user_id:
            return True
        teams = {message.get(key) for key in ("user_team", "team", "source_team")} - {None}
        return any(team != self._workspace.team_id for team in teams)

    async def _message_event(self, event_id: str, event: dict[str, Any]) -> Translated:
        """A message in the staff channel, or in a direct message; None anywhere else."""
        channel = str(event.get("channel", ""))
        if channel and channel == self._workspace.staff_channel:
            return await self._staff_event(event_id, event)
        if event.get("channel_type") != "im":
            return None
        return await self._direct_message(event_id, channel, event)

    async def _direct_message(
        self, event_id: str, channel: str, event: dict[str, Any]
    ) -> Translated:
        """A person's words to the bot: a customer's message, or an admin to be sent elsewhere."""
        subtype = event.get("subtype")
        edited = subtype == "message_changed"
        message = (event.get("message") or {}) if edited else event
        if (subtype not in _SPOKEN and not edited) or self._foreign(message):
            return None
        user_id = str(message["user"])
        key = ConversationKey(platform=PLATFORM, chat_id=channel, user_id=user_id)
        flow_files = [file for file in _files(message) if is_flow_file(file.file_name)]
        if flow_files and not edited:
            upload = await self._flow_upload(event_id, channel, message, flow_files[0])
            if upload is not None:
                return upload
        if await self._is_admin(user_id=user_id, team_id=str(message.get("team", ""))):
            # Admins' words go to their trial of a draft if one runs, else they are told where
            # customers are; their own customer conversation still takes its buttons.
            if edited:
                return None
            return AdminWords(
                IncomingMessage(
                    key=key,
                    external_id=event_id,
                    text=str(message.get("text", "")),
                    attachments=_files(message),
                    platform_message_id=str(message.get("ts", "")),
                )
            )
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

    async def _flow_upload(
        self, event_id: str, channel: str, message: dict[str, Any], file: Attachment
    ) -> Translated:
        """A flow file from an admin; the team's others are refused; customers' stay theirs."""
        user_id = str(message["user"])
        role = await self._roles(user_id=user_id, team_id=str(message.get("team", "")))
        if role is Role.ADMIN:
            return FlowUpload(external_id=event_id, channel=channel, user_id=user_id, file=file)
        if role is Role.STAFF:
            return FlowRefused(external_id=event_id, channel=channel, user_id=user_id)
        return None

    async def _staff_event(self, event_id: str, event: dict[str, Any]) -> Translated:
        """A staff member's reply in a thread, or its edit or deletion; None for anything else."""
        read = _STAFF_WORDS.get(event.get("subtype"))
        words = read(event) if read is not None else None
        if words is None:
            return None
        message = words.message
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
            edited=words.edited,
            deleted=words.deleted,
        )

    async def _button(self, body: dict[str, Any]) -> Translated:
        """A click: on a status menu or a card in the staff channel, or a customer's answer."""
        actions = body.get("actions") or []
        person = body.get("user") or {}
        if not actions or not person.get("id"):
            return None
        action = actions[0]
        action_id = str(action.get("action_id", ""))
        external_id = f"action:{body['trigger_id']}"
        take = self._click_taker(action_id, str((body.get("channel") or {}).get("id", "")))
        if take is None:
            return None
        return await take(body, action, external_id)

    def _click_taker(self, action_id: str, channel: str) -> _ClickTaker | None:
        """Who takes a click on ``action_id`` in ``channel``; None if ideabot ignores it."""
        in_staff_channel = channel == self._workspace.staff_channel
        if action_id == STATUS_ACTION and in_staff_channel:
            return self._status_selected
        if in_staff_channel and (
            action_id.startswith(MERGE_ACTION_PREFIX) or action_id == UNMERGE_ACTION
        ):
            return self._merge_clicked
        if action_id.startswith(CARD_ACTION_PREFIX) and in_staff_channel:
            return self._card_clicked
        if action_id.startswith(CUSTOMER_ACTION_PREFIX) and channel.startswith("D"):
            return self._answer_clicked
        if action_id.startswith(FLOW_ACTION_PREFIX) and channel.startswith("D"):
            return self._flow_clicked
        return None

    async def _flow_clicked(
        self, body: dict[str, Any], action: dict[str, Any], external_id: str
    ) -> Translated:
        """An admin's click on a flow's button; anyone else's is refused."""
        refused = await self._not_admin(body, external_id)
        if refused is not None:
            return refused
        user_id = str((body.get("user") or {})["id"])
        channel = str((body.get("channel") or {}).get("id", ""))
        try:
            button = FlowButton(str(action.get("action_id", "")).removeprefix(FLOW_ACTION_PREFIX))
            target = FlowTarget.from_value(str(action.get("value", "")))
        except ValueError:
            # A hand-made or outdated payload: the admin hears so rather than nothing at all.
            return FlowNotUnderstood(
                external_id=external_id, channel=channel, user_id=user_id, answer=UNREADABLE_BUTTON
            )
        if button is FlowButton.TRY:
            return FlowTry(
                external_id=external_id,
                channel=channel,
                user_id=user_id,
                flow_id=target.flow_id,
                draft_id=target.draft_id,
                language_code=(await self._users(user_id)).locale,
            )
        return FlowClick(
            external_id=external_id,
            channel=channel,
            user_id=user_id,
            button=button,
            target=target,
        )

    async def _card_clicked(
        self, body: dict[str, Any], action: dict[str, Any], external_id: str
    ) -> Translated:
        """A staff member's click on a conversation's card."""
        person = body.get("user") or {}
        if not await self._is_staff(
            user_id=str(person["id"]), team_id=str(person.get("team_id", "")), surface="a card"
        ):
            return None
        try:
            kind = CardActionKind(str(action.get("action_id", "")).removeprefix(CARD_ACTION_PREFIX))
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

    async def _answer_clicked(
        self, body: dict[str, Any], action: dict[str, Any], external_id: str
    ) -> Translated:
        """A click on an answer button: a customer's, an admin's in a trial or on a customer."""
        if str(action.get("value", "")).startswith(CAMPAIGNS_PAYLOAD):
            return await self._campaigns_clicked(body, action, external_id)
        if str(action.get("value", "")).startswith(CUSTOMERS_PAYLOAD):
            return await self._customers_clicked(body, action, external_id)
        if is_trial_payload(str(action.get("value", ""))):
            return await self._trial_clicked(body, action, external_id)
        # Anyone's answer, an admin's too: an admin may also be a customer with a conversation.
        click = _click_of(body)
        user = await self._users(click.user_id)
        return IncomingMessage(
            key=ConversationKey(platform=PLATFORM, chat_id=click.channel, user_id=user.id),
            external_id=external_id,
            display_name=user.name,
            language_code=user.locale,
            button_payload=str(action.get("value", "")),
            button_message_id=click.message_ts,
            button_message_text=click.message_text,
        )

    async def _trial_clicked(
        self, body: dict[str, Any], action: dict[str, Any], external_id: str
    ) -> Translated:
        """A trial's answer, Stop or Publish: an admin's goes on, anyone else's is refused."""
        refused = await self._not_admin(body, external_id)
        if refused is not None:
            return refused
        user_id = str((body.get("user") or {})["id"])
        channel = str((body.get("channel") or {}).get("id", ""))
        payload = str(action.get("value", ""))
        publish = parse_publish_payload(payload)
        if publish is not None:
            flow_id, draft_id, seen_live = publish
            # Publish is the flows' own button, as on the draft's message.
            return FlowClick(
                external_id=external_id,
                channel=channel,
                user_id=user_id,
                button=FlowButton.PUBLISH,
                target=FlowTarget(flow_id=flow_id, draft_id=draft_id, seen_live=seen_live),
            )
        message = body.get("message") or {}
        return AdminWords(
            IncomingMessage(
                key=ConversationKey(platform=PLATFORM, chat_id=channel, user_id=user_id),
                external_id=external_id,
                button_payload=payload,
                button_message_id=str(message.get("ts", "")),
                button_message_text=slack_to_plain(str(message.get("text", ""))),
            )
        )

    async def _status_selected(
        self, body: dict[str, Any], action: dict[str, Any], external_id: str
    ) -> Translated:
        """A staff member's choice of an idea's status on its card."""
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

    async def _merge_clicked(
        self, body: dict[str, Any], action: dict[str, Any], external_id: str
    ) -> Translated:
        """A staff member's Merge (or Undo merge) button on an idea's card."""
        person = body.get("user") or {}
        if not await self._is_staff(
            user_id=str(person["id"]), team_id=str(person.get("team_id", "")), surface="a card"
        ):
            return None
        duplicate, _, original = str(action.get("value", "")).partition(":")
        undo = str(action.get("action_id", "")) == UNMERGE_ACTION
        duplicate_id = _idea_number(duplicate)
        original_id = None if undo else _idea_number(original)
        if duplicate_id is None or (not undo and original_id in (None, duplicate_id)):
            return None  # not a value ideabot wrote: a forged click changes nothing
        user = await self._users(str(person["id"]))
        return MergeChange(
            external_id=external_id,
            duplicate_id=duplicate_id,
            changed_by=user.name,
            original_id=original_id,
            undo=undo,
            clicked_by=user.id,
        )

    async def _command(self, body: dict[str, Any]) -> Translated:
        channel = str(body.get("channel_id", ""))
        user_id = str(body.get("user_id", ""))
        words = str(body.get("text", "")).strip()
        if channel.startswith("D") and words.split()[:1] == [FLOWS_SUBCOMMAND]:
            return await self._flows_command(body)
        if is_campaigns_command(words):
            # Outside a DM it was answered when it came, and is not stored.
            return await self._campaigns_command(body) if channel.startswith("D") else None
        order = parse_customers_command(words)
        if isinstance(order, CustomerOrder):
            return await self._customers_command(body, order)
        if order is not None:
            return None  # answered when it came, and never stored: it may name a customer
        if not channel.startswith("D"):
            return None
        if await self._is_admin(user_id=user_id, team_id=str(body.get("team_id", ""))):
            # A command in a trial, as a customer would type it (/ideabot cancel).
            return AdminWords(
                IncomingMessage(
                    key=ConversationKey(platform=PLATFORM, chat_id=channel, user_id=user_id),
                    external_id=f"command:{body['trigger_id']}",
                    text="/" + (words or "help"),
                )
            )
        user = await self._users(user_id)
        return IncomingMessage(
            key=ConversationKey(platform=PLATFORM, chat_id=channel, user_id=user_id),
            external_id=f"command:{body['trigger_id']}",
            text="/" + (words or "help"),
            display_name=user.name,
            language_code=user.locale,
        )

    async def _customers_command(self, body: dict[str, Any], order: CustomerOrder) -> Translated:
        """``/ideabot customers export|erase <number>``: only for admins, in their DM."""
        external_id = f"command:{body['trigger_id']}"
        channel = str(body.get("channel_id", ""))
        user_id = str(body.get("user_id", ""))
        if not channel.startswith("D"):
            return None  # told at once where to ask, when it came
        if not await self._is_admin(user_id=user_id, team_id=str(body.get("team_id", ""))):
            return CustomersRefused(external_id=external_id, channel=channel, user_id=user_id)
        return CustomersAsked(
            external_id=external_id, channel=channel, user_id=user_id, order=order
        )

    async def _customers_clicked(
        self, body: dict[str, Any], action: dict[str, Any], external_id: str
    ) -> Translated:
        """Erase or Keep under an erasure's confirmation: the same rule as the command's."""
        click = _click_of(body)
        if not await self._is_admin(user_id=click.user_id, team_id=click.team_id):
            return CustomersRefused(
                external_id=external_id, channel=click.channel, user_id=click.user_id
            )
        return EraseAnswered(
            external_id=external_id,
            channel=click.channel,
            user_id=click.user_id,
            payload=str(action.get("value", "")),
            message_ts=click.message_ts,
            message_text=click.message_text,
        )

    async def _is_team(self, *, user_id: str, team_id: str) -> bool:
        """The one access rule: staff or admin; anyone else is refused, logged by where only."""
        if await self._roles(user_id=user_id, team_id=team_id) is Role.CUSTOMER:
            logger.info("refused a Slack user at the campaigns: not staff")
            return False
        return True

    async def _campaigns_command(self, body: dict[str, Any]) -> Translated:
        """``/ideabot campaigns …`` in a DM: the one access rule first, then the words."""
        external_id = f"command:{body['trigger_id']}"
        channel = str(body.get("channel_id", ""))
        user_id = str(body.get("user_id", ""))
        if not await self._is_team(user_id=user_id, team_id=str(body.get("team_id", ""))):
            return CampaignsRefused(external_id=external_id, channel=channel, user_id=user_id)
        try:
            # Slack's markup in an invitation would reach customers as markup: plain words.
            command = parse_campaigns_command(slack_to_plain(str(body.get("text", ""))))
        except CampaignWordsError as error:
            return CampaignsNotUnderstood(
                external_id=external_id, channel=channel, user_id=user_id, answer=str(error)
            )
        return CampaignsAsked(
            external_id=external_id, channel=channel, user_id=user_id, command=command
        )

    async def _campaigns_clicked(
        self, body: dict[str, Any], action: dict[str, Any], external_id: str
    ) -> Translated:
        """A campaign button in a DM: the same rule as the command's, then its payload."""
        click = _click_of(body)
        if not await self._is_team(user_id=click.user_id, team_id=click.team_id):
            return CampaignsRefused(
                external_id=external_id, channel=click.channel, user_id=click.user_id
            )
        return CampaignClicked(
            external_id=external_id,
            channel=click.channel,
            user_id=click.user_id,
            target=parse_campaign_payload(str(action.get("value", ""))),
            message_ts=click.message_ts,
            message_text=click.message_text,
        )

    async def _flows_command(self, body: dict[str, Any]) -> Translated:
        """``/ideabot flows [try NAME | stats …]``: overview, trial or funnel; only for admins."""
        external_id = f"command:{body['trigger_id']}"
        channel = str(body.get("channel_id", ""))
        user_id = str(body.get("user_id", ""))
        role = await self._roles(user_id=user_id, team_id=str(body.get("team_id", "")))
        if role is not Role.ADMIN:
            return FlowRefused(external_id=external_id, channel=channel, user_id=user_id)
        words = str(body.get("text", "")).split()[1:]
        if words[:1] == [TRY_SUBCOMMAND]:
            return FlowTry(
                external_id=external_id,
                channel=channel,
                user_id=user_id,
                flow_id=" ".join(words[1:]),
                draft_id=None,
                language_code=(await self._users(user_id)).locale,
            )
        if words[:1] != [STATS_SUBCOMMAND]:
            return FlowOverview(external_id=external_id, channel=channel, user_id=user_id)
        try:
            query = stats_query(words[1:])
        except StatsWordsError as error:
            return FlowNotUnderstood(
                external_id=external_id, channel=channel, user_id=user_id, answer=f"{error}."
            )
        return FlowStatsAsked(
            external_id=external_id, channel=channel, user_id=user_id, query=query
        )


def _idea_number(text: str) -> int | None:
    """The idea number ideabot wrote into a button, or None (int() also reads " 1_2", "٣")."""
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_IDEA_ID:
        return None
    return int(text)
