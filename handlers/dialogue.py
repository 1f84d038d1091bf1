"""The one door into the core: each customer message becomes one transaction and its replies."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from handlers.conversation import (
    Attachment,
    Button,
    ButtonsUsed,
    FileLimits,
    IncomingMessage,
    OutboundAction,
    OutgoingMessage,
    megabytes,
)
from handlers.flow_engine import (
    Answer,
    IdeaDraft,
    Transition,
    advance,
    begin,
    draft_idea,
    parse_button_payload,
    question,
    revise,
)
from handlers.flow_schema import FlowDefinition
from handlers.keyed_locks import KeyedLocks
from handlers.ports import (
    ConversationRecord,
    ConversationStatus,
    CustomerProfile,
    DialogueStore,
    DialogueTransaction,
    Direction,
    FlowCatalog,
    OutboxSignal,
    TranscriptEntry,
)
from handlers.staff import (
    HandOffReason,
    PostCard,
    StaffAction,
    StaffCard,
    StaffRoom,
    ThreadPost,
    UpdateCard,
    answers_of,
    thread_posts,
)
from handlers.text_split import split_text
from handlers.texts import LANGUAGE_NAMES, SUPPORTED_LANGUAGES, Text, text

logger = logging.getLogger(__name__)

LANGUAGE_PAYLOAD = "lang:"
USED_BUTTON_MARK = "✔"
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


def merge_replies(replies: Sequence[OutgoingMessage]) -> list[OutgoingMessage]:
    """Join a reply without buttons to the next one, so a turn costs as few messages as it can."""
    merged: list[OutgoingMessage] = []
    for reply in replies:
        if merged and not merged[-1].buttons:
            merged[-1] = OutgoingMessage(f"{merged[-1].text}\n\n{reply.text}", reply.buttons)
        else:
            merged.append(reply)
    return merged


class Greeting(StrEnum):
    """How a new conversation opens."""

    FLOW_WELCOME = "flow_welcome"
    WELCOME_BACK = "welcome_back"
    NONE = "none"


@dataclass(slots=True)
class _Turn:
    """What one turn has decided so far: the conversation and what to send."""

    customer: CustomerProfile
    language: str
    conversation: ConversationRecord | None
    replies: list[OutgoingMessage]
    actions_first: list[OutboundAction]
    answered: str | None = None
    idea: IdeaDraft | None = None
    handoff: HandOffReason | None = None
    # Posts for a staff thread, by conversation (it may be closed by the end of the turn).
    staff_posts: list[tuple[int, StaffAction]] = field(default_factory=list)


class Dialogue:
    """Handles customer messages one at a time per conversation, each in one transaction."""

    def __init__(
        self,
        *,
        store: DialogueStore,
        flows: FlowCatalog,
        outbox_signal: OutboxSignal,
        message_limits: Mapping[str, int],
        staff_room: StaffRoom | None = None,
        file_limits: Mapping[str, FileLimits] | None = None,
        reopen_closed_threads: bool = False,
    ) -> None:
        self._reopen_closed_threads = reopen_closed_threads
        self._staff_room = staff_room
        self._file_limits = file_limits or {}
        self._store = store
        self._flows = flows
        self._outbox_signal = outbox_signal
        self._message_limits = message_limits
        self._locks = KeyedLocks()

    @property
    def languages(self) -> list[str]:
        """The languages customers can choose: the default flow's that ideabot has texts for."""
        flow_languages = self._flows.default_flow.languages
        return [language for language in flow_languages if language in SUPPORTED_LANGUAGES] or [
            self._flows.default_flow.default_language
        ]

    async def handle(self, message: IncomingMessage) -> bool:
        """Take one customer message; False when it had been handled before (a redelivery)."""
        async with self._locks.hold(message.key), self._store.transaction() as transaction:
            claimed = await transaction.claim_inbound(
                platform=message.key.platform, external_id=message.external_id
            )
            if not claimed:
                logger.info(
                    "skipped a redelivered %s event %s",
                    message.key.platform,
                    message.external_id,
                )
                return False
            await self._take_turn(transaction, message)
        self._outbox_signal.outbox_changed()
        return True

    async def _take_turn(self, transaction: DialogueTransaction, message: IncomingMessage) -> None:
        if not message.is_private_chat:
            if message.text.startswith("/"):
                default = self._flows.default_flow.default_language
                language = resolve_language(message.language_code, self.languages, default)
                reply = OutgoingMessage(text(Text.PRIVATE_CHATS_ONLY, language))
                await transaction.enqueue(key=message.key, actions=[reply])
            return
        flow = self._flows.default_flow
        customer = await transaction.customer_for(
            key=message.key,
            display_name=message.display_name,
            language=resolve_language(message.language_code, self.languages, flow.default_language),
        )
        turn = _Turn(
            customer=customer,
            language=customer.language,
            conversation=await transaction.open_conversation(customer_id=customer.id),
            replies=[],
            actions_first=[],
        )
        command, _, argument = message.text.strip().partition(" ")
        command = command.split("@")[0].casefold()
        is_command = message.button_payload is None and command.startswith("/")
        if (
            turn.conversation is None
            and self._reopen_closed_threads
            and not is_command
            and message.button_payload is None
            and not message.edited
        ):
            await self._reopen_last_thread(transaction, turn)
        with_staff = (
            turn.conversation is not None
            and turn.conversation.status is ConversationStatus.WITH_STAFF
        )
        if with_staff and not (is_command and command in ("/help", "/language")):
            await self._take_with_staff(transaction, turn, message, command if is_command else "")
        elif message.edited:
            await self._take_edit(transaction, turn, message)
        elif message.button_payload and message.button_payload.startswith(LANGUAGE_PAYLOAD):
            await self._choose_language(
                transaction, turn, message.button_payload.removeprefix(LANGUAGE_PAYLOAD)
            )
            self._mark_button_used(turn, message, language_chosen=True)
        elif is_command and not message.attachments:
            await self._take_command(transaction, turn, command, argument.strip())
        else:
            await self._take_answer(transaction, turn, message)
        await self._finish_turn(transaction, turn, message)

    async def _take_command(
        self, transaction: DialogueTransaction, turn: _Turn, command: str, argument: str
    ) -> None:
        language = turn.language
        if command == "/start":
            if turn.conversation is not None:
                turn.replies.append(OutgoingMessage(text(Text.RESUMING, language)))
                turn.replies.append(await self._current_question(turn))
            else:
                await self._begin(turn, greeting=Greeting.FLOW_WELCOME)
        elif command == "/restart":
            await self._close(transaction, turn, ConversationStatus.CANCELLED)
            turn.replies.append(OutgoingMessage(text(Text.RESTARTING, language)))
            await self._begin(turn, greeting=Greeting.NONE)
        elif command == "/cancel":
            if turn.conversation is None:
                turn.replies.append(OutgoingMessage(text(Text.NOTHING_TO_CANCEL, language)))
            else:
                await self._close(transaction, turn, ConversationStatus.CANCELLED)
                turn.replies.append(OutgoingMessage(text(Text.CANCELLED, language)))
        elif command == "/help":
            turn.replies.append(OutgoingMessage(text(Text.HELP, language)))
        elif command == "/language":
            await self._choose_language(transaction, turn, argument)
        elif command == "/skip" and turn.conversation is not None:
            await self._advance(turn, Answer(skip=True))
        elif command == "/human":
            await self._ask_for_a_person(turn)
        else:
            turn.replies.append(OutgoingMessage(text(Text.UNKNOWN_COMMAND, language)))

    async def _choose_language(
        self, transaction: DialogueTransaction, turn: _Turn, choice: str
    ) -> None:
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
        if turn.conversation is not None:
            turn.replies.append(await self._current_question(turn))

    async def _take_answer(
        self, transaction: DialogueTransaction, turn: _Turn, message: IncomingMessage
    ) -> None:
        if turn.conversation is None:
            returning = turn.customer.has_history
            await self._begin(
                turn, greeting=Greeting.WELCOME_BACK if returning else Greeting.FLOW_WELCOME
            )
            return
        if message.button_payload is not None:
            step_and_value = parse_button_payload(message.button_payload)
            state = turn.conversation.state
            if step_and_value is None or step_and_value[0] != state.step or state.follow_up_asked:
                turn.replies.append(OutgoingMessage(text(Text.STALE_BUTTON, turn.language)))
                turn.replies.append(await self._current_question(turn))
                self._mark_button_used(turn, message)
                return
            self._mark_button_used(turn, message, chosen=await self._button_label(turn, message))
            await self._advance(turn, Answer(button_value=step_and_value[1]))
            return
        if not message.text.strip() and not message.attachments:
            turn.replies.append(OutgoingMessage(text(Text.EMPTY_MESSAGE, turn.language)))
            return
        await self._advance(turn, Answer(text=message.text, attachments=message.attachments))

    async def _take_edit(
        self, transaction: DialogueTransaction, turn: _Turn, message: IncomingMessage
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
        turn: _Turn,
        message: IncomingMessage,
        command: str,
    ) -> None:
        """The conversation is with staff: words and files go to the thread, commands act."""
        conversation = turn.conversation
        assert conversation is not None
        assert conversation.id is not None
        language = turn.language
        if command in ("/start", "/human"):
            turn.replies.append(OutgoingMessage(text(Text.ALREADY_WITH_STAFF, language)))
        elif command in ("/cancel", "/restart"):
            await self._close_staff_thread(transaction, turn, conversation.id, command)
            if command == "/restart":
                turn.replies.append(OutgoingMessage(text(Text.RESTARTING, language)))
                await self._begin(turn, greeting=Greeting.NONE)
            else:
                turn.replies.append(OutgoingMessage(text(Text.CANCELLED, language)))
        elif command:
            turn.replies.append(OutgoingMessage(text(Text.UNKNOWN_COMMAND, language)))
        elif message.button_payload is not None:
            turn.replies.append(OutgoingMessage(text(Text.NO_QUESTION_NOW, language)))
            self._mark_button_used(turn, message)
        elif message.text.strip() or message.attachments:
            words = message.text if not message.edited else f"(edited) {message.text}"
            author = message.display_name or "Customer"
            passed = self._refuse_large_files(turn, conversation.id, message)
            for post in thread_posts(words, author=author, attachments=passed):
                turn.staff_posts.append((conversation.id, post))

    def _refuse_large_files(
        self, turn: _Turn, conversation_id: int, message: IncomingMessage
    ) -> tuple[Attachment, ...]:
        """The attachments that can go to staff; the customer hears of those too large to fetch."""
        limits = self._file_limits.get(message.key.platform, FileLimits())
        passed = []
        for attachment in message.attachments:
            if not limits.too_large_to_fetch(attachment):
                passed.append(attachment)
                continue
            size = megabytes(attachment.size_bytes or 0)
            limit = megabytes(limits.fetch_bytes or 0)
            name = attachment.file_name or attachment.kind.value
            turn.replies.append(
                OutgoingMessage(
                    text(Text.FILE_TOO_LARGE, turn.language, file=name, size=size, limit=limit)
                )
            )
            note = (
                f"{attachment.describe()} is too large to fetch from {message.key.platform} "
                f"(at most {limit} MB); the customer was asked for a smaller one."
            )
            turn.staff_posts.append((conversation_id, ThreadPost(note)))
        return tuple(passed)

    async def _reopen_last_thread(self, transaction: DialogueTransaction, turn: _Turn) -> None:
        """The customer writes again after a close: carry on in the same thread (if configured)."""
        if self._staff_room is None:
            return
        thread = await transaction.last_closed_thread(customer_id=turn.customer.id)
        if thread is None:
            return
        conversation_id = thread.conversation_id
        await transaction.set_conversation_status(
            conversation_id=conversation_id, status=ConversationStatus.WITH_STAFF
        )
        card = replace(thread.card, closed_by="")
        await transaction.save_card(card)
        turn.staff_posts.append((conversation_id, UpdateCard(card)))
        turn.staff_posts.append(
            (conversation_id, ThreadPost("The customer wrote again; the conversation is open."))
        )
        turn.conversation = await transaction.open_conversation(customer_id=turn.customer.id)

    async def _close_staff_thread(
        self, transaction: DialogueTransaction, turn: _Turn, conversation_id: int, command: str
    ) -> None:
        """The customer ended a conversation that was with staff: say so on the card."""
        thread = await transaction.thread_of(conversation_id=conversation_id)
        await self._close(transaction, turn, ConversationStatus.CLOSED)
        note = (
            "The customer started over with a new idea; this conversation is closed."
            if command == "/restart"
            else "The customer ended the conversation."
        )
        turn.staff_posts.append((conversation_id, ThreadPost(note)))
        if thread is not None:
            card = replace(thread.card, closed_by="the customer")
            await transaction.save_card(card)
            turn.staff_posts.append((conversation_id, UpdateCard(card)))

    async def _ask_for_a_person(self, turn: _Turn) -> None:
        """/human: hand the conversation to staff now, with what the customer has said so far."""
        if self._staff_room is None:
            turn.replies.append(OutgoingMessage(text(Text.NO_STAFF, turn.language)))
            return
        if turn.conversation is None:
            flow = self._flows.default_flow
            turn.conversation = ConversationRecord(
                id=None,
                customer_id=turn.customer.id,
                flow_id=flow.id,
                flow_version=flow.version,
                status=ConversationStatus.WITH_STAFF,
                state=begin(flow, turn.language).state,
            )
        else:
            turn.conversation = replace(turn.conversation, status=ConversationStatus.WITH_STAFF)
        turn.handoff = HandOffReason.CUSTOMER_ASKED
        turn.replies.append(OutgoingMessage(text(Text.HUMAN_REQUESTED, turn.language)))

    async def _advance(self, turn: _Turn, answer: Answer) -> None:
        conversation = turn.conversation
        assert conversation is not None  # callers start a conversation first
        flow = await self._flow_of(conversation)
        self._apply(turn, advance(flow, conversation.state, answer, turn.language))

    async def _begin(self, turn: _Turn, *, greeting: Greeting) -> None:
        """Start the default flow with the greeting that fits how the customer came."""
        flow = self._flows.default_flow
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
        if greeting is Greeting.WELCOME_BACK:
            turn.replies.append(OutgoingMessage(text(Text.WELCOME_BACK, turn.language)))
        elif greeting is Greeting.FLOW_WELCOME:
            turn.replies.append(welcome)
        turn.replies.append(first_question)

    def _apply(self, turn: _Turn, transition: Transition) -> None:
        assert turn.conversation is not None
        status = turn.conversation.status
        turn.replies.extend(transition.replies)
        if transition.state.finished:
            status = ConversationStatus.FINISHED
            if transition.handoff and self._staff_room is not None:
                status = ConversationStatus.WITH_STAFF
                turn.handoff = (
                    HandOffReason.IDEA_RECORDED if transition.idea else HandOffReason.FLOW_ASKED
                )
                turn.replies.append(OutgoingMessage(text(Text.HANDED_OFF, turn.language)))
        turn.conversation = replace(turn.conversation, state=transition.state, status=status)
        turn.answered = transition.answered
        turn.idea = transition.idea

    async def _close(
        self, transaction: DialogueTransaction, turn: _Turn, status: ConversationStatus
    ) -> None:
        if turn.conversation is not None:
            await transaction.save_conversation(replace(turn.conversation, status=status))
            turn.conversation = None

    async def _current_question(self, turn: _Turn) -> OutgoingMessage:
        assert turn.conversation is not None
        flow = await self._flow_of(turn.conversation)
        return question(flow, turn.conversation.state, turn.language)

    async def _button_label(self, turn: _Turn, message: IncomingMessage) -> str:
        current = await self._current_question(turn)
        for button in current.buttons:
            if button.payload == message.button_payload:
                return button.label
        return ""

    def _mark_button_used(
        self,
        turn: _Turn,
        message: IncomingMessage,
        *,
        chosen: str = "",
        language_chosen: bool = False,
    ) -> None:
        if not message.button_message_id:
            return
        label = chosen
        if language_chosen:
            code = (
                message.button_payload.removeprefix(LANGUAGE_PAYLOAD)
                if message.button_payload
                else ""
            )
            label = LANGUAGE_NAMES.get(code, code)
        marked = message.button_message_text
        if label:
            marked = f"{marked}\n\n{USED_BUTTON_MARK} {label}"
        turn.actions_first.append(ButtonsUsed(message.button_message_id, marked))

    async def _flow_of(self, conversation: ConversationRecord) -> FlowDefinition:
        return await self._flows.get(
            flow_id=conversation.flow_id, version=conversation.flow_version
        )

    async def _finish_turn(
        self, transaction: DialogueTransaction, turn: _Turn, message: IncomingMessage
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
                card = await self._hand_off(transaction, turn, message, conversation_id)
                if idea_id is not None and turn.idea is not None:
                    card = card.with_idea(idea_id, turn.idea)
                assert self._staff_room is not None
                await transaction.open_thread(room=self._staff_room, card=card)
                # The card first, then the files the customer gave during the flow.
                files = thread_posts(
                    "", author=card.customer_name, attachments=turn.conversation.state.attachments
                )
                turn.staff_posts[:0] = [(conversation_id, PostCard(card))] + [
                    (conversation_id, post) for post in files
                ]
                logger.info("handed conversation %s to staff (%s)", conversation_id, turn.handoff)
        await self._post_to_staff(transaction, turn)
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
        actions.extend(self._split(message.key.platform, replies))
        if actions:
            await transaction.enqueue(key=message.key, actions=actions)

    async def _hand_off(
        self,
        transaction: DialogueTransaction,
        turn: _Turn,
        message: IncomingMessage,
        conversation_id: int,
    ) -> StaffCard:
        """The card that opens the conversation's staff thread."""
        assert turn.conversation is not None
        assert turn.handoff is not None
        flow = await self._flow_of(turn.conversation)
        partial = draft_idea(flow, turn.conversation.state, turn.language)
        return StaffCard(
            conversation_id=conversation_id,
            customer_name=message.display_name or f"{message.key.platform} user",
            platform=message.key.platform,
            language=turn.language,
            reason=turn.handoff,
            title=partial.title if partial.answers else "",
            answers=answers_of(partial.answers),
        )

    async def _post_to_staff(self, transaction: DialogueTransaction, turn: _Turn) -> None:
        if self._staff_room is None or not turn.staff_posts:
            return
        by_conversation: dict[int, list[StaffAction]] = {}
        for conversation_id, action in turn.staff_posts:
            by_conversation.setdefault(conversation_id, []).append(action)
        for conversation_id, actions in by_conversation.items():
            await transaction.enqueue_to_staff(
                room=self._staff_room, conversation_id=conversation_id, actions=actions
            )

    def _split(self, platform: str, replies: list[OutgoingMessage]) -> list[OutgoingMessage]:
        limit = self._message_limits.get(platform)
        if limit is None:
            return replies
        parts: list[OutgoingMessage] = []
        for reply in replies:
            pieces = split_text(reply.text, limit)
            parts.extend(OutgoingMessage(piece) for piece in pieces[:-1])
            parts.append(OutgoingMessage(pieces[-1], reply.buttons))
        return parts
