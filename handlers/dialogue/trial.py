"""An admin tries a draft in their direct message, with a customer's questions; nothing counts.

A trial runs the same engine and sends through the same outbox as a customer's conversation,
but it lives in its own rows (``Trials``), never in customers' conversations, transcripts or
ideas: so no idea is recorded, no similar idea is linked, nothing goes to staff, no reminder
comes, and no funnel, digest or export can count it.

What a trial leaves out, and why: the similar-idea question (it would show customers' ideas and
its answer joins one), /human (there is no conversation to hand to staff), and /help,
/language, /subscribe, /unsubscribe and /invitations (they describe or change the admin as a
customer, not the trial); /skip, /restart and /cancel work as for customers. A trial idle for
a day is over.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from handlers.dialogue import replies
from handlers.dialogue.dialogue import resolve_language
from handlers.dialogue.keyed_locks import KeyedLocks
from handlers.flows.engine import (
    Answer,
    Transition,
    advance,
    begin,
    draft_idea,
    question,
)
from handlers.flows.versions import FlowDraft
from handlers.messages import (
    Button,
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
    Schedule,
    Store,
    TrialRecord,
    Trials,
    TrialStatus,
)
from handlers.staff.room import answers_of
from handlers.texts import Text, text

logger = logging.getLogger(__name__)

# Every button of a trial carries "__trial:<trial id>:<what>", so a click can be told apart from
# a customer's answer (an admin may be a customer too) and from another trial's buttons.
_TRIAL_PREFIX = "__trial:"
_PUBLISH_PREFIX = "__trial_publish:"
STOP = "stop"
_STOP_COMMANDS = ("/cancel", "/stop")
# A trial nobody answered for this long is over: the admin's words go where they would without.
TRIAL_IDLE_LIMIT = timedelta(hours=24)
# Trials last touched longer ago than this are deleted (each holds a copy of its flow).
TRIALS_KEPT = timedelta(days=30)
TRIAL_CLEANUP_JOB = "trial_cleanup"
TRIAL_OVER = "That trial is over, so nothing happened. Press Try on a draft to try it again."
OLDER_TRIAL = "That button belongs to an earlier trial, which is over. This trial goes on:"
TRIAL_COMMANDS = (
    "In a trial, /ideabot skip, /ideabot restart and /ideabot cancel work as for customers; "
    "nothing else was done."
)


def is_trial_payload(payload: str) -> bool:
    """True for the payload of any trial's button (an answer, Stop or Publish)."""
    return payload.startswith((_TRIAL_PREFIX, _PUBLISH_PREFIX))


def trial_payload(trial_id: int, what: str) -> str:
    """The payload of trial ``trial_id``'s button that sends ``what`` (a step's payload, Stop)."""
    return f"{_TRIAL_PREFIX}{trial_id}:{what}"


def parse_trial_payload(payload: str) -> tuple[int, str] | None:
    """The (trial id, what) a trial's button carries; None for any other payload."""
    if not payload.startswith(_TRIAL_PREFIX):
        return None
    trial_id, _, what = payload.removeprefix(_TRIAL_PREFIX).partition(":")
    return (int(trial_id), what) if trial_id.isdigit() and what else None


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


class TrialTransaction(Inbox, Trials, Schedule, CustomerOutbox, Protocol):
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
            trial_id = await transaction.start_trial(trial)
            trial = replace(trial, id=trial_id)
            stop = OutgoingMessage(
                opening_line(trial), (Button("Stop", trial_payload(trial_id, STOP)),)
            )
            turn = _TrialTurn(trial=trial, replies=[stop, *opening.replies])
            await self._send(transaction, key, turn)
        self._outbox_signal.outbox_changed()
        logger.info("trial %s of draft %s of flow '%s' started", trial_id, trial.draft_id, flow.id)
        return True

    async def take(self, message: IncomingMessage) -> bool:
        """An admin's words or trial click in their DM; False if no trial runs and it is words."""
        async with self._locks.hold(message.key), self._store.transaction() as transaction:
            trial = await transaction.running_trial(key=message.key, idle_limit=TRIAL_IDLE_LIMIT)
            if trial is None and message.button_payload is None:
                return False  # not the trial's: the caller sends it where it goes without one
            if not await transaction.claim_inbound(
                platform=message.key.platform, external_id=message.external_id
            ):
                return True
            turn = _TrialTurn(trial=trial)
            if trial is None:
                turn.replies.append(OutgoingMessage(TRIAL_OVER))
                turn.actions_first.extend(replies.used_buttons(message))
            else:
                self._route(turn, trial, message)
                assert turn.trial is not None
                await transaction.save_trial(turn.trial)
            await self._send(transaction, message.key, turn)
        self._outbox_signal.outbox_changed()
        return True

    async def sweep(self, now: datetime) -> int:
        """Once a day, in one process: delete trials untouched for ``TRIALS_KEPT``; how many."""
        async with self._store.transaction() as transaction:
            period = now.date().isoformat()
            if not await transaction.claim_scheduled_run(
                job=TRIAL_CLEANUP_JOB, period=period, at=now
            ):
                return 0
            deleted = await transaction.delete_trials(touched_before=now - TRIALS_KEPT)
        if deleted:
            logger.info("deleted %s trials untouched for %s days", deleted, TRIALS_KEPT.days)
        return deleted

    def _route(self, turn: _TrialTurn, trial: TrialRecord, message: IncomingMessage) -> None:
        """Hand the message to the part of the trial that takes it."""
        command, _ = replies.command_of(message)
        if message.button_payload is not None:
            self._take_button(turn, trial, message, message.button_payload)
        elif command in _STOP_COMMANDS:
            self._stop(turn, trial, message)
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

    def _stop(self, turn: _TrialTurn, trial: TrialRecord, message: IncomingMessage) -> None:
        """Stop or /cancel: the trial ends here, having recorded nothing."""
        turn.trial = replace(trial, status=TrialStatus.STOPPED)
        turn.replies.append(OutgoingMessage("Trial stopped; nothing was recorded."))
        turn.actions_first.extend(replies.used_buttons(message))

    def _take_button(
        self, turn: _TrialTurn, trial: TrialRecord, message: IncomingMessage, payload: str
    ) -> None:
        """This trial's Stop or answer button; an earlier trial's or question's is stale."""
        current = question(trial.definition, trial.state, trial.language)
        pressed = parse_trial_payload(payload)
        if pressed is None or pressed[0] != trial.id:
            turn.replies.extend([OutgoingMessage(OLDER_TRIAL), current])
            turn.actions_first.extend(replies.used_buttons(message))
            return
        what = pressed[1]
        if what == STOP:
            self._stop(turn, trial, message)
            return
        value = replies.pressed_answer(trial.state, what)
        if value is None:
            turn.replies.extend([OutgoingMessage(text(Text.STALE_BUTTON, trial.language)), current])
            turn.actions_first.extend(replies.used_buttons(message))
            return
        chosen = replies.chosen_label(current, what)
        turn.actions_first.extend(replies.used_buttons(message, chosen=chosen))
        self._advance(turn, trial, Answer(button_value=value))

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
        """Queue the turn's messages for the admin's chat, its buttons marked as this trial's."""
        outgoing = replies.merge_replies(turn.replies)
        if turn.trial is not None and turn.trial.id is not None:
            outgoing = [_as_trials(reply, turn.trial.id) for reply in outgoing]
        actions: list[OutboundAction] = list(turn.actions_first)
        actions.extend(replies.split_replies(outgoing, self._message_limits.get(key.platform)))
        if actions:
            await transaction.enqueue(key=key, actions=actions)


def _as_trials(reply: OutgoingMessage, trial_id: int) -> OutgoingMessage:
    """The reply with its answer buttons carrying the trial's id (Stop and Publish already do)."""
    buttons = tuple(
        button
        if is_trial_payload(button.payload)
        else replace(button, payload=trial_payload(trial_id, button.payload))
        for button in reply.buttons
    )
    return replace(reply, buttons=buttons)
