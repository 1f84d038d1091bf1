"""The one door into the core: each customer message becomes one transaction and its replies."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from enum import StrEnum

from handlers.campaigns.invitation import (
    chosen_invitations,
    invitations_choice,
    pressed_invitation,
)
from handlers.dialogue.handoff import HandOff
from handlers.dialogue.keyed_locks import KeyedLocks
from handlers.dialogue.privacy import FORGET_PAYLOAD, PrivacyChat, PrivacySettings
from handlers.dialogue.replies import (
    chosen_label,
    command_of,
    merge_replies,
    pressed_answer,
    split_replies,
    used_buttons,
)
from handlers.dialogue.turn import DialogueStore, DialogueTransaction, Turn
from handlers.flows.engine import (
    SAME_AS,
    Answer,
    Transition,
    advance,
    ask_if_same,
    begin,
    draft_idea,
    finish,
    lookup_text,
    question,
    revise,
    same_or_not,
)
from handlers.flows.links import StartLink, parsed_start_link
from handlers.flows.schema import END, AnswerKind, FlowDefinition
from handlers.messages import (
    Button,
    FileLimits,
    IncomingMessage,
    OutboundAction,
    OutgoingMessage,
    TextLimit,
)
from handlers.ports import (
    ConversationRecord,
    ConversationStatus,
    Direction,
    EmbeddingNeeded,
    FlowCatalog,
    OutboxSignal,
    TranscriptEntry,
)
from handlers.staff.room import StaffRoom
from handlers.texts import LANGUAGE_NAMES, SUPPORTED_LANGUAGES, Text, text

logger = logging.getLogger(__name__)
# A turn asks the model ahead at most twice (its texts, then any another turn took back).
_TURN_ATTEMPTS = 3

LANGUAGE_PAYLOAD = "lang:"
# Commands that work the same whether the conversation is with the flow or with staff.
_ANYTIME_COMMANDS = (
    "/help",
    "/language",
    "/unsubscribe",
    "/subscribe",
    "/invitations",
    "/privacy",
    "/mydata",
    "/forget",
)
_LANGUAGE_ALIASES = {
    "no": "nb",
    "nn": "nb",
    "norsk": "nb",
    "bokmål": "nb",
    "bokmal": "nb",
    "norwegian": "nb",
    "english": "en",
    "engelsk": "en",
}
# What a command does with the turn, given the words after it.
CommandHandler = Callable[[DialogueTransaction, Turn, str], Awaitable[None]]


def resolve_language(code: str, supported: Sequence[str], fallback: str) -> str:
    """The supported language closest to a platform's code (``nb-NO`` → nb, ``no`` → nb)."""
    folded = code.strip().casefold().replace("_", "-")
    primary = folded.split("-")[0]
    for candidate in (
        folded,
        primary,
        _LANGUAGE_ALIASES.get(folded),
        _LANGUAGE_ALIASES.get(primary),
    ):
        if candidate is not None and candidate in supported:
            return candidate
    return fallback


def _with_staff(turn: Turn) -> bool:
    return (
        turn.conversation is not None and turn.conversation.status is ConversationStatus.WITH_STAFF
    )


class Greeting(StrEnum):
    """How a new conversation opens."""

    FLOW_WELCOME = "flow_welcome"
    WELCOME_BACK = "welcome_back"
    IDEA_TAKEN = "idea_taken"
    NONE = "none"


class Dialogue:
    """Handles customer messages one at a time per conversation, each in one transaction."""

    def __init__(
        self,
        *,
        store: DialogueStore,
        flows: FlowCatalog,
        outbox_signal: OutboxSignal,
        message_limits: Mapping[str, TextLimit],
        staff_room: StaffRoom | None = None,
        similar_at_least: float = 0.0,
        file_limits: Mapping[str, FileLimits] | None = None,
        reopen_closed_threads: bool = False,
        privacy: PrivacySettings | None = None,
    ) -> None:
        # 0 turns the similar-idea question off; docs/benchmarks.md measures the threshold.
        self._similar_at_least = similar_at_least
        self._handoff = HandOff(
            room=staff_room,
            file_limits=file_limits or {},
            reopen_closed_threads=reopen_closed_threads,
        )
        self._store = store
        self._flows = flows
        self._outbox_signal = outbox_signal
        self._message_limits = message_limits
        self._locks = KeyedLocks()
        self._privacy = PrivacyChat(privacy or PrivacySettings())
        self._commands: Mapping[str, CommandHandler] = {
            "/start": self._start,
            "/restart": self._restart,
            "/cancel": self._cancel,
            "/help": self._help,
            "/language": self._choose_language,
            "/skip": self._skip,
            "/subscribe": self._subscribe,
            "/unsubscribe": self._unsubscribe,
            "/invitations": self._show_invitations,
            "/human": self._ask_for_a_person,
            "/privacy": self._show_privacy,
            "/mydata": self._send_my_data,
            "/forget": self._forget,
        }

    @property
    def languages(self) -> list[str]:
        """The languages customers can choose: the default flow's that ideabot has texts for."""
        flow_languages = self._flows.default_flow.languages
        return [language for language in flow_languages if language in SUPPORTED_LANGUAGES] or [
            self._flows.default_flow.default_language
        ]

    async def handle(self, message: IncomingMessage) -> bool:
        """Take one customer message; False when it had been handled before (a redelivery)."""
        async with self._locks.hold(message.key):
            for attempt in range(1, _TURN_ATTEMPTS + 1):
                try:
                    claimed = await self._take_in_one_transaction(message)
                except EmbeddingNeeded as needed:
                    if attempt == _TURN_ATTEMPTS:
                        raise
                    # A slow model must not hold the turn's transaction (on SQLite, every
                    # turn's): it is asked with none open, and the turn is taken again.
                    await self._store.embed_ahead(needed.texts)
                    continue
                break
        if claimed:
            self._outbox_signal.outbox_changed()
        return claimed

    async def _take_in_one_transaction(self, message: IncomingMessage) -> bool:
        """The turn in one transaction; False for a redelivery."""
        async with self._store.transaction() as transaction:
            claimed = await transaction.claim_inbound(
                platform=message.key.platform,
                external_id=message.external_id,
                earlier_id=message.earlier_external_id,
            )
            if not claimed:
                # Not the event's id: a Telegram one names the chat.
                logger.info("skipped a redelivered %s event", message.key.platform)
                return False
            await self._take_turn(transaction, message)
        return True

    async def _take_turn(self, transaction: DialogueTransaction, message: IncomingMessage) -> None:
        if not message.is_private_chat:
            await self._decline_group_chat(transaction, message)
            return
        if (message.button_payload or "").startswith(FORGET_PAYLOAD) and not (
            await transaction.customer_exists(key=message.key)
        ):
            # A Yes from before their erasure: a click makes no new customer to answer it.
            default = self._flows.default_flow.default_language
            language = resolve_language(message.language_code, self.languages, default)
            reply = OutgoingMessage(text(Text.FORGET_STALE, language))
            await transaction.enqueue(key=message.key, actions=[reply])
            return
        turn = await self._start_turn(transaction, message)
        command, argument = command_of(message)
        if (
            turn.conversation is None
            and not command
            and message.button_payload is None
            and not message.edited
        ):
            await self._handoff.reopen_last_thread(transaction, turn)
        await self._route(transaction, turn, message, command, argument)
        await self._finish_turn(transaction, turn, message)

    async def _decline_group_chat(
        self, transaction: DialogueTransaction, message: IncomingMessage
    ) -> None:
        """Answer a command in a group with where ideabot talks; other group messages pass by."""
        if message.text.startswith("/"):
            default = self._flows.default_flow.default_language
            language = resolve_language(message.language_code, self.languages, default)
            reply = OutgoingMessage(text(Text.PRIVATE_CHATS_ONLY, language))
            await transaction.enqueue(key=message.key, actions=[reply])

    async def _start_turn(self, transaction: DialogueTransaction, message: IncomingMessage) -> Turn:
        """The turn of the message's customer, with their open conversation if they have one."""
        flow = self._flows.default_flow
        customer = await transaction.customer_for(
            key=message.key,
            display_name=message.display_name,
            language=resolve_language(message.language_code, self.languages, flow.default_language),
        )
        return Turn(
            key=message.key,
            customer=customer,
            language=customer.language,
            conversation=await transaction.open_conversation(customer_id=customer.id),
            replies=[],
            actions_first=[],
        )

    async def _route(
        self,
        transaction: DialogueTransaction,
        turn: Turn,
        message: IncomingMessage,
        command: str,
        argument: str,
    ) -> None:
        """Hand the message to the part of the dialogue that takes it."""
        language_choice = (message.button_payload or "").startswith(LANGUAGE_PAYLOAD)
        if (message.button_payload or "").startswith(FORGET_PAYLOAD):
            # Whatever the conversation is doing, a /forget answer is about the customer.
            await self._privacy.forget_answered(transaction, turn, message)
        elif (invitation := pressed_invitation(message.button_payload or "")) is not None:
            await self._answer_invitation(transaction, turn, message, *invitation)
        elif (wants := chosen_invitations(message.button_payload or "")) is not None:
            await self._set_wants_invitations(transaction, turn, message, wants=wants)
        elif _with_staff(turn) and not language_choice and command not in _ANYTIME_COMMANDS:
            await self._take_with_staff(transaction, turn, message, command)
        elif message.edited:
            await self._take_edit(transaction, turn, message)
        elif language_choice:
            choice = (message.button_payload or "").removeprefix(LANGUAGE_PAYLOAD)
            await self._choose_language(transaction, turn, choice)
            self._mark_button_used(turn, message, language_chosen=True)
        elif command and not message.attachments:
            await self._commands.get(command, self._unknown_command)(transaction, turn, argument)
        else:
            await self._take_answer(transaction, turn, message)

    async def _start(self, transaction: DialogueTransaction, turn: Turn, argument: str) -> None:
        """/start [flow]: carry on where the conversation is, or open the linked or default flow."""
        link, linked = self._linked_flow(turn, argument)
        conversation = turn.conversation
        if conversation is not None and linked is not None and linked.id != conversation.flow_id:
            # A link to another flow was followed on purpose: begin it, as /restart would.
            await self._close(transaction, turn, ConversationStatus.CANCELLED)
            turn.replies.append(OutgoingMessage(text(Text.RESTARTING, turn.language)))
        if turn.conversation is not None:
            turn.replies.append(OutgoingMessage(text(Text.RESUMING, turn.language)))
            turn.replies.append(await self._current_question(turn))
            return
        await self._begin(turn, greeting=Greeting.FLOW_WELCOME, flow=linked)
        if link is not None and linked is not None:
            assert turn.conversation is not None
            turn.conversation = replace(turn.conversation, start_link=link.payload)

    async def _answer_invitation(
        self,
        transaction: DialogueTransaction,
        turn: Turn,
        message: IncomingMessage,
        start: bool,
        campaign_id: int,
    ) -> None:
        """A tap on an invitation: no more invitations at once, or the campaign's flow."""
        if not start:
            self._mark_button_used(turn, message, chosen=text(Text.INVITATION_STOP, turn.language))
            await transaction.stop_invitations(
                customer_id=turn.customer.id, campaign_id=campaign_id
            )
            turn.replies.append(OutgoingMessage(text(Text.INVITATIONS_STOPPED, turn.language)))
            return
        self._mark_button_used(turn, message, chosen=text(Text.INVITATION_START, turn.language))
        flow_id = await transaction.campaign_flow(campaign_id=campaign_id)
        flow = None if flow_id is None else self._flows.live(flow_id)
        if turn.conversation is not None or flow is None:
            # A conversation under way goes on (an invitation never cuts into one); a campaign
            # whose flow is gone opens the default flow.
            await self._start(transaction, turn, "")
            return
        await self._begin(turn, greeting=Greeting.FLOW_WELCOME, flow=flow)
        assert turn.conversation is not None
        turn.conversation = replace(turn.conversation, campaign_id=campaign_id)

    def _linked_flow(
        self, turn: Turn, argument: str
    ) -> tuple[StartLink | None, FlowDefinition | None]:
        """The start link and the live flow it names; one not published is said kindly."""
        if not argument:
            return None, None
        link = parsed_start_link(argument)
        flow = None if link is None else self._flows.live(link.flow_id)
        if flow is None:
            turn.replies.append(OutgoingMessage(text(Text.UNKNOWN_FLOW_LINK, turn.language)))
        return link, flow

    def _flow_to_restart(self, turn: Turn) -> FlowDefinition | None:
        """The live version of the conversation's own flow (None: the default flow)."""
        return None if turn.conversation is None else self._flows.live(turn.conversation.flow_id)

    async def _restart(self, transaction: DialogueTransaction, turn: Turn, argument: str) -> None:
        """/restart: drop the conversation under way and begin its flow again."""
        flow = self._flow_to_restart(turn)
        await self._close(transaction, turn, ConversationStatus.CANCELLED)
        turn.replies.append(OutgoingMessage(text(Text.RESTARTING, turn.language)))
        await self._begin(turn, greeting=Greeting.NONE, flow=flow)

    async def _cancel(self, transaction: DialogueTransaction, turn: Turn, argument: str) -> None:
        """/cancel: drop the conversation under way, if there is one."""
        if turn.conversation is None:
            turn.replies.append(OutgoingMessage(text(Text.NOTHING_TO_CANCEL, turn.language)))
            return
        await self._close(transaction, turn, ConversationStatus.CANCELLED)
        turn.replies.append(OutgoingMessage(text(Text.CANCELLED, turn.language)))

    async def _help(self, transaction: DialogueTransaction, turn: Turn, argument: str) -> None:
        """/help: what ideabot does and which commands it knows."""
        turn.replies.append(OutgoingMessage(text(Text.HELP, turn.language)))

    async def _skip(self, transaction: DialogueTransaction, turn: Turn, argument: str) -> None:
        """/skip: pass over the current question; outside a conversation it is not a command."""
        if turn.conversation is None:
            await self._unknown_command(transaction, turn, argument)
            return
        await self._advance(transaction, turn, Answer(skip=True))

    async def _subscribe(self, transaction: DialogueTransaction, turn: Turn, argument: str) -> None:
        """/subscribe: send the customer news of their ideas again."""
        await self._set_wants_updates(transaction, turn, wants=True)

    async def _unsubscribe(
        self, transaction: DialogueTransaction, turn: Turn, argument: str
    ) -> None:
        """/unsubscribe: send the customer no more news of their ideas."""
        await self._set_wants_updates(transaction, turn, wants=False)

    async def _set_wants_updates(
        self, transaction: DialogueTransaction, turn: Turn, *, wants: bool
    ) -> None:
        """Keep the customer's choice and say so; an open question is asked again."""
        await transaction.set_wants_updates(customer_id=turn.customer.id, wants_updates=wants)
        said = Text.SUBSCRIBED if wants else Text.UNSUBSCRIBED
        turn.replies.append(OutgoingMessage(text(said, turn.language)))
        if turn.conversation is not None and turn.conversation.status is ConversationStatus.ACTIVE:
            turn.replies.append(await self._current_question(turn))

    async def _show_invitations(
        self, transaction: DialogueTransaction, turn: Turn, argument: str
    ) -> None:
        """/invitations: whether campaigns invite the customer, with a button to change it."""
        wants = await transaction.wants_invitations(customer_id=turn.customer.id)
        turn.replies.append(invitations_choice(wants=wants, language=turn.language))

    async def _set_wants_invitations(
        self, transaction: DialogueTransaction, turn: Turn, message: IncomingMessage, *, wants: bool
    ) -> None:
        """/invitations' button: keep the choice and say so; an open question is asked again."""
        chosen = Text.INVITATIONS_TURN_ON if wants else Text.INVITATION_STOP
        self._mark_button_used(turn, message, chosen=text(chosen, turn.language))
        await transaction.set_wants_invitations(customer_id=turn.customer.id, wants=wants)
        said = Text.INVITATIONS_RESUMED if wants else Text.INVITATIONS_STOPPED
        turn.replies.append(OutgoingMessage(text(said, turn.language)))
        if turn.conversation is not None and turn.conversation.status is ConversationStatus.ACTIVE:
            turn.replies.append(await self._current_question(turn))

    async def _ask_for_a_person(
        self, transaction: DialogueTransaction, turn: Turn, argument: str
    ) -> None:
        """/human: hand the conversation to staff; with nobody there, the open question goes on."""
        handed = self._handoff.ask_for_a_person(turn, self._flows.default_flow)
        if not handed and turn.conversation is not None:
            turn.replies.append(await self._current_question(turn))

    async def _show_privacy(
        self, transaction: DialogueTransaction, turn: Turn, argument: str
    ) -> None:
        """/privacy: what ideabot keeps about the customer, and why, how long, who sees it."""
        self._privacy.privacy(turn)

    async def _send_my_data(
        self, transaction: DialogueTransaction, turn: Turn, argument: str
    ) -> None:
        """/mydata: a file of everything kept about the customer, sent in the chat."""
        await self._privacy.my_data(transaction, turn)

    async def _forget(self, transaction: DialogueTransaction, turn: Turn, argument: str) -> None:
        """/forget: ask the customer to confirm the erasure of their data."""
        self._privacy.forget(turn)

    async def _unknown_command(
        self, transaction: DialogueTransaction, turn: Turn, argument: str
    ) -> None:
        """Any other command: say it is not one ideabot knows."""
        turn.replies.append(OutgoingMessage(text(Text.UNKNOWN_COMMAND, turn.language)))

    async def _choose_language(
        self, transaction: DialogueTransaction, turn: Turn, choice: str
    ) -> None:
        """/language and the language buttons: offer the languages, or switch to the chosen one."""
        if not choice:
            buttons = tuple(
                Button(LANGUAGE_NAMES.get(language, language), LANGUAGE_PAYLOAD + language)
                for language in self.languages
            )
            turn.replies.append(OutgoingMessage(text(Text.CHOOSE_LANGUAGE, turn.language), buttons))
            return
        language = resolve_language(choice, self.languages, "")
        if not language:
            names = ", ".join(LANGUAGE_NAMES.get(code, code) for code in self.languages)
            turn.replies.append(
                OutgoingMessage(text(Text.UNKNOWN_LANGUAGE, turn.language, languages=names))
            )
            return
        await transaction.set_customer_language(customer_id=turn.customer.id, language=language)
        turn.language = language
        turn.replies.append(OutgoingMessage(text(Text.LANGUAGE_SET, language)))
        if turn.conversation is not None and turn.conversation.status is ConversationStatus.ACTIVE:
            turn.replies.append(await self._current_question(turn))

    async def _take_answer(
        self, transaction: DialogueTransaction, turn: Turn, message: IncomingMessage
    ) -> None:
        if turn.conversation is None:
            returning = turn.customer.has_history
            if returning and self._opens_the_flow(message):
                # They were told to write any time to share another idea: this is that idea.
                await self._begin(turn, greeting=Greeting.IDEA_TAKEN)
                await self._advance(
                    transaction, turn, Answer(text=message.text, attachments=message.attachments)
                )
                return
            await self._begin(
                turn, greeting=Greeting.WELCOME_BACK if returning else Greeting.FLOW_WELCOME
            )
            return
        if message.button_payload is not None:
            await self._take_button(transaction, turn, message, message.button_payload)
            return
        if not message.text.strip() and not message.attachments:
            turn.replies.append(OutgoingMessage(text(Text.EMPTY_MESSAGE, turn.language)))
            return
        await self._advance(
            transaction, turn, Answer(text=message.text, attachments=message.attachments)
        )

    async def _take_button(
        self, transaction: DialogueTransaction, turn: Turn, message: IncomingMessage, payload: str
    ) -> None:
        """A pressed answer button: the answer if it belongs to the open question, else stale."""
        assert turn.conversation is not None
        value = pressed_answer(turn.conversation.state, payload)
        current = await self._current_question(turn)
        if value is None:
            turn.replies.append(OutgoingMessage(text(Text.STALE_BUTTON, turn.language)))
            turn.replies.append(current)
            self._mark_button_used(turn, message)
            return
        self._mark_button_used(turn, message, chosen=chosen_label(current, payload))
        await self._advance(transaction, turn, Answer(button_value=value))

    def _opens_the_flow(self, message: IncomingMessage) -> bool:
        """True when the message can answer the first question of a new conversation."""
        if message.button_payload is not None:
            return False
        first = self._flows.default_flow.first_step
        return first.kind is AnswerKind.TEXT and bool(
            message.text.strip() or (message.attachments and first.accepts_attachments)
        )

    async def _take_edit(
        self, transaction: DialogueTransaction, turn: Turn, message: IncomingMessage
    ) -> None:
        conversation = turn.conversation
        if conversation is None:
            # The idea this edit belongs to is recorded; the edit stays in the transcript.
            turn.replies.append(OutgoingMessage(text(Text.EDIT_KEPT, turn.language)))
            return
        answered = None
        if conversation.id is not None:
            answered = await transaction.answered_by(
                conversation_id=conversation.id, platform_message_id=message.platform_message_id
            )
        if answered is None:
            return  # not an answer (a command, say): kept in the transcript, nothing to say
        flow = await self._flow_of(conversation)
        revised = revise(flow, conversation.state, answered, message.text)
        if revised is None:
            turn.replies.append(OutgoingMessage(text(Text.EDIT_NOT_APPLIED, turn.language)))
            return
        turn.conversation = replace(conversation, state=revised)
        turn.replies.append(OutgoingMessage(text(Text.EDIT_APPLIED, turn.language)))

    async def _take_with_staff(
        self,
        transaction: DialogueTransaction,
        turn: Turn,
        message: IncomingMessage,
        command: str,
    ) -> None:
        """The conversation is with staff: words and files go to the thread, commands act."""
        language = turn.language
        if command in ("/start", "/human"):
            turn.replies.append(OutgoingMessage(text(Text.ALREADY_WITH_STAFF, language)))
        elif command in ("/cancel", "/restart"):
            starting_over = command == "/restart"
            flow = self._flow_to_restart(turn)
            await self._handoff.close_by_customer(transaction, turn, starting_over=starting_over)
            if starting_over:
                turn.replies.append(OutgoingMessage(text(Text.RESTARTING, language)))
                await self._begin(turn, greeting=Greeting.NONE, flow=flow)
            else:
                turn.replies.append(OutgoingMessage(text(Text.CANCELLED, language)))
        elif command:
            turn.replies.append(OutgoingMessage(text(Text.UNKNOWN_COMMAND, language)))
        elif message.button_payload is not None:
            turn.replies.append(OutgoingMessage(text(Text.NO_QUESTION_NOW, language)))
            self._mark_button_used(turn, message)
        elif message.text.strip() or message.attachments:
            self._handoff.relay(turn, message)

    async def _advance(self, transaction: DialogueTransaction, turn: Turn, answer: Answer) -> None:
        conversation = turn.conversation
        assert conversation is not None  # callers start a conversation first
        flow = await self._flow_of(conversation)
        if conversation.state.step == SAME_AS:
            await self._take_same_or_not(transaction, turn, flow, answer)
            return
        transition = advance(flow, conversation.state, answer, turn.language)
        if transition.idea is not None and self._similar_at_least > 0:
            draft = transition.idea
            match = await transaction.similar_idea(
                text=lookup_text(draft.title, draft.description),
                at_least=self._similar_at_least,
            )
            if match is not None:
                idea_id, title = match
                transition = ask_if_same(
                    transition, idea_id=idea_id, title=title, language=turn.language
                )
        self._apply(turn, transition)

    async def _take_same_or_not(
        self, transaction: DialogueTransaction, turn: Turn, flow: FlowDefinition, answer: Answer
    ) -> None:
        """The customer says whether their idea is the one we asked about."""
        conversation = turn.conversation
        assert conversation is not None
        assert conversation.id is not None
        state = conversation.state
        same = same_or_not(answer)
        if same is None:
            turn.replies.append(question(flow, state, turn.language))
            return
        if not same or state.same_as is None:
            transition = finish(flow, state, turn.language)
            if state.same_as is not None and transition.idea is not None:
                # A "no" is a labelled pair too: it calibrates the question and is not asked again.
                await transaction.not_the_same(
                    idea_id=state.same_as,
                    customer_id=turn.customer.id,
                    conversation_id=conversation.id,
                    text=lookup_text(transition.idea.title, transition.idea.description),
                )
            self._apply(turn, transition)
            return
        await transaction.join_idea(
            idea_id=state.same_as,
            customer_id=turn.customer.id,
            conversation_id=conversation.id,
            language=turn.language,
            draft=draft_idea(flow, state, turn.language),
        )
        logger.info("customer %s joined idea %s", turn.customer.id, state.same_as)
        turn.conversation = replace(
            conversation,
            status=ConversationStatus.FINISHED,
            state=replace(state, step=END, same_as=None, same_as_title=""),
        )
        turn.replies.append(
            OutgoingMessage(text(Text.SAME_IDEA_JOINED, turn.language, title=state.same_as_title))
        )

    async def _begin(
        self, turn: Turn, *, greeting: Greeting, flow: FlowDefinition | None = None
    ) -> None:
        """Start ``flow`` (the default one if None) with the greeting that fits how they came."""
        flow = flow or self._flows.default_flow
        transition = begin(flow, turn.language)
        turn.conversation = ConversationRecord(
            id=None,
            customer_id=turn.customer.id,
            flow_id=flow.id,
            flow_version=flow.version,
            status=ConversationStatus.ACTIVE,
            state=transition.state,
        )
        welcome, first_question = transition.replies
        if greeting is Greeting.IDEA_TAKEN:
            # The message in hand answers the first question, so it is not asked.
            turn.replies.append(OutgoingMessage(text(Text.NEW_IDEA_TAKEN, turn.language)))
            return
        if greeting is Greeting.WELCOME_BACK:
            turn.replies.append(OutgoingMessage(text(Text.WELCOME_BACK, turn.language)))
        elif greeting is Greeting.FLOW_WELCOME:
            turn.replies.append(welcome)
        turn.replies.append(first_question)

    def _apply(self, turn: Turn, transition: Transition) -> None:
        assert turn.conversation is not None
        status = turn.conversation.status
        turn.replies.extend(transition.replies)
        if transition.state.finished:
            status = ConversationStatus.FINISHED
            if self._handoff.flow_ended(
                turn, wants_staff=transition.handoff, idea_recorded=transition.idea is not None
            ):
                status = ConversationStatus.WITH_STAFF
        turn.conversation = replace(turn.conversation, state=transition.state, status=status)
        turn.answered = transition.answered
        turn.idea = transition.idea

    async def _close(
        self, transaction: DialogueTransaction, turn: Turn, status: ConversationStatus
    ) -> None:
        if turn.conversation is not None:
            await transaction.save_conversation(replace(turn.conversation, status=status))
            turn.conversation = None

    async def _current_question(self, turn: Turn) -> OutgoingMessage:
        assert turn.conversation is not None
        flow = await self._flow_of(turn.conversation)
        return question(flow, turn.conversation.state, turn.language)

    def _mark_button_used(
        self,
        turn: Turn,
        message: IncomingMessage,
        *,
        chosen: str = "",
        language_chosen: bool = False,
    ) -> None:
        label = chosen
        if language_chosen:
            code = (message.button_payload or "").removeprefix(LANGUAGE_PAYLOAD)
            label = LANGUAGE_NAMES.get(code, code)
        turn.actions_first.extend(used_buttons(message, chosen=label))

    async def _flow_of(self, conversation: ConversationRecord) -> FlowDefinition:
        return await self._flows.get(
            flow_id=conversation.flow_id, version=conversation.flow_version
        )

    async def _finish_turn(
        self, transaction: DialogueTransaction, turn: Turn, message: IncomingMessage
    ) -> None:
        conversation_id: int | None = None
        if turn.conversation is not None:
            conversation_id = await transaction.save_conversation(turn.conversation)
            idea_id = None
            if turn.idea is not None:
                idea_id = await transaction.record_idea(
                    customer_id=turn.customer.id,
                    conversation_id=conversation_id,
                    language=turn.language,
                    draft=turn.idea,
                )
                logger.info("recorded idea %s from customer %s", idea_id, turn.customer.id)
            if turn.handoff is not None:
                await self._handoff.open_thread(
                    transaction,
                    turn,
                    message=message,
                    flow=await self._flow_of(turn.conversation),
                    conversation_id=conversation_id,
                    idea_id=idea_id,
                )
        await self._handoff.post(transaction, turn)
        await transaction.record_message(
            TranscriptEntry(
                conversation_id=conversation_id,
                customer_id=turn.customer.id,
                direction=Direction.INBOUND,
                text=message.text or message.button_payload or "",
                platform_message_id=message.platform_message_id,
                answered=turn.answered,
                attachments=message.attachments,
                edited=message.edited,
            )
        )
        replies = merge_replies(turn.replies)
        for reply in replies:
            await transaction.record_message(
                TranscriptEntry(
                    conversation_id=conversation_id,
                    customer_id=turn.customer.id,
                    direction=Direction.OUTBOUND,
                    text=reply.text,
                )
            )
        actions: list[OutboundAction] = list(turn.actions_first)
        actions.extend(split_replies(replies, self._message_limits.get(message.key.platform)))
        actions.extend(turn.actions_last)
        if actions:
            await transaction.enqueue(key=message.key, actions=actions)
