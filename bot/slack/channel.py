"""Slack in and out of ideabot: bolt verifies and acks, the event is stored first, handled after."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from typing import Any

import aiohttp
from cachetools import TTLCache
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import Response

from bot.backoff import doubled
from bot.metrics import Metrics
from bot.slack.campaign_admin import (
    CAMPAIGNS_ONLY_IN_DM,
    CAMPAIGNS_REFUSAL,
    CampaignClicked,
    CampaignsAsked,
    CampaignsNotUnderstood,
    CampaignsRefused,
    SlackCampaigns,
)
from bot.slack.campaign_words import is_campaigns_command
from bot.slack.commands import (
    IDEAS_COMMAND,
    AskDigest,
    Merge,
    Retitle,
    Search,
    SetStatus,
    Tagging,
    parse_ideas_command,
    search_results,
)
from bot.slack.customer_admin import (
    NOT_ADMIN,
    ONLY_IN_DM,
    USAGE,
    CustomerLookup,
    CustomerOrder,
    CustomersAsked,
    CustomersRefused,
    EraseAnswered,
    SlackCustomerAdmin,
    parse_customers_command,
)
from bot.slack.flow_admin import SlackFlowAdmin
from bot.slack.flow_requests import (
    AdminWords,
    FlowClick,
    FlowNotUnderstood,
    FlowOverview,
    FlowRefused,
    FlowStatsAsked,
    FlowTry,
    FlowUpload,
)
from bot.slack.signed_requests import WithoutRequestBodies
from bot.slack.staff_access import (
    CANNOT_CHECK,
    NO_STAFF_CHANNEL,
    REFUSAL,
    AccessUnknown,
    Role,
    StaffAccess,
    is_admin,
)
from bot.slack.translate import (
    PLATFORM,
    SLASH_COMMAND,
    SlackTranslator,
    SlackUser,
    Workspace,
    event_identity,
)
from handlers.dialogue.dialogue import Dialogue
from handlers.dialogue.text_repair import repair_json, repair_text
from handlers.ideas.desk import IdeaDesk
from handlers.ideas.digest import DigestDesk, DigestRequest
from handlers.ideas.status import (
    MergeChange,
    StatusChange,
    StatusLabels,
    TagChange,
    TitleChange,
)
from handlers.messages import IncomingMessage
from handlers.staff.desk import StaffDesk
from handlers.staff.room import CardAction, StaffDirectMessage, StaffMessage
from storage.database import is_database_outage
from storage.dead_letters import SqlDeadLetters, raw_json
from storage.event_queue import SqlEventQueue, StoredEvent
from storage.idea_queries import IdeaCatalog, IdeaFilter
from storage.types import utc_now

logger = logging.getLogger(__name__)

CLAIM_BATCH = 8
IDLE_POLL_SECONDS = 1.0
MAX_HANDLING_ATTEMPTS = 5
USER_CACHE_SECONDS = 3600.0
# Bounded, so a workspace with many people (or a flood of unknown ids) cannot grow it forever.
USER_CACHE_SIZE = 10_000


class SlackUsers:
    """Slack users' names and locales, from users.info, remembered for an hour."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._known: TTLCache[str, SlackUser] = TTLCache(
            maxsize=USER_CACHE_SIZE, ttl=USER_CACHE_SECONDS
        )

    async def get(self, user_id: str) -> SlackUser:
        """The user ``user_id``; raises SlackApiError when Slack cannot say."""
        cached = self._known.get(user_id)
        if cached is not None:
            return cached
        response = await self._client.users_info(user=user_id, include_locale=True)
        data: dict[str, Any] = response["user"]
        profile = data.get("profile") or {}
        user = SlackUser(
            id=user_id,
            name=repair_text(
                str(
                    profile.get("display_name")
                    or profile.get("real_name")
                    or data.get("real_name")
                    or data.get("name")
                    or user_id
                )
            ),
            locale=repair_text(str(data.get("locale", ""))),
            team_id=str(data.get("team_id", "")),
            is_bot=bool(data.get("is_bot", False)),
        )
        self._known[user_id] = user
        return user


async def identify(client: AsyncWebClient) -> tuple[str, str]:
    """The (team id, bot user id) the token belongs to, from auth.test."""
    response = await client.auth_test()
    return str(response["team_id"]), str(response["user_id"])


class SlackChannel:
    """Receives Slack events (HTTP or Socket Mode), stores them, and hands them to the core."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        signing_secret: str | None,
        queue: SqlEventQueue,
        dead_letters: SqlDeadLetters,
        dialogue: Dialogue,
        staff_desk: StaffDesk | None,
        metrics: Metrics,
        staff_channel: str | None,
        admin_user_ids: frozenset[str],
        idea_desk: IdeaDesk | None = None,
        flow_admin: SlackFlowAdmin | None = None,
        customer_admin: SlackCustomerAdmin | None = None,
        campaign_admin: SlackCampaigns | None = None,
        ideas: IdeaCatalog | None = None,
        digest: DigestDesk | None = None,
        labels: StatusLabels | None = None,
        lease_seconds: float = 30.0,
        staff_cache_seconds: float = 300.0,
    ) -> None:
        self._idea_desk = idea_desk
        self._flow_admin = flow_admin
        self._customer_admin = customer_admin
        self._campaign_admin = campaign_admin
        self._ideas = ideas
        self._digest = digest
        self._labels = labels or StatusLabels.default()
        self._lease_seconds = lease_seconds
        self._client = client
        self._queue = queue
        self._dead_letters = dead_letters
        self._dialogue = dialogue
        self._staff_desk = staff_desk
        self._metrics = metrics
        self._staff_channel = staff_channel
        self._admin_user_ids = admin_user_ids
        self._users = SlackUsers(client)
        self._access = StaffAccess(
            client=client,
            staff_channel=staff_channel,
            admin_user_ids=admin_user_ids,
            team_of=self._team_of,
            cache_seconds=staff_cache_seconds,
        )
        self._translator: SlackTranslator | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self.app = AsyncApp(
            client=client,
            signing_secret=signing_secret,
            # In Socket Mode nothing arrives over HTTP, so there is no signature to check.
            request_verification_enabled=signing_secret is not None,
            # Respond only after the event is stored: an ack means it cannot be lost.
            process_before_response=True,
            logger=_bolt_logger(),
        )
        self.app.event("message")(self._store_event)
        self.app.event("member_joined_channel")(self._member_joined)
        self.app.event("member_left_channel")(self._member_left)
        self.app.action(re.compile(".+"))(self._store_action)
        self.app.command(SLASH_COMMAND)(self._store_interaction)
        self.app.command(IDEAS_COMMAND)(self._store_ideas_command)
        self._http = AsyncSlackRequestHandler(self.app)

    async def connect(self) -> None:
        """Learn who the bot is (auth.test), retrying until Slack answers or a stop comes."""
        failures = 0
        while True:
            delay = doubled(failures, base=1.0, cap=60.0)
            try:
                team_id, bot_user_id = await identify(self._client)
                break
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
                logger.error(
                    "Slack auth.test failed (%s); retrying in %.0f s", _brief(error), delay
                )
                # A stop wakes this wait, so it does not run out the stop's whole grace time;
                # an event stored meanwhile must not cut the backoff short.
                self._wake.clear()
                if self._stopping:
                    return
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        while not self._stopping:
                            await self._wake.wait()
                            self._wake.clear()
                if self._stopping:
                    return
                failures += 1
        self._translator = SlackTranslator(
            workspace=Workspace(
                team_id=team_id,
                bot_user_id=bot_user_id,
                staff_channel=self._staff_channel,
                admin_user_ids=self._admin_user_ids,
            ),
            users=self._users.get,
            roles=self._access.role_of,
            labels=self._labels,
        )
        logger.info("connected to Slack workspace %s as %s", team_id, bot_user_id)

    async def events_endpoint(self, request: Request) -> Response:
        """POST /slack/events: bolt checks the signature, answers url_verification, and acks."""
        return await self._http.handle(request)

    async def run_socket_mode(self, app_token: str) -> None:
        """Receive events over Socket Mode until cancelled."""
        handler = AsyncSocketModeHandler(self.app, app_token, web_client=self._client)
        await handler.connect_async()  # type: ignore[no-untyped-call]  # bolt leaves it untyped
        try:
            await asyncio.Event().wait()
        finally:
            await handler.close_async()  # type: ignore[no-untyped-call]

    async def _store_event(self, body: dict[str, Any]) -> None:
        await self._store(body)

    async def _team_of(self, user_id: str) -> str:
        return (await self._users.get(user_id)).team_id

    async def _member_joined(self, event: dict[str, Any]) -> None:
        self._access.membership_changed(
            channel=str(event.get("channel", "")), user_id=str(event.get("user", "")), joined=True
        )

    async def _member_left(self, event: dict[str, Any]) -> None:
        self._access.membership_changed(
            channel=str(event.get("channel", "")), user_id=str(event.get("user", "")), joined=False
        )

    async def _store_interaction(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        if (
            body.get("command") == SLASH_COMMAND
            and not str(body.get("channel_id", "")).startswith("D")
            and is_campaigns_command(str(body.get("text", "")))
        ):
            # Answered at once where it was typed: the answers belong in the person's DM.
            await ack(text=await self._campaigns_elsewhere(body))
            return
        asked = (
            parse_customers_command(str(body.get("text", "")))
            if body.get("command") == SLASH_COMMAND
            else None
        )
        match asked:
            case CustomerOrder() if str(body.get("channel_id", "")).startswith("D"):
                # Stored as parsed, never as typed: the typed words may hold more than a number.
                await self._store({**body, "text": asked.text})
                await ack()
            case CustomerOrder() | CustomerLookup():
                # Answered at once and not stored, as /ideas search: its words may name a customer.
                await ack(text=await self._answer_at_once(body, asked))
            case None:
                await self._store(body)
                await ack()

    async def _answer_at_once(
        self, body: dict[str, Any], asked: CustomerOrder | CustomerLookup
    ) -> str:
        """A customers' command outside a DM, or one that is not stored: its answer, now."""
        if not str(body.get("channel_id", "")).startswith("D"):
            return ONLY_IN_DM
        try:
            admin = await is_admin(
                self._access.role_of,
                user_id=str(body.get("user_id", "")),
                team_id=str(body.get("team_id", "")),
            )
        except AccessUnknown:
            return CANNOT_CHECK
        if not admin:
            logger.info("refused a Slack user at the customers: not an admin")
            return NOT_ADMIN
        if self._customer_admin is None or not isinstance(asked, CustomerLookup):
            return USAGE
        return await self._customer_admin.look_up(asked)

    async def _campaigns_elsewhere(self, body: dict[str, Any]) -> str:
        """``/ideabot campaigns`` outside a DM: the one access rule first, then where to ask."""
        try:
            role = await self._access.role_of(
                user_id=str(body.get("user_id", "")), team_id=str(body.get("team_id", ""))
            )
        except AccessUnknown:
            return CANNOT_CHECK
        if role is Role.CUSTOMER:
            logger.info("refused a Slack user at the campaigns: not staff")
            return CAMPAIGNS_REFUSAL
        return CAMPAIGNS_ONLY_IN_DM

    async def _store_action(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """A click; in the staff channel only staff's clicks are stored, others are told why not."""
        where = body.get("channel")
        # Not a dict in a payload without its ids: _store puts that aside.
        channel = str(where.get("id", "")) if isinstance(where, dict) else ""
        if channel and channel == self._staff_channel:
            person = body.get("user") or {}
            refusal = await self._refusal(
                user_id=str(person.get("id", "")),
                team_id=str(person.get("team_id", "")),
                surface="a card button",
            )
            if refusal is not None:
                await ack()
                await self._tell_ephemeral(channel, str(person.get("id", "")), refusal)
                return
        await self._store_interaction(ack, body)

    async def _refusal(self, *, user_id: str, team_id: str, surface: str) -> str | None:
        """None when the person may use a staff surface; else the one line to tell them."""
        try:
            role = await self._access.role_of(user_id=user_id, team_id=team_id)
        except AccessUnknown:
            return CANNOT_CHECK
        if role is Role.CUSTOMER:
            # Where only: the user is a customer, and the words may be theirs.
            logger.info("refused a Slack user at %s: not staff", surface)
            return REFUSAL
        if self._staff_channel is None:
            return NO_STAFF_CHANNEL
        return None

    async def _tell_ephemeral(self, channel: str, user_id: str, text: str) -> None:
        try:
            await self._client.chat_postEphemeral(channel=channel, user=user_id, text=text)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            logger.warning("could not tell a refused Slack user why (%s)", _brief(error))

    async def _store_ideas_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """Check who asks, then the command's words, at once: a refusal or mistake is not stored."""
        refusal = await self._refusal(
            user_id=str(body.get("user_id", "")),
            team_id=str(body.get("team_id", "")),
            surface=IDEAS_COMMAND,
        )
        if refusal is not None:
            await ack(text=refusal)  # a command's plain answer is seen only by who typed it
            return
        command = parse_ideas_command(str(body.get("text", "")), self._labels)
        match command:
            case str():
                await ack(text=command)
            case Search():
                await ack(text=await self._search(command))
            case _:
                await self._store(body)
                await ack(text=self._accepted(command))

    def _accepted(self, command: SetStatus | Tagging | AskDigest | Merge | Retitle) -> str:
        """What staff are told once their command is stored: where its outcome will show."""
        match command:
            case Retitle():
                return f"Title for idea #{command.idea_id}: its card will show it."
            case Tagging():
                return f"Tags for idea #{command.idea_id}: its thread will show them."
            case AskDigest():
                return "The digest is on its way to this channel."
            case Merge() if command.original_id is None:
                return (
                    f"Undo of idea #{command.duplicate_id}'s merge: its thread shows it once "
                    "done; if nothing changes, you alone are told why there."
                )
            case Merge():
                return (
                    f"Merge of idea #{command.duplicate_id} into #{command.original_id}: both "
                    f"threads show it once done; if nothing is merged, you alone are told why "
                    f"in #{command.duplicate_id}'s thread."
                )
            case SetStatus():
                if command.status is None:
                    return f"Update for idea #{command.idea_id}: its thread will show who gets it."
                label = self._labels.label(command.status, "en")
                return f"Idea #{command.idea_id} → {label}: its thread will show the change."

    async def _search(self, search: Search) -> str:
        """The ideas a search asks for, as a short list (read-only, so answered at once)."""
        if self._ideas is None:
            return "Searching ideas is not available here."
        found = await self._ideas.find(
            IdeaFilter(
                text=search.text,
                status=search.status.value if search.status else None,
                tag=search.tag,
                top=search.top,
            )
        )
        return search_results(found, self._labels)

    async def _store(self, body: dict[str, Any]) -> None:
        try:
            identity = event_identity(body)
        except (LookupError, TypeError, AttributeError) as error:
            await self._put_aside_unreadable(body, error)
            return
        if identity is None:
            return
        external_id, ordering_key = identity
        try:
            # NUL and lone surrogates would make the insert fail on PostgreSQL: repair them.
            stored = await self._queue.store(
                platform=PLATFORM,
                external_id=external_id,
                ordering_key=ordering_key,
                payload=repair_json(body),
            )
        except Exception as error:
            if is_database_outage(error):
                raise  # bolt answers 500: Slack sends the event again, and it is stored then
            # Slack's retries would fail the same way: keep it aside and acknowledge it.
            logger.error("Slack event %s could not be stored: %s", external_id, _brief(error))
            await self._dead_letters.put(
                platform=PLATFORM,
                external_id=external_id,
                ordering_key=ordering_key,
                reason=f"could not be stored: {_brief(error)}",
                payload=body,
            )
            return
        if stored:
            self._wake.set()
        else:
            self._metrics.duplicates_skipped.labels(PLATFORM).inc()
            logger.info("Slack sent %s again; it was stored before", external_id)

    async def _put_aside_unreadable(self, body: dict[str, Any], error: Exception) -> None:
        """A signed payload without the ids it is stored under: kept aside and acknowledged."""
        # Slack sends the same payload again on a retry: the same id keeps one letter of it.
        external_id = f"unreadable:{hashlib.sha256(raw_json(body).encode()).hexdigest()}"
        logger.error("Slack sent a payload without its ids (%s): %s", _brief(error), external_id)
        await self._dead_letters.put(
            platform=PLATFORM,
            external_id=external_id,
            ordering_key="",
            reason=f"has no id to be stored under: {_brief(error)}",
            payload=body,
        )

    def stop(self) -> None:
        """Claim no more events; ``process`` returns once the events under way are handled."""
        self._stopping = True
        self._wake.set()

    async def process(self) -> None:
        """Handle stored events until stopped: each key in order, different keys at once."""
        if self._translator is None:
            await self.connect()
        while not self._stopping:
            self._wake.clear()
            try:
                events = await self._queue.claim_due(
                    platform=PLATFORM, limit=CLAIM_BATCH, lease_seconds=self._lease_seconds
                )
            except (SQLAlchemyError, OSError) as error:
                logger.error("cannot claim Slack events (%s); retrying", type(error).__name__)
                events = []
            if events:
                await asyncio.gather(*(self._handle(event) for event in events))
                continue
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel (a forced stop)
            # that comes in the same turn as a wake-up, and the loop would go on.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(IDLE_POLL_SECONDS):
                    await self._wake.wait()

    async def _handle(self, event: StoredEvent) -> None:
        try:
            await self._take(event)
        except (SQLAlchemyError, OSError) as error:
            if is_database_outage(error):
                # The lease runs out and the event is tried again once the database is back.
                logger.error("Slack event %s waits for the database (%s)", event.id, _brief(error))
                return
            # The data is at fault (a constraint, a value the database refuses): retrying
            # for ever would not help, so it counts as a failed attempt.
            logger.error("Slack event %s failed in the database (%s)", event.id, _brief(error))
            self._metrics.handling_failures.labels(PLATFORM).inc()
            await self._retry(event, f"database refused it: {_brief(error)}")
            return
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            await self._retry(event, f"Slack API: {_brief(error)}")
            return
        except AccessUnknown:
            # Staff's words wait until Slack can say who is staff; nobody else's get through.
            await self._retry(event, "Slack could not say who is staff")
            return
        except Exception as error:
            logger.exception("handling Slack event %s failed", event.id)
            self._metrics.handling_failures.labels(PLATFORM).inc()
            await self._retry(event, f"{type(error).__name__}")
            return
        with contextlib.suppress(SQLAlchemyError, OSError):
            # Were this lost, the event would be handled again: the inbox makes that harmless.
            await self._queue.done(event)

    async def _take(self, event: StoredEvent) -> None:
        """Hand one stored payload to the part of the core it is for."""
        assert self._translator is not None
        translated = await self._translator.translate(event.payload)
        match translated:
            case IncomingMessage():
                self._metrics.messages_received.labels(PLATFORM).inc()
                await self._dialogue.handle(translated)
            case StaffMessage() | CardAction():
                await self._take_staff(translated)
            case AdminWords():
                await self._take_admin_words(translated)
            case StatusChange() | TagChange() | MergeChange() | TitleChange():
                await self._take_idea_change(translated)
            case DigestRequest():
                await self._take_digest(translated)
            case CustomersAsked() | CustomersRefused() | EraseAnswered():
                if self._customer_admin is not None:
                    await self._customer_admin.handle(translated)
            case (
                CampaignsAsked() | CampaignsRefused() | CampaignsNotUnderstood() | CampaignClicked()
            ):
                if self._campaign_admin is not None:
                    await self._campaign_admin.handle(translated)
            case (
                FlowUpload()
                | FlowOverview()
                | FlowClick()
                | FlowTry()
                | FlowRefused()
                | FlowStatsAsked()
                | FlowNotUnderstood()
            ):
                if self._flow_admin is not None:
                    await self._flow_admin.handle(translated)

    async def _take_staff(self, translated: StaffMessage | CardAction | StaffDirectMessage) -> None:
        """Staff's words, clicks and direct messages go to the staff desk, if there is one."""
        staff = self._staff_desk
        if staff is None:
            return  # no staff channel: nothing but customers' words is handled
        match translated:
            case StaffMessage():
                await staff.handle_message(translated)
            case CardAction():
                await staff.handle_card_action(translated)
            case StaffDirectMessage():
                await staff.handle_direct_message(translated)

    async def _take_admin_words(self, words: AdminWords) -> None:
        """An admin's words go to their trial of a draft; else they hear where customers are."""
        message = words.message
        if self._flow_admin is not None and await self._flow_admin.take_trial_turn(message):
            return
        if message.button_payload is None:
            await self._take_staff(
                StaffDirectMessage(external_id=message.external_id, chat=message.key)
            )

    async def _take_idea_change(
        self, translated: StatusChange | TagChange | MergeChange | TitleChange
    ) -> None:
        """Staff's changes to ideas go to the idea desk, if there are staff and ideas."""
        ideas = self._idea_desk
        if self._staff_desk is None or ideas is None:
            return
        match translated:
            case StatusChange():
                await ideas.change_status(translated)
            case TagChange():
                await ideas.change_tags(translated)
            case MergeChange():
                await ideas.merge(translated)
            case TitleChange():
                await ideas.change_title(translated)

    async def _take_digest(self, translated: DigestRequest) -> None:
        """A digest asked for now is posted now, if there are staff and a digest."""
        if self._staff_desk is None or self._digest is None:
            return
        await self._digest.post_now(utc_now(), external_id=translated.external_id)

    async def _retry(self, event: StoredEvent, reason: str) -> None:
        attempts = event.attempts + 1
        with contextlib.suppress(SQLAlchemyError, OSError):
            if attempts >= MAX_HANDLING_ATTEMPTS:
                logger.error(
                    "gave up on Slack event %s after %s attempts: %s", event.id, attempts, reason
                )
                await self._queue.fail(event, error=reason)
            else:
                await self._queue.retry_later(
                    event, delay_seconds=doubled(attempts, base=1.0, cap=60.0), error=reason
                )


class _SkipTokenNotice(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN itself and warns that our client wins; it always does."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def _bolt_logger() -> logging.Logger:
    bolt_logger = logging.getLogger("slack_bolt.ideabot")
    if not bolt_logger.filters:
        bolt_logger.addFilter(_SkipTokenNotice())
        bolt_logger.addFilter(WithoutRequestBodies())
    return bolt_logger


def _brief(error: BaseException) -> str:
    """An error's kind and Slack's error code, never a token or a message body."""
    if isinstance(error, SlackApiError):
        code = error.response.get("error", "") if isinstance(error.response.data, dict) else ""
        return f"{error.response.status_code} {code}".strip()
    return type(error).__name__
