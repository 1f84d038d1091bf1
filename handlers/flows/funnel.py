"""Where customers stop: the funnel of one flow version, counted from stored conversations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median

from handlers.flows.engine import AnswerValue
from handlers.flows.schema import END, AnswerKind, FlowDefinition, Step
from handlers.ports import ConversationStatus

# Answers of these kinds are few and fixed, so how often each was given says something.
COUNTED_KINDS = (AnswerKind.CHOICE, AnswerKind.YES_NO, AnswerKind.RATING)
_GAVE_UP = (ConversationStatus.CANCELLED.value, ConversationStatus.ABANDONED.value)


@dataclass(frozen=True, slots=True)
class Standing:
    """How many conversations stand alike: at one step, in one status, quiet or not."""

    # The step they wait on, or END.
    step: str
    status: str
    # Quiet since the draft time (see ``draft_time``) or longer.
    silent: bool
    # The step they wait on was answered already: its follow-up question is due.
    answered_here: bool
    conversations: int
    handed_to_staff: int = 0


@dataclass(frozen=True, slots=True)
class StepFigures:
    """One step's line of the funnel."""

    step_id: str
    question: str
    kind: str
    reached: int = 0
    answered: int = 0
    left: int = 0
    median_seconds: float | None = None
    # (answer label, how many gave it), in the step's own order of answers.
    answers: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class FlowFunnel:
    """The funnel of one flow version: started, each step, finished, handed to staff."""

    flow_id: str
    version: int
    since: datetime | None
    started: int
    finished: int
    handed_to_staff: int
    in_progress: int
    steps: tuple[StepFigures, ...]

    @property
    def left(self) -> int:
        """How many left before the end (cancelled, or silent past the draft time)."""
        return sum(step.left for step in self.steps)

    @property
    def finish_share(self) -> float:
        """The share of started conversations that finished (0 when none started)."""
        return self.finished / self.started if self.started else 0.0

    @property
    def most_left(self) -> StepFigures | None:
        """The step most customers left at, if anyone left."""
        worst = max(self.steps, key=lambda step: step.left, default=None)
        return worst if worst is not None and worst.left else None


def answer_label(step: Step, value: AnswerValue, language: str) -> str:
    """An answer as people read it: a choice's label, yes or no, the number of stars."""
    if step.kind is AnswerKind.YES_NO:
        return "yes" if value else "no"
    for choice in step.choices or []:
        if choice.id == value:
            return choice.label.get(language, choice.id)
    return str(value)


def answer_order(step: Step, language: str) -> list[str]:
    """The labels of every answer a counted step can get, in the step's own order."""
    if step.kind is AnswerKind.YES_NO:
        return ["yes", "no"]
    if step.kind is AnswerKind.RATING:
        return [str(stars) for stars in range(1, 6)]
    return [answer_label(step, choice.id, language) for choice in step.choices or []]


def draft_time(flow: FlowDefinition, now: datetime) -> datetime:
    """Conversations quiet since then count as left: the reminder would keep them as a draft."""
    return now - timedelta(hours=flow.reminder.draft_after_hours)


def gave_up(standing: Standing) -> bool:
    """Whether these customers left halfway: cancelled, put away, or silent past the draft time."""
    if standing.step == END:
        return False
    if standing.status in _GAVE_UP:
        return True
    return standing.status == ConversationStatus.ACTIVE.value and standing.silent


def step_seconds(steps_done: Iterable[tuple[int, str, float]]) -> dict[str, list[float]]:
    """Per step, how long each conversation took for it: from the step done before, or the start.

    ``steps_done`` holds when each conversation was done with each step (seconds after it
    started), each conversation's steps together and in the order they were done.
    """
    seconds: dict[str, list[float]] = {}
    conversation_before, previous = None, 0.0
    for conversation, step_id, at in steps_done:
        if conversation != conversation_before:
            conversation_before, previous = conversation, 0.0
        seconds.setdefault(step_id, []).append(at - previous)
        previous = at
    return seconds


@dataclass
class _Tally:
    started: int = 0
    finished: int = 0
    handed: int = 0
    in_progress: int = 0
    # Conversations that wait on a step they have not answered yet: they reached it too.
    waiting: Counter[str] = field(default_factory=Counter)
    left: Counter[str] = field(default_factory=Counter)


def _tally(standings: Iterable[Standing]) -> _Tally:
    tally = _Tally()
    for standing in standings:
        count = standing.conversations
        tally.started += count
        tally.handed += standing.handed_to_staff
        if standing.step == END:
            tally.finished += count
        elif gave_up(standing):
            tally.left[standing.step] += count
        elif standing.status == ConversationStatus.ACTIVE.value:
            tally.in_progress += count
        if not standing.answered_here:
            tally.waiting[standing.step] += count
    return tally


def flow_funnel(
    flow: FlowDefinition,
    standings: Iterable[Standing],
    *,
    step_seconds: Mapping[str, Sequence[float]],
    answers: Mapping[str, Mapping[AnswerValue, int]],
    since: datetime | None = None,
) -> FlowFunnel:
    """The funnel of ``flow`` (one version) from where its conversations stand.

    ``step_seconds`` holds, per answered step, how long each conversation took for it: from
    the previous answer (or the start) to its own, a follow-up belonging to its step.
    ``answers`` holds, for choice, yes/no and rating steps, how often each answer was given.
    """
    tally = _tally(standings)
    language = flow.default_language
    labelled = _labelled(flow, answers)
    return FlowFunnel(
        flow_id=flow.id,
        version=flow.version,
        since=since,
        started=tally.started,
        finished=tally.finished,
        handed_to_staff=tally.handed,
        in_progress=tally.in_progress,
        steps=tuple(
            _figures(step, tally, step_seconds.get(step.id, ()), labelled, language)
            for step in flow.steps
        ),
    )


def _labelled(
    flow: FlowDefinition, answers: Mapping[str, Mapping[AnswerValue, int]]
) -> dict[str, Counter[str]]:
    """The counted steps' answers under the labels people read (a choice's, yes, no, 1 to 5)."""
    labelled: dict[str, Counter[str]] = {}
    for step in flow.steps:
        if step.kind in COUNTED_KINDS:
            given = labelled[step.id] = Counter()
            for value, count in answers.get(step.id, {}).items():
                if value is not None:
                    given[answer_label(step, value, flow.default_language)] += count
    return labelled


def _figures(
    step: Step,
    tally: _Tally,
    seconds: Sequence[float],
    labelled: Mapping[str, Counter[str]],
    language: str,
) -> StepFigures:
    answers: tuple[tuple[str, int], ...] = ()
    if step.kind in COUNTED_KINDS:
        given = labelled[step.id]
        answers = tuple((label, given[label]) for label in answer_order(step, language))
    return StepFigures(
        step_id=step.id,
        question=step.question.get(language, step.id),
        kind=step.kind.value,
        reached=len(seconds) + tally.waiting[step.id],
        answered=len(seconds),
        left=tally.left[step.id],
        # Milliseconds: the database's float timestamps carry noise below that.
        median_seconds=round(median(seconds), 3) if seconds else None,
        answers=answers,
    )
