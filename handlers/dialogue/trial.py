"""An admin tries a draft in their direct message, as a customer would; nothing of it counts.

A trial runs the same engine and sends through the same outbox as a customer's conversation,
but it lives in its own rows (``Trials``), never in customers' conversations, transcripts or
ideas: so no idea is recorded, no similar idea is linked, nothing goes to staff, no reminder
comes, and no funnel, digest or export can count it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

from handlers.dialogue.dialogue import USED_BUTTON_MARK, command_of, merge_replies, resolve_language
from handlers.dialogue.keyed_locks import KeyedLocks
from handlers.dialogue.text_split import split_text
from handlers.flows.engine import (
    Answer,
    Transition,
    advance,
    begin,
    draft_idea,
    parse_button_payload,
    question,
)
from handlers.flows.versions import FlowDraft
from handlers.messages import (
    Button,
    ButtonsUsed,
    ConversationKey,
    IncomingMessage,
    OutboundAction,
    OutgoingMessage,
    TextLimit,
)
from handlers.ports import (
    CustomerOutbox,
    Inbox,
    OutboxSignal,
    Store,
    TrialRecord,
    Trials,
    TrialStatus,
)
from handlers.staff.room import answers_of
from handlers.texts import Text, text

logger = logging.getLogger(__name__)

# Payloads of the trial's own buttons; "__" keeps them apart from a step's "<step>:<value>".
STOP_PAYLOAD = "__trial:stop"
_PUBLISH_PREFIX = "__trial_publish:"
_STOP_COMMANDS = ("/cancel", "/stop")
TRIAL_OVER = "That trial is over, so nothing happened. Press Try on a draft to try it again."
TRIAL_COMMANDS = (
    "In a trial, /ideabot skip, /ideabot restart and /ideabot cancel work as for customers; "
    "nothing else was done."
)


def publish_payload(*, flow_id: str, draft_id: int, seen_live: int) -> str:
    """What the Publish button at a trial's end sends back."""
    return f"{_PUBLISH_PREFIX}{flow_id}:{draft_id}:{seen_live}"


def parse_publish_payload(payload: str) -> tuple[str, int, int] | None:
    """The (flow id, draft id, live version seen) a Publish button carries; None for others."""
    if not payload.startswith(_PUBLISH_PREFIX):
        return None
    flow_id, _, numbers = payload.removeprefix(_PUBLISH_PREFIX).partition(":")
    draft, _, seen = numbers.partition(":")
    if not (flow_id and draft.isdigit() and seen.isdigit()):
        return None
    return flow_id, int(draft), int(seen)


def opening_line(trial: TrialRecord) -> str:
    """The line a trial starts with, so the admin knows nothing of it counts."""
    return (
        f"Trying draft {trial.draft_id} of *{trial.flow_id}* — nothing you answer is recorded. "
        "Type /ideabot cancel (or press Stop) to stop."
    )


def summary(trial: TrialRecord, transition: Transition) -> OutgoingMessage:
    """What the finished trial would have recorded, with a Publish button for its draft."""
    flow = trial.definition
    draft = draft_idea(flow, transition.state, trial.language)
    lines = [f"Trial of draft {trial.draft_id} of *{trial.flow_id}* done; nothing was recorded."]
    if transition.idea is not None:
        lines.append(f"A customer's answers would have recorded this idea: *{draft.title}*")
    else:
        lines.append("This flow records no idea; a customer's answers would have been:")
    lines.extend(f"• {answer.question} → {answer.answer}" for answer in answers_of(draft.answers))
    if transition.handoff:
        lines.append("Then the flow hands the conversation to staff.")
    payload = publish_payload(
        flow_id=trial.flow_id, draft_id=trial.draft_id, seen_live=trial.seen_live
    )
    return OutgoingMessage("\n".join(lines), (Button("Publish", payload),))


@dataclass(frozen=True, slots=True)
class TrialStart:
    """An admin asked to try a draft in their direct message."""

    external_id: str
    key: ConversationKey
    draft: FlowDraft
    # The live version when asked (0: none), for the Publish button at the end.
    seen_live: int
    language_code: str
    actor: str


class TrialTransaction(Inbox, Trials, CustomerOutbox, Protocol):
    """What one turn of a trial reads and writes, committed together."""


@dataclass(slots=True)
class _TrialTurn:
    """The trial as this turn leaves it, and what it will send."""

    trial: TrialRecord | None
    replies: list[OutgoingMessage] = field(default_factory=list)
    actions_first: list[OutboundAction] = field(default_factory=list)


class FlowTrials:
    """Runs admins' trials of drafts, one transaction per message, sent through the outbox."""

    def __init__(
        self,
        *,
        store: Store[TrialTransaction],
        outbox_signal: OutboxSignal,
        message_limits: Mapping[str, TextLimit],
    ) -> None:
        self._store = store
        self._outbox_signal = outbox_signal
        self._message_limits = message_limits
        self._locks = KeyedLocks()

    async def start(self, request: TrialStart) -> bool:
        """Begin a trial of the draft (ending one under way); False if asked before."""
        key = request.key
        async with self._locks.hold(key), self._store.transaction() as transaction:
            if not await transaction.claim_inbound(
                platform=key.platform, external_id=request.external_id
            ):
                return False
            flow = request.draft.definition
            language = resolve_language(
                request.language_code, flow.languages, flow.default_language
            )
            opening = begin(flow, language)
            trial = TrialRecord(
                id=None,
                key=key,
                flow_id=flow.id,
                draft_id=request.draft.draft_id,
                seen_live=request.seen_live,
                language=language,
                definition=flow,
                status=TrialStatus.ACTIVE,
                state=opening.state,
            )
            trial_id = await transaction.start_trial(
                trial, actor=request.actor, source=request.draft.source
            )
            stop = OutgoingMessage(opening_line(trial), (Button("Stop", STOP_PAYLOAD),))
            turn = _TrialTurn(trial=trial, replies=[stop, *opening.replies])
            await self._send(transaction, key, turn)
        self._outbox_signal.outbox_changed()
        logger.info("trial %s of draft %s of flow '%s' started", trial_id, trial.draft_id, flow.id)
        return True

    async def take(self, message: IncomingMessage) -> bool:
        """An admin's words or click in their DM; False when no trial runs and it is no click."""
        async with self._locks.hold(message.key), self._store.transaction() as transaction:
            trial = await transaction.running_trial(key=message.key)
            if trial is None and message.button_payload is None:
                return False  # not the trial's: the caller says where customers are
            if not await transaction.claim_inbound(
                platform=message.key.platform, external_id=message.external_id
            ):
                return True
            turn = _TrialTurn(trial=trial)
            if trial is None:
                turn.replies.append(OutgoingMessage(TRIAL_OVER))
                _mark_used(turn, message)
            else:
                self._route(turn, trial, message)
                assert turn.trial is not None
                await transaction.save_trial(turn.trial)
            await self._send(transaction, message.key, turn)
        self._outbox_signal.outbox_changed()
        return True

    def _route(self, turn: _TrialTurn, trial: TrialRecord, message: IncomingMessage) -> None:
        """Hand the message to the part of the trial that takes it."""
        command, _ = command_of(message)
        if message.button_payload == STOP_PAYLOAD or command in _STOP_COMMANDS:
            turn.trial = replace(trial, status=TrialStatus.STOPPED)
            turn.replies.append(OutgoingMessage("Trial stopped; nothing was recorded."))
            _mark_used(turn, message)
        elif message.button_payload is not None:
            self._take_button(turn, trial, message, message.button_payload)
        elif command == "/skip":
            self._advance(turn, trial, Answer(skip=True))
        elif command == "/restart":
            opening = begin(trial.definition, trial.language)
            turn.trial = replace(trial, state=opening.state)
            turn.replies.append(OutgoingMessage(text(Text.RESTARTING, trial.language)))
            turn.replies.append(opening.replies[-1])
        elif command:
            turn.replies.append(OutgoingMessage(TRIAL_COMMANDS))
            turn.replies.append(question(trial.definition, trial.state, trial.language))
        elif not message.text.strip() and not message.attachments:
            turn.replies.append(OutgoingMessage(text(Text.EMPTY_MESSAGE, trial.language)))
        else:
            self._advance(turn, trial, Answer(text=message.text, attachments=message.attachments))

    def _take_button(
        self, turn: _TrialTurn, trial: TrialRecord, message: IncomingMessage, payload: str
    ) -> None:
        """A pressed answer button: the answer if it belongs to the open question, else stale."""
        current = question(trial.definition, trial.state, trial.language)
        step_and_value = parse_button_payload(payload)
        state = trial.state
        if step_and_value is None or step_and_value[0] != state.step or state.follow_up_asked:
            turn.replies.append(OutgoingMessage(text(Text.STALE_BUTTON, trial.language)))
            turn.replies.append(current)
            _mark_used(turn, message)
            return
        chosen = next((button.label for button in current.buttons if button.payload == payload), "")
        _mark_used(turn, message, chosen=chosen)
        self._advance(turn, trial, Answer(button_value=step_and_value[1]))

    def _advance(self, turn: _TrialTurn, trial: TrialRecord, answer: Answer) -> None:
        """The engine moves the trial on; at the end, what would have been recorded."""
        transition = advance(trial.definition, trial.state, answer, trial.language)
        status = TrialStatus.FINISHED if transition.state.finished else trial.status
        turn.trial = replace(trial, state=transition.state, status=status)
        turn.replies.extend(transition.replies)
        if transition.state.finished:
            turn.replies.append(summary(trial, transition))

    async def _send(
        self, transaction: TrialTransaction, key: ConversationKey, turn: _TrialTurn
    ) -> None:
        """Queue the turn's messages for the admin's chat, cut to the platform's length."""
        actions: list[OutboundAction] = list(turn.actions_first)
        limit = self._message_limits.get(key.platform)
        for reply in merge_replies(turn.replies):
            pieces = split_text(reply.text, limit) if limit is not None else [reply.text]
            actions.extend(OutgoingMessage(piece) for piece in pieces[:-1])
            actions.append(OutgoingMessage(pieces[-1], reply.buttons))
        if actions:
            await transaction.enqueue(key=key, actions=actions)


def _mark_used(turn: _TrialTurn, message: IncomingMessage, *, chosen: str = "") -> None:
    """The pressed button's message loses its buttons, showing the choice as a customer's does."""
    if not message.button_message_id:
        return
    marked = message.button_message_text
    if chosen:
        marked = f"{marked}\n\n{USED_BUTTON_MARK} {chosen}"
    turn.actions_first.append(ButtonsUsed(message.button_message_id, marked))
