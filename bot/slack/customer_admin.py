"""Admins' ``/ideabot customers find|export|erase`` in their DM with the app, via PrivacyDesk."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

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
from handlers.privacy.answers import (
    ErasureAnswer,
    answer_payload,
    customer_number,
    read_answer,
)
from handlers.privacy.desk import PrivacyDesk

logger = logging.getLogger(__name__)

PLATFORM = "slack"
SLASH_COMMAND = "/ideabot"
CUSTOMERS_SUBCOMMAND = "customers"
# The confirm buttons' payloads: "customers:erase:<id>" and "customers:keep:<id>".
CUSTOMERS_PAYLOAD = "customers:"
_ERASE = "erase"
_KEEP = "keep"
USAGE = (
    "Usage: `/ideabot customers find TEXT` (a name, e-mail or platform id), "
    "`/ideabot customers export ID` (everything stored about them, as a file here), "
    "`/ideabot customers erase ID` (asks to confirm)."
)
NOT_ADMIN = "Only ideabot's admins can look up, export or erase customers' data."
ONLY_IN_DM = "Use `/ideabot customers …` in your direct message with the app."
FOUND_SHOWN = 20


class CustomerVerb(StrEnum):
    """What an admin may have done with one customer's data, by a request that is stored."""

    EXPORT = "export"
    ERASE = "erase"


@dataclass(frozen=True, slots=True)
class CustomerOrder:
    """``customers export|erase <number>``: the only customers' command that is stored."""

    verb: CustomerVerb
    customer_id: int

    @property
    def text(self) -> str:
        """The command as it is stored, in place of what was typed."""
        return f"{CUSTOMERS_SUBCOMMAND} {self.verb.value} {self.customer_id}"


@dataclass(frozen=True, slots=True)
class CustomerLookup:
    """Any other ``customers …`` (a search, a typo): answered at once and stored nowhere."""

    words: str


def parse_customers_command(text: str) -> CustomerOrder | CustomerLookup | None:
    """What ``/ideabot TEXT`` asks of customers' data; None if it is not about customers."""
    words = text.split()
    if not words or words[0].casefold() != CUSTOMERS_SUBCOMMAND:
        return None
    match [word.casefold() for word in words[1:]]:
        case [CustomerVerb.EXPORT | CustomerVerb.ERASE as verb, number] if (
            customer_id := customer_number(number)
        ) is not None:
            return CustomerOrder(verb=CustomerVerb(verb), customer_id=customer_id)
    return CustomerLookup(words=" ".join(words[1:]))


@dataclass(frozen=True, slots=True)
class CustomersAsked:
    """An admin's stored ``/ideabot customers export|erase <number>``."""

    external_id: str
    channel: str
    user_id: str
    order: CustomerOrder


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


def confirm_payload(erase: bool, customer_id: int) -> str:
    """The payload of an erasure's Erase (``erase``) or Keep button."""
    return answer_payload(CUSTOMERS_PAYLOAD, _ERASE if erase else _KEEP, customer_id)


def parse_confirm_payload(payload: str) -> ErasureAnswer | None:
    """The answer of a confirm button's payload; None if it is not one."""
    return read_answer(payload, prefix=CUSTOMERS_PAYLOAD, erase=_ERASE, keep=_KEEP)


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

    async def look_up(self, lookup: CustomerLookup) -> str:
        """An admin's ``customers find TEXT`` or other words, answered at once, stored nowhere.

        The words and the answer name a customer: kept in the outbox or the stored events,
        they would outlive the customer's erasure.
        """
        first, _, text = lookup.words.partition(" ")
        if first.casefold() != "find" or not text.strip():
            return USAGE
        return found_lines(await self._desk.find(text), text.strip())

    async def handle(self, request: CustomersRequest) -> None:
        """Do what the admin asked and queue the answer for their DM, once per request."""
        # Claimed before anything is done: a request delivered again erases or exports nothing.
        # Its answer is queued in a second transaction, as the erasure commits in its own.
        async with self._store.transaction() as transaction:
            if not await transaction.claim_inbound(
                platform=PLATFORM, external_id=request.external_id
            ):
                return
        answers = await self._answers(request)
        key = ConversationKey(platform=PLATFORM, chat_id=request.channel, user_id=request.user_id)
        async with self._store.transaction() as transaction:
            await transaction.enqueue(key=key, actions=answers)
        self._outbox_signal.outbox_changed()

    async def _answers(self, request: CustomersRequest) -> list[OutboundAction]:
        match request:
            case CustomersRefused():
                logger.info("refused a Slack user at the customers: not an admin")
                return [OutgoingMessage(NOT_ADMIN)]
            case CustomersAsked(order=CustomerOrder(verb=CustomerVerb.EXPORT) as order):
                return await self._export(order.customer_id)
            case CustomersAsked(order=order):
                return await self._confirm(order.customer_id)
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
        customer_id = parsed.customer_id
        if not parsed.erase:
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
