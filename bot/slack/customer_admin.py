"""Admins' ``/ideabot customers find|export|erase`` in their DM with the app, via PrivacyDesk."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from bot.slack.format import escape
from handlers.messages import (
    Button,
    ButtonsUsed,
    ConversationKey,
    OutboundAction,
    OutgoingMessage,
    SendDataExport,
)
from handlers.ports import CustomerMatch, CustomerOutbox, Inbox, OutboxSignal, Store
from handlers.privacy.desk import PrivacyDesk

logger = logging.getLogger(__name__)

PLATFORM = "slack"
SLASH_COMMAND = "/ideabot"
CUSTOMERS_SUBCOMMAND = "customers"
# The confirm buttons' payloads: "customers:erase:<id>" and "customers:keep:<id>".
CUSTOMERS_PAYLOAD = "customers:"
USAGE = (
    "Usage: `/ideabot customers find TEXT` (a name, e-mail or platform id), "
    "`/ideabot customers export ID` (everything stored about them, as a file here), "
    "`/ideabot customers erase ID` (asks to confirm)."
)
NOT_ADMIN = "Only ideabot's admins can look up, export or erase customers' data."
FOUND_SHOWN = 20


@dataclass(frozen=True, slots=True)
class CustomersAsked:
    """An admin's ``/ideabot customers …`` with the words after ``customers``."""

    external_id: str
    channel: str
    user_id: str
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CustomersRefused:
    """Someone who is not an admin asked for customers' data, or pressed a confirm button."""

    external_id: str
    channel: str
    user_id: str


@dataclass(frozen=True, slots=True)
class EraseAnswered:
    """An admin pressed Erase or Keep under the confirmation of an erasure."""

    external_id: str
    channel: str
    user_id: str
    payload: str
    message_ts: str = ""
    message_text: str = ""


CustomersRequest = CustomersAsked | CustomersRefused | EraseAnswered


class AdminOutboxTransaction(Inbox, CustomerOutbox, Protocol):
    """What answering an admin writes: the request once, and the answers to their DM."""


def is_customers_find(body: dict[str, Any]) -> bool:
    """True for a ``/ideabot customers find …`` command (answered at once, never stored)."""
    return str(body.get("command", "")) == SLASH_COMMAND and str(body.get("text", "")).split()[
        :2
    ] == [CUSTOMERS_SUBCOMMAND, "find"]


def confirm_payload(erase: bool, customer_id: int) -> str:
    """The payload of an erasure's Erase (``erase``) or Keep button."""
    return f"{CUSTOMERS_PAYLOAD}{'erase' if erase else 'keep'}:{customer_id}"


def parse_confirm_payload(payload: str) -> tuple[bool, int] | None:
    """(erase?, customer id) of a confirm button's payload; None if it is not one."""
    answer, _, number = payload.removeprefix(CUSTOMERS_PAYLOAD).partition(":")
    if not payload.startswith(CUSTOMERS_PAYLOAD) or answer not in ("erase", "keep"):
        return None
    return (answer == "erase", int(number)) if number.isdecimal() else None


def _customer_number(word: str) -> int | None:
    number = word.lstrip("#")
    # Ids are PostgreSQL integers: a longer number names no customer.
    return int(number) if number.isdecimal() and len(number) <= 9 else None


def found_lines(matches: list[CustomerMatch], text: str) -> str:
    """The customers a search found, one line each, for an admin to pick an id from."""
    if not matches:
        return f"No customer matches “{escape(text)}”."
    lines = [
        f"#{match.id} · {match.platform} {escape(match.platform_user_id)} · "
        f"{escape(match.display_name) or '(no name)'} · "
        f"{', '.join(escape(email) for email in match.emails) or 'no e-mail'} · "
        f"{match.conversations} conversation(s)"
        for match in matches[:FOUND_SHOWN]
    ]
    if len(matches) > FOUND_SHOWN:
        lines.append("…and more: narrow the search (`ideabot customers find` shows all).")
    return "\n".join(lines)


class SlackCustomerAdmin:
    """Answers admins' customer requests in their DM; every answer goes through the outbox."""

    def __init__(
        self,
        *,
        desk: PrivacyDesk,
        store: Store[AdminOutboxTransaction],
        outbox_signal: OutboxSignal,
    ) -> None:
        self._desk = desk
        self._store = store
        self._outbox_signal = outbox_signal

    async def find(self, words: str, *, user_id: str, role_is_admin: bool) -> str:
        """The answer to ``/ideabot customers find TEXT``, given at once and stored nowhere.

        The words and the answer name a customer: kept in the outbox or the stored events,
        they would outlive the customer's erasure.
        """
        if not role_is_admin:
            logger.info("refused a Slack user at the customers: not an admin")
            return NOT_ADMIN
        text = " ".join(words.split()[2:])
        if not text:
            return USAGE
        return found_lines(await self._desk.find(text), text)

    async def handle(self, request: CustomersRequest) -> None:
        """Do what the admin asked and queue the answer for their DM, once per request."""
        answers = await self._answers(request)
        key = ConversationKey(platform=PLATFORM, chat_id=request.channel, user_id=request.user_id)
        async with self._store.transaction() as transaction:
            if not await transaction.claim_inbound(
                platform=PLATFORM, external_id=request.external_id
            ):
                return
            await transaction.enqueue(key=key, actions=answers)
        self._outbox_signal.outbox_changed()

    async def _answers(self, request: CustomersRequest) -> list[OutboundAction]:
        match request:
            case CustomersRefused():
                logger.info("refused a Slack user at the customers: not an admin")
                return [OutgoingMessage(NOT_ADMIN)]
            case CustomersAsked(words=("export", number)) if _customer_number(number):
                return await self._export(_customer_number(number) or 0)
            case CustomersAsked(words=("erase", number)) if _customer_number(number):
                return await self._confirm(_customer_number(number) or 0)
            case CustomersAsked():
                return [OutgoingMessage(USAGE)]
            case EraseAnswered():
                return await self._answered(request)

    async def _export(self, customer_id: int) -> list[OutboundAction]:
        if await self._desk.export(customer_id) is None:
            return [OutgoingMessage(_unknown(customer_id))]
        # The file is built when it is sent, from what is stored then.
        return [
            OutgoingMessage(f"The data of customer #{customer_id} follows as a file."),
            SendDataExport(customer_id=customer_id, file_name=f"customer-{customer_id}.json"),
        ]

    async def _confirm(self, customer_id: int) -> list[OutboundAction]:
        exported = await self._desk.export(customer_id)
        if exported is None:
            return [OutgoingMessage(_unknown(customer_id))]
        profile = exported.get("customer") or {}
        # No name: this message stays in the outbox after the erasure it asks for.
        conversations = len(exported.get("conversations") or [])
        question = (
            f"Erase customer #{customer_id} ({profile.get('platform', '')}, "
            f"{conversations} conversation(s)) here and in ideabot's Slack posts? "
            "This cannot be undone."
        )
        buttons = (
            Button(f"Erase customer #{customer_id}", confirm_payload(True, customer_id)),
            Button("Keep", confirm_payload(False, customer_id)),
        )
        return [OutgoingMessage(question, buttons)]

    async def _answered(self, answered: EraseAnswered) -> list[OutboundAction]:
        parsed = parse_confirm_payload(answered.payload)
        used: list[OutboundAction] = (
            [ButtonsUsed(answered.message_ts, answered.message_text)] if answered.message_ts else []
        )
        if parsed is None:
            return [*used, OutgoingMessage(USAGE)]
        erase, customer_id = parsed
        if not erase:
            return [*used, OutgoingMessage(f"Customer #{customer_id}: nothing was erased.")]
        outcome = await self._desk.erase(customer_id, requested_by=answered.user_id)
        if outcome is None:
            # Pressed twice, or erased meanwhile from the command line.
            return [*used, OutgoingMessage(_unknown(customer_id))]
        done = (
            f"Erasure {outcome.erasure_id}: customer #{customer_id} is erased in the database; "
            f"{outcome.remote_steps} Slack step(s) follow, then the report."
        )
        return [*used, OutgoingMessage(done)]


def _unknown(customer_id: int) -> str:
    return f"There is no customer #{customer_id} (erased already, or never there)."
