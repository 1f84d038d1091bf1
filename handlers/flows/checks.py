"""The checks a flow must pass that its schema alone cannot see, run in order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from handlers.flows.schema import (
    END,
    HUMAN,
    LANGUAGE_CODE,
    AnswerKind,
    Branch,
    FlowDefinition,
    LocalizedText,
    Step,
)

Location = tuple[str | int, ...]
# Where in the file (as a path of keys and list indexes), and what is wrong there.
Problem = tuple[Location, str]
# A problem names the known steps; a flow with thousands of them would make every such
# message thousands of names long, so only this many are listed.
KNOWN_STEPS_LISTED: Final = 20


def describe_location(location: Location) -> str:
    """A path in a flow file as an admin writes it: ``steps[2].question``."""
    parts: list[str] = []
    for part in location:
        if isinstance(part, int):
            parts.append(f"[{part + 1}]")
        else:
            parts.append(("." if parts else "") + part)
    return "".join(parts) or "the file"


def _texts(flow: FlowDefinition) -> Iterator[tuple[Location, LocalizedText]]:
    """Every text of the flow that a customer may read, with where it is."""
    yield ("welcome",), flow.welcome
    yield ("end", "thanks"), flow.end.thanks
    if flow.end.next_steps is not None:
        yield ("end", "next_steps"), flow.end.next_steps
    if flow.reminder.text is not None:
        yield ("reminder", "text"), flow.reminder.text
    for index, step in enumerate(flow.steps):
        base: Location = ("steps", index)
        yield (*base, "question"), step.question
        if step.retry is not None:
            yield (*base, "retry"), step.retry
        if step.follow_up is not None:
            yield (*base, "follow_up", "question"), step.follow_up.question
        for number, follow_up in enumerate(step.keyword_follow_ups):
            yield (*base, "keyword_follow_ups", number, "question"), follow_up.question
        for number, choice in enumerate(step.choices or []):
            yield (*base, "choices", number, "label"), choice.label


def _language_codes(flow: FlowDefinition) -> list[Problem]:
    """Every language is a code such as 'en' or 'nb'."""
    return [
        (("languages",), f"'{language}' is not a language code like 'en' or 'nb'")
        for language in flow.languages
        if not LANGUAGE_CODE.match(language)
    ]


def _default_language(flow: FlowDefinition) -> list[Problem]:
    """The default language is one of the flow's languages."""
    if flow.default_language in flow.languages:
        return []
    return [
        (
            ("default_language",),
            f"default_language '{flow.default_language}' is not among languages {flow.languages}",
        )
    ]


def _text_problems(location: Location, text: LocalizedText, languages: list[str]) -> list[Problem]:
    """One text's missing languages, then the languages it has that the flow has not."""
    problems: list[Problem] = []
    missing = [language for language in languages if not text.get(language, "").strip()]
    if missing:
        problems.append(
            (location, f"'{describe_location(location)}' has no text for {', '.join(missing)}")
        )
    unknown = sorted(set(text) - set(languages))
    if unknown:
        problems.append(
            (
                location,
                (
                    f"'{describe_location(location)}' has text for {', '.join(unknown)}, "
                    f"which is not in languages {languages}"
                ),
            )
        )
    return problems


def _text_languages(flow: FlowDefinition) -> list[Problem]:
    """Every text has words in each of the flow's languages, and in no other."""
    return [
        problem
        for location, text in _texts(flow)
        for problem in _text_problems(location, text, flow.languages)
    ]


@dataclass(frozen=True, slots=True)
class _StepIndex:
    """What the step checks need to know about all the steps, worked out once per flow."""

    ids: frozenset[str]
    # The first step with each id and each filled field: a later one is a duplicate.
    first_with_id: dict[str, int]
    first_filling: dict[str, int]
    known: str

    @classmethod
    def of(cls, flow: FlowDefinition) -> _StepIndex:
        """The index of ``flow``'s steps, in one walk over them."""
        first_with_id: dict[str, int] = {}
        first_filling: dict[str, int] = {}
        for index, step in enumerate(flow.steps):
            first_with_id.setdefault(step.id, index)
            if step.fills is not None:
                first_filling.setdefault(step.fills, index)
        step_ids = [step.id for step in flow.steps]
        listed = step_ids[:KNOWN_STEPS_LISTED]
        if len(step_ids) > KNOWN_STEPS_LISTED:
            listed.append("…")
        return cls(
            ids=frozenset(step_ids),
            first_with_id=first_with_id,
            first_filling=first_filling,
            known=", ".join(listed),
        )


def _reserved_id(flow: FlowDefinition, index: int, _known: _StepIndex) -> list[Problem]:
    """A step is not named like an end of the flow."""
    step = flow.steps[index]
    if step.id not in (END, HUMAN):
        return []
    return [
        (("steps", index, "id"), f"'{step.id}' is reserved (where a flow ends); rename this step")
    ]


def _unique_id(flow: FlowDefinition, index: int, steps: _StepIndex) -> list[Problem]:
    """No earlier step has the same id."""
    step = flow.steps[index]
    if steps.first_with_id[step.id] == index:
        return []
    return [
        (
            ("steps", index, "id"),
            f"there are two steps called '{step.id}'; step ids must be unique",
        )
    ]


def _possible_answers(step: Step) -> set[str] | None:
    """Every answer a step can get; None for a kind without a fixed set of answers."""
    match step.kind:
        case AnswerKind.CHOICE:
            return {choice.id for choice in step.choices or []}
        case AnswerKind.YES_NO:
            return {"yes", "no"}
        case AnswerKind.RATING:
            return {str(number) for number in range(1, 6)}
    return None


def _branch_problems(step: Step, branch: Branch, location: Location) -> list[Problem]:
    """A branch's answers the step can never get, and bounds on a step that is not a rating."""
    allowed = _possible_answers(step)
    problems: list[Problem] = []
    if branch.answer_in is not None and allowed is not None:
        problems.extend(
            (
                (*location, "answer_in"),
                (
                    f"'{value}' can never be the answer here; "
                    f"possible answers: {', '.join(sorted(allowed))}"
                ),
            )
            for value in branch.answer_in
            if value not in allowed
        )
    bounded = branch.answer_at_least is not None or branch.answer_at_most is not None
    if bounded and step.kind is not AnswerKind.RATING:
        problems.append(
            (location, "answer_at_least and answer_at_most only work on 'rating' steps")
        )
    return problems


def _branch_answers(flow: FlowDefinition, index: int, _known: _StepIndex) -> list[Problem]:
    """Each branch of a step asks for answers the step can get."""
    step = flow.steps[index]
    return [
        problem
        for number, branch in enumerate(step.branches)
        for problem in _branch_problems(step, branch, ("steps", index, "branches", number))
    ]


def _target_problems(
    steps: _StepIndex, step: Step, location: Location, target: str
) -> list[Problem]:
    """Where one 'next' or 'goto' leads: to a step or an end, and not back to its own step."""
    problems: list[Problem] = []
    if target not in (END, HUMAN) and target not in steps.ids:
        problems.append(
            (
                location,
                (
                    f"goes to '{target}', but there is no such step "
                    f"(steps are: {steps.known}, or '{END}' or '{HUMAN}')"
                ),
            )
        )
    if target == step.id:
        problems.append((location, f"step '{step.id}' goes to itself, so the flow could never end"))
    return problems


def _targets(flow: FlowDefinition, index: int, steps: _StepIndex) -> list[Problem]:
    """A step's 'next', then each branch's 'goto', leads somewhere the flow can go on from."""
    step = flow.steps[index]
    base: Location = ("steps", index)
    targets: list[tuple[Location, str]] = []
    if step.next is not None:
        targets.append(((*base, "next"), step.next))
    for number, branch in enumerate(step.branches):
        targets.append(((*base, "branches", number, "goto"), branch.goto))
    return [
        problem
        for location, target in targets
        for problem in _target_problems(steps, step, location, target)
    ]


def _unique_fills(flow: FlowDefinition, index: int, steps: _StepIndex) -> list[Problem]:
    """No earlier step fills the same idea field."""
    step = flow.steps[index]
    if step.fills is None or steps.first_filling[step.fills] == index:
        return []
    return [(("steps", index, "fills"), f"another step already fills '{step.fills}'")]


# Run on each step in file order, so a step's problems are listed together.
_STEP_CHECKS: Final[tuple[Callable[[FlowDefinition, int, _StepIndex], list[Problem]], ...]] = (
    _reserved_id,
    _unique_id,
    _branch_answers,
    _targets,
    _unique_fills,
)


def _steps(flow: FlowDefinition) -> list[Problem]:
    """Every step passes every step check."""
    steps = _StepIndex.of(flow)
    return [
        problem
        for index in range(len(flow.steps))
        for check in _STEP_CHECKS
        for problem in check(flow, index, steps)
    ]


_FLOW_CHECKS: Final[tuple[Callable[[FlowDefinition], list[Problem]], ...]] = (
    _language_codes,
    _default_language,
    _text_languages,
    _steps,
)


def semantic_problems(flow: FlowDefinition) -> list[Problem]:
    """Problems the schema alone cannot see: names that point nowhere, missing languages."""
    return [problem for check in _FLOW_CHECKS for problem in check(flow)]
