"""Runs a question flow: ``advance(flow, state, answer)`` is a pure function, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from handlers.flows.schema import (
    END,
    HUMAN,
    AnswerKind,
    Branch,
    FlowDefinition,
    IdeaField,
    LocalizedText,
    Step,
)
from handlers.messages import Attachment, Button, OutgoingMessage
from handlers.texts import Text, text

AnswerValue = str | int | bool | None
SKIP_VALUE = "__skip"
# Not a flow step: the customer is asked whether their idea is one we already have.
SAME_AS = "__same_as"
FOLLOW_UP_SUFFIX = ".more"
TITLE_LENGTH = 80
UNTITLED = "(untitled idea)"
# A rating or a choice number is short; longer digit runs are no answer (and int() refuses
# more than 4300 digits, which a Slack DM can hold).
MAX_NUMBER_DIGITS = 6
# No address is longer (RFC 5321), and the idea's email column holds 320 characters: a longer
# answer would fail the turn on PostgreSQL rather than be asked again.
MAX_EMAIL_LENGTH = 254

_YES_WORDS = {
    "yes",
    "y",
    "yeah",
    "yep",
    "yup",
    "sure",
    "ok",
    "okay",
    "ja",
    "j",
    "jo",
    "jepp",
    "gjerne",
}
_NO_WORDS = {"no", "n", "nope", "nah", "nei", "nix", "ikke"}
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]{2,}$")
_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


@dataclass(frozen=True, slots=True)
class FlowState:
    """Where a conversation stands in its flow, as stored between messages."""

    step: str
    attempts: int = 0
    follow_up_asked: bool = False
    answers: dict[str, AnswerValue] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()
    # At SAME_AS: the existing idea the customer is asked about, and its title.
    same_as: int | None = None
    same_as_title: str = ""

    @property
    def finished(self) -> bool:
        """True once the last step has been answered."""
        return self.step == END

    def to_json(self) -> dict[str, Any]:
        """The state as JSON-ready data, for the database."""
        return {
            "step": self.step,
            "attempts": self.attempts,
            "follow_up_asked": self.follow_up_asked,
            "answers": dict(self.answers),
            "attachments": [attachment.to_json() for attachment in self.attachments],
            "same_as": self.same_as,
            "same_as_title": self.same_as_title,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FlowState:
        """A state from what ``to_json`` wrote."""
        return cls(
            step=data["step"],
            attempts=int(data.get("attempts", 0)),
            follow_up_asked=bool(data.get("follow_up_asked", False)),
            answers=dict(data.get("answers") or {}),
            attachments=tuple(Attachment.from_json(item) for item in data.get("attachments", [])),
            same_as=data.get("same_as"),
            same_as_title=data.get("same_as_title", ""),
        )


@dataclass(frozen=True, slots=True)
class Answer:
    """What the customer gave for the current step: words, a button, a skip or files."""

    text: str = ""
    button_value: str | None = None
    skip: bool = False
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class IdeaDraft:
    """The idea a finished flow recorded, ready to be stored."""

    title: str
    description: str
    problem: str | None
    frequency: str | None
    importance: int | None
    may_contact: bool | None
    email: str | None
    answers: dict[str, dict[str, Any]]
    attachments: tuple[Attachment, ...]


@dataclass(frozen=True, slots=True)
class Transition:
    """The result of one step of a flow: the new state and what to say."""

    state: FlowState
    replies: tuple[OutgoingMessage, ...]
    answered: str | None = None
    idea: IdeaDraft | None = None
    # The flow ended asking for a person: the conversation goes to staff.
    handoff: bool = False


def localized(value: LocalizedText, language: str, flow: FlowDefinition) -> str:
    """A flow text in ``language``, or in the flow's default language."""
    return value.get(language) or value[flow.default_language]


def button_payload(step_id: str, value: str) -> str:
    """What a button for ``value`` of step ``step_id`` sends back when pressed."""
    return f"{step_id}:{value}"


def parse_button_payload(payload: str) -> tuple[str, str] | None:
    """The (step id, value) a step button carries, or None for any other payload."""
    step_id, separator, value = payload.partition(":")
    return (step_id, value) if separator and step_id and value else None


def question(flow: FlowDefinition, state: FlowState, language: str) -> OutgoingMessage:
    """The current question (or its follow-up) with its buttons."""
    if state.step == SAME_AS:
        return _same_as_question(state, language)
    step = flow.step(state.step)
    if state.follow_up_asked:
        # An edited answer may no longer call for the follow-up; then ask the step again.
        follow_up = _follow_up_question(step, state, language, flow)
        return OutgoingMessage(follow_up or localized(step.question, language, flow))
    buttons: list[Button] = []
    if step.kind is AnswerKind.CHOICE:
        buttons = [
            Button(localized(choice.label, language, flow), button_payload(step.id, choice.id))
            for choice in step.choices or []
        ]
    elif step.kind is AnswerKind.YES_NO:
        buttons = [
            Button(text(Text.YES, language), button_payload(step.id, "yes")),
            Button(text(Text.NO, language), button_payload(step.id, "no")),
        ]
    elif step.kind is AnswerKind.RATING:
        buttons = [Button(str(n), button_payload(step.id, str(n))) for n in range(1, 6)]
    if step.optional:
        buttons.append(
            Button(text(Text.SKIP_BUTTON, language), button_payload(step.id, SKIP_VALUE))
        )
    return OutgoingMessage(localized(step.question, language, flow), tuple(buttons))


def _same_as_question(state: FlowState, language: str) -> OutgoingMessage:
    return OutgoingMessage(
        text(Text.SAME_IDEA_QUESTION, language, title=state.same_as_title),
        (
            Button(text(Text.SAME_IDEA_YES, language), button_payload(SAME_AS, "yes")),
            Button(text(Text.SAME_IDEA_NO, language), button_payload(SAME_AS, "no")),
        ),
    )


def ask_if_same(transition: Transition, *, idea_id: int, title: str, language: str) -> Transition:
    """Instead of recording the idea at once, ask whether it is the same as ``title``."""
    asking = replace(transition.state, step=SAME_AS, same_as=idea_id, same_as_title=title)
    return Transition(asking, (_same_as_question(asking, language),), answered=transition.answered)


def same_or_not(answer: Answer) -> bool | None:
    """The customer's yes or no to "is your idea the same as …?", or None if unclear."""
    words = _words((answer.button_value or answer.text).strip())
    if words and words[0] in _YES_WORDS:
        return True
    if words and words[0] in _NO_WORDS:
        return False
    return None


def finish(flow: FlowDefinition, state: FlowState, language: str) -> Transition:
    """The end of the flow: thanks, what happens next, the idea, and whether staff take over."""
    ended = replace(state, step=END, same_as=None, same_as_title="")
    replies = [OutgoingMessage(localized(flow.end.thanks, language, flow))]
    if flow.end.next_steps is not None:
        replies.append(OutgoingMessage(localized(flow.end.next_steps, language, flow)))
    idea = draft_idea(flow, ended, language) if flow.end.record_idea else None
    return Transition(ended, tuple(replies), idea=idea, handoff=flow.end.handoff)


def begin(flow: FlowDefinition, language: str) -> Transition:
    """Start a flow: the welcome and the first question."""
    state = FlowState(step=flow.first_step.id)
    welcome = OutgoingMessage(localized(flow.welcome, language, flow))
    return Transition(state=state, replies=(welcome, question(flow, state, language)))


def advance(flow: FlowDefinition, state: FlowState, answer: Answer, language: str) -> Transition:
    """Take the customer's answer to the current step and move the flow on."""
    step = flow.step(state.step)
    if state.follow_up_asked:
        return _take_follow_up(flow, state, step, answer, language)
    if answer.skip or answer.button_value == SKIP_VALUE:
        if not step.optional:
            return Transition(
                state,
                (
                    OutgoingMessage(text(Text.CANNOT_SKIP, language)),
                    question(flow, state, language),
                ),
            )
        return _move_on(flow, state, step, None, language, note=text(Text.SKIPPED, language))
    attachments = state.attachments + answer.attachments
    if answer.attachments and not answer.text.strip() and answer.button_value is None:
        if not step.accepts_attachments:
            return Transition(
                state,
                (
                    OutgoingMessage(text(Text.ANSWER_IN_WORDS, language)),
                    question(flow, state, language),
                ),
            )
        kept = replace(state, attachments=attachments)
        return Transition(
            kept, (OutgoingMessage(text(Text.ATTACHMENT_KEPT, language)),), answered=step.id
        )
    if answer.attachments and not step.accepts_attachments:
        # The words still answer the step; the files stay in the transcript only.
        attachments = state.attachments
    value = parse_answer(step, answer, flow)
    if value is None:
        attempts = state.attempts + 1
        if attempts >= step.max_attempts:
            fallback: AnswerValue = None if step.optional else answer.text.strip() or None
            kept = replace(state, attachments=attachments)
            return _move_on(
                flow, kept, step, fallback, language, note=text(Text.MOVING_ON, language)
            )
        retry = (
            localized(step.retry, language, flow)
            if step.retry
            else text(_RETRY_TEXTS[step.kind], language)
        )
        again = question(flow, state, language)
        return Transition(
            replace(state, attempts=attempts), (OutgoingMessage(retry, again.buttons),)
        )
    answered = replace(state, attachments=attachments, answers={**state.answers, step.id: value})
    if isinstance(value, str) and step.kind is AnswerKind.TEXT:
        follow_up = _follow_up_question(step, answered, language, flow)
        if follow_up is not None:
            asked = replace(answered, attempts=0, follow_up_asked=True)
            return Transition(asked, (OutgoingMessage(follow_up),), answered=step.id)
    return _move_on(flow, answered, step, value, language)


def revise(
    flow: FlowDefinition, state: FlowState, answered: str, new_text: str
) -> FlowState | None:
    """The state with an earlier answer replaced by its edited text, or None if it won't do."""
    step_id = answered.removesuffix(FOLLOW_UP_SUFFIX)
    if state.finished or answered not in state.answers:
        return None
    if answered.endswith(FOLLOW_UP_SUFFIX):
        return replace(state, answers={**state.answers, answered: new_text.strip()})
    value = parse_answer(flow.step(step_id), Answer(text=new_text), flow)
    if value is None:
        return None
    return replace(state, answers={**state.answers, answered: value})


def parse_answer(step: Step, answer: Answer, flow: FlowDefinition) -> AnswerValue:
    """The answer's value for this step's kind, or None when it is not a valid answer."""
    raw = (answer.button_value or answer.text).strip()
    if not raw:
        return None
    if step.kind is AnswerKind.TEXT:
        return raw
    if step.kind is AnswerKind.EMAIL:
        return raw if len(raw) <= MAX_EMAIL_LENGTH and _EMAIL.match(raw) else None
    if step.kind is AnswerKind.YES_NO:
        words = _words(raw)
        if words and words[0] in _YES_WORDS:
            return True
        if words and words[0] in _NO_WORDS:
            return False
        return None
    if step.kind is AnswerKind.RATING:
        numbers = re.findall(r"\b\d+\b", raw)
        if len(numbers) == 1 and len(numbers[0]) <= MAX_NUMBER_DIGITS and 1 <= int(numbers[0]) <= 5:
            return int(numbers[0])
        return None
    return _parse_choice(step, raw, flow)


def _parse_choice(step: Step, raw: str, flow: FlowDefinition) -> str | None:
    choices = step.choices or []
    folded = raw.casefold().rstrip(".!")
    if folded.isdecimal() and len(folded) <= MAX_NUMBER_DIGITS and 1 <= int(folded) <= len(choices):
        return choices[int(folded) - 1].id
    for choice in choices:
        labels = {label.casefold() for label in choice.label.values()}
        if folded == choice.id or folded in labels:
            return choice.id
    return None


def _words(raw: str) -> list[str]:
    return [word.casefold() for word in _WORD.findall(raw)]


def _follow_up_question(
    step: Step, state: FlowState, language: str, flow: FlowDefinition
) -> str | None:
    """The follow-up to ask about this step's answer, if any is due."""
    value = state.answers.get(step.id)
    if not isinstance(value, str):
        return None
    words = _words(value)
    folded = value.casefold()
    for keyword_follow_up in step.keyword_follow_ups:
        for keyword in keyword_follow_up.keywords:
            keyword = keyword.casefold()
            if (" " in keyword and keyword in folded) or keyword in words:
                return localized(keyword_follow_up.question, language, flow)
    if step.follow_up is not None and len(words) < step.follow_up.min_words:
        return localized(step.follow_up.question, language, flow)
    return None


def _take_follow_up(
    flow: FlowDefinition, state: FlowState, step: Step, answer: Answer, language: str
) -> Transition:
    attachments = state.attachments + (answer.attachments if step.accepts_attachments else ())
    more = answer.text.strip()
    answers = dict(state.answers)
    if more and not answer.skip:
        answers[step.id + FOLLOW_UP_SUFFIX] = more
    elif not answer.attachments and not answer.skip:
        return Transition(state, (question(flow, state, language),))
    taken = replace(state, answers=answers, attachments=attachments, follow_up_asked=False)
    return _move_on(
        flow, taken, step, state.answers.get(step.id), language, answered=step.id + FOLLOW_UP_SUFFIX
    )


def _move_on(
    flow: FlowDefinition,
    state: FlowState,
    step: Step,
    value: AnswerValue,
    language: str,
    *,
    note: str | None = None,
    answered: str | None = None,
) -> Transition:
    answers = dict(state.answers)
    answers.setdefault(step.id, value)
    next_step = _next_step(flow, step, value)
    moved = replace(state, step=next_step, attempts=0, follow_up_asked=False, answers=answers)
    replies: list[OutgoingMessage] = [OutgoingMessage(note)] if note else []
    answered = answered or step.id
    if next_step not in (END, HUMAN):
        replies.append(question(flow, moved, language))
        return Transition(moved, tuple(replies), answered=answered)
    ended = finish(flow, moved, language)
    return replace(
        ended,
        replies=tuple(replies) + ended.replies,
        answered=answered,
        handoff=ended.handoff or next_step == HUMAN,
    )


def _next_step(flow: FlowDefinition, step: Step, value: AnswerValue) -> str:
    for branch in step.branches:
        if _branch_matches(branch, value):
            return branch.goto
    if step.next is not None:
        return step.next
    return flow.next_after(flow.steps.index(step))


def _branch_matches(branch: Branch, value: AnswerValue) -> bool:
    if value is None:
        return False
    as_text = ("yes" if value else "no") if isinstance(value, bool) else str(value)
    if branch.answer_in is not None and as_text.casefold() not in {
        option.casefold() for option in branch.answer_in
    }:
        return False
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if branch.answer_at_least is not None and (number is None or number < branch.answer_at_least):
        return False
    if branch.answer_at_most is not None and (number is None or number > branch.answer_at_most):
        return False
    if branch.answer_contains is not None:
        words = _words(as_text)
        if not any(keyword.casefold() in words for keyword in branch.answer_contains):
            return False
    return True


def _title(summary: str) -> str:
    first_line = summary.strip().splitlines()[0] if summary.strip() else ""
    sentence = _SENTENCE_END.split(first_line, maxsplit=1)[0]
    if len(sentence) <= TITLE_LENGTH:
        return sentence
    cut = sentence[: TITLE_LENGTH - 1].rsplit(" ", 1)[0]
    return cut + "…"


def lookup_text(title: str, description: str) -> str:
    """What a new idea is compared with the open ones by (before the customer is asked)."""
    return f"{title} {description}"


def summary_lookup_text(summary: str) -> str:
    """The lookup text of an idea the customer summed up as ``summary`` (as a flow records it)."""
    return lookup_text(_title(summary) or UNTITLED, summary)


def _joined(state: FlowState, step_id: str | None) -> str | None:
    if step_id is None:
        return None
    parts = [state.answers.get(step_id), state.answers.get(step_id + FOLLOW_UP_SUFFIX)]
    texts = [str(part) for part in parts if part not in (None, "")]
    return "\n\n".join(texts) or None


def draft_idea(flow: FlowDefinition, state: FlowState, language: str) -> IdeaDraft:
    """The idea a flow's answers describe: fields filled as the flow says, every answer kept."""
    filled: dict[IdeaField, str] = {step.fills: step.id for step in flow.steps if step.fills}
    answers: dict[str, dict[str, Any]] = {}
    for step in flow.steps:
        if step.id not in state.answers:
            continue
        value = state.answers[step.id]
        entry: dict[str, Any] = {
            "question": localized(step.question, language, flow),
            "value": value,
        }
        if step.kind is AnswerKind.CHOICE and isinstance(value, str):
            labels = {choice.id: choice.label for choice in step.choices or []}
            if value in labels:
                entry["label"] = localized(labels[value], language, flow)
        more = state.answers.get(step.id + FOLLOW_UP_SUFFIX)
        if more:
            entry["more"] = more
        answers[step.id] = entry
    summary = _joined(state, filled.get(IdeaField.SUMMARY)) or ""
    importance = state.answers.get(filled.get(IdeaField.IMPORTANCE, ""))
    may_contact = state.answers.get(filled.get(IdeaField.MAY_CONTACT, ""))
    frequency = state.answers.get(filled.get(IdeaField.FREQUENCY, ""))
    email = state.answers.get(filled.get(IdeaField.EMAIL, ""))
    return IdeaDraft(
        title=_title(summary) or UNTITLED,
        description=summary,
        problem=_joined(state, filled.get(IdeaField.PROBLEM)),
        frequency=str(frequency) if frequency is not None else None,
        importance=importance
        if isinstance(importance, int) and not isinstance(importance, bool)
        else None,
        may_contact=may_contact if isinstance(may_contact, bool) else None,
        email=str(email) if email else None,
        answers=answers,
        attachments=state.attachments,
    )


_RETRY_TEXTS = {
    AnswerKind.TEXT: Text.RETRY_TEXT,
    AnswerKind.CHOICE: Text.RETRY_CHOICE,
    AnswerKind.YES_NO: Text.RETRY_YES_NO,
    AnswerKind.RATING: Text.RETRY_RATING,
    AnswerKind.EMAIL: Text.RETRY_EMAIL,
}
