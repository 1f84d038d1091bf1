"""Where customers stop: the funnel of one flow version, counted from stored conversations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median

from handlers.flows.engine import FOLLOW_UP_SUFFIX, AnswerValue
from handlers.flows.schema import END, AnswerKind, FlowDefinition, Step
from handlers.ports import ConversationStatus

# Answers of these kinds are few and fixed, so how often each was given says something.
COUNTED_KINDS = (AnswerKind.CHOICE, AnswerKind.YES_NO, AnswerKind.RATING)
_GAVE_UP = (ConversationStatus.CANCELLED.value, ConversationStatus.ABANDONED.value)


@dataclass(frozen=True, slots=True)
class ConversationFacts:
    """One stored conversation as the funnel reads it."""

    status: str
    # Where it stands: the step it waits on, or END.
    step: str
    # Times are seconds since 1970 (UTC): the database gives them so, many at once.
    started_at: float
    last_activity: float
    handed_to_staff: bool = False
    # Each step answered (follow-ups as ``<step>.more``) and when it was first answered.
    answered_at: Mapping[str, float] = field(default_factory=dict)


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


def gave_up(facts: ConversationFacts, *, silent_before: float) -> bool:
    """Whether the customer left halfway: cancelled, put away, or silent past the draft time."""
    if facts.step == END:
        return False
    if facts.status in _GAVE_UP:
        return True
    return facts.status == ConversationStatus.ACTIVE.value and facts.last_activity <= silent_before


def _step_times(facts: ConversationFacts) -> dict[str, float]:
    """Seconds each answered step took: from the previous answer (or the start) to its own."""
    finished: dict[str, float] = {}
    for answered, at in facts.answered_at.items():
        if answered.endswith(FOLLOW_UP_SUFFIX):
            # A step with a follow-up question is done once the follow-up is answered too.
            answered = answered.removesuffix(FOLLOW_UP_SUFFIX)
            at = max(at, finished.get(answered, at))
        elif answered in finished:
            at = max(at, finished[answered])
        finished[answered] = at
    times: dict[str, float] = {}
    previous = facts.started_at
    for step_id, at in sorted(finished.items(), key=lambda item: item[1]):
        times[step_id] = at - previous
        previous = at
    return times


def _answer_label(step: Step, value: AnswerValue, language: str) -> str:
    if step.kind is AnswerKind.YES_NO:
        return "yes" if value else "no"
    for choice in step.choices or []:
        if choice.id == value:
            return choice.label.get(language, choice.id)
    return str(value)


def _answer_order(step: Step, language: str) -> list[str]:
    if step.kind is AnswerKind.YES_NO:
        return ["yes", "no"]
    if step.kind is AnswerKind.RATING:
        return [str(stars) for stars in range(1, 6)]
    return [_answer_label(step, choice.id, language) for choice in step.choices or []]


@dataclass
class _Tally:
    values: dict[str, Counter[str]]
    reached: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)
    left: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, list[float]] = field(default_factory=dict)


def flow_funnel(
    flow: FlowDefinition,
    conversations: Iterable[ConversationFacts],
    *,
    answers: Mapping[str, Mapping[AnswerValue, int]],
    now: datetime,
    since: datetime | None = None,
) -> FlowFunnel:
    """The funnel of ``flow`` (one version) from its conversations, as they stand at ``now``.

    ``answers`` holds, for choice, yes/no and rating steps, how often each answer was given.
    """
    silent_before = (now - timedelta(hours=flow.reminder.draft_after_hours)).timestamp()
    language = flow.default_language
    tally = _Tally(values=_labelled(flow, answers))
    started = finished = handed = in_progress = 0
    for facts in conversations:
        started += 1
        handed += facts.handed_to_staff
        if facts.step == END:
            finished += 1
        elif gave_up(facts, silent_before=silent_before):
            tally.left[facts.step] += 1
        elif facts.status == ConversationStatus.ACTIVE.value:
            in_progress += 1
        times = _step_times(facts)
        tally.answered.update(times.keys())
        tally.reached.update(times.keys())
        if facts.step not in times:
            tally.reached[facts.step] += 1
        for step_id, seconds in times.items():
            tally.seconds.setdefault(step_id, []).append(seconds)
    return FlowFunnel(
        flow_id=flow.id,
        version=flow.version,
        since=since,
        started=started,
        finished=finished,
        handed_to_staff=handed,
        in_progress=in_progress,
        steps=tuple(_figures(step, tally, language) for step in flow.steps),
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
                    given[_answer_label(step, value, flow.default_language)] += count
    return labelled


def _figures(step: Step, tally: _Tally, language: str) -> StepFigures:
    seconds = tally.seconds.get(step.id)
    answers: tuple[tuple[str, int], ...] = ()
    if step.kind in COUNTED_KINDS:
        given = tally.values[step.id]
        answers = tuple((label, given[label]) for label in _answer_order(step, language))
    return StepFigures(
        step_id=step.id,
        question=step.question.get(language, step.id),
        kind=step.kind.value,
        reached=tally.reached[step.id],
        answered=tally.answered[step.id],
        left=tally.left[step.id],
        # Milliseconds: the database's float timestamps carry noise below that.
        median_seconds=round(median(seconds), 3) if seconds else None,
        answers=answers,
    )
