"""Reads flow files and explains every problem with the file, the line and what to do."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from handlers.flows.safe_yaml import UnsafeYaml, compose_yaml, load_yaml, read_yaml_text
from handlers.flows.schema import (
    END,
    HUMAN,
    LANGUAGE_CODE,
    AnswerKind,
    FlowDefinition,
    LocalizedText,
)

Location = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class FlowProblem:
    """One thing wrong with a flow file, said so that an admin can fix it."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class FlowFileError(Exception):
    """A flow file (or several) has problems; ``problems`` lists them all."""

    def __init__(self, problems: list[FlowProblem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class LoadedFlow:
    """A valid flow with where it came from and a checksum of its content."""

    definition: FlowDefinition
    source: str
    checksum: str


def flow_checksum(definition: FlowDefinition) -> str:
    """A stable checksum of a flow's content, to notice an edit without a new version."""
    canonical = json.dumps(definition.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _line_index(node: yaml.Node, path: Location, lines: dict[Location, int]) -> None:
    """Record the 1-based line of every value in the YAML tree, by its path."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            # The key's line is where an admin looks for a wrong value, even a multi-line one.
            lines[(*path, key)] = key_node.start_mark.line + 1
            _line_index(value_node, (*path, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_index(item, (*path, index), lines)


def _line_of(location: Location, lines: dict[Location, int]) -> int:
    for length in range(len(location), -1, -1):
        line = lines.get(location[:length])
        if line is not None:
            return line
    return 1


def _describe(location: Location) -> str:
    parts: list[str] = []
    for part in location:
        if isinstance(part, int):
            parts.append(f"[{part + 1}]")
        else:
            parts.append(("." if parts else "") + part)
    return "".join(parts) or "the file"


# pydantic's bound errors, the key of the bound in their context, and how to say it.
_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "more than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}


def _shown(value: object) -> str:
    """A wrong value as its YAML reads: yes/no is a true/false, and a huge number is cut."""
    if isinstance(value, bool):
        return "yes/no (true/false)"
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}… ({len(text)} characters)"


def _explain(error: dict[str, Any]) -> str:
    """Turn one pydantic error into a sentence a non-programmer can act on."""
    kind = error["type"]
    location = tuple(part for part in error["loc"] if not str(part).startswith("function-"))
    where = _describe(location)
    if kind == "missing":
        return f"'{where}' is missing"
    if kind == "extra_forbidden":
        return f"'{location[-1]}' is not a known setting here (check the spelling)"
    if kind == "enum":
        expected = error.get("ctx", {}).get("expected", "")
        return f"'{where}' must be one of {expected}, not {error['input']!r}"
    if kind == "string_pattern_mismatch":
        return (
            f"'{where}' must start with a lowercase letter and use only lowercase letters, "
            f"digits and _ (got {error['input']!r})"
        )
    if kind == "int_type":
        return f"'{where}' must be a whole number such as 2, not {_shown(error['input'])}"
    if kind == "float_type":
        return f"'{where}' must be a number such as 24, not {_shown(error['input'])}"
    if kind in _BOUNDS:
        bound = error.get("ctx", {})[_BOUNDS[kind][0]]
        shown = int(bound) if isinstance(bound, float) and bound.is_integer() else bound
        return f"'{where}' must be {_BOUNDS[kind][1]} {shown}"
    if kind == "value_error":
        message = str(error.get("ctx", {}).get("error", error["msg"]))
        return f"{where}: {message}"
    return f"'{where}': {error['msg']}"


def _texts(flow: FlowDefinition) -> Iterator[tuple[Location, LocalizedText]]:
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


def _semantic_problems(flow: FlowDefinition) -> Iterator[tuple[Location, str]]:
    """Problems the schema alone cannot see: names that point nowhere, missing languages."""
    for language in flow.languages:
        if not LANGUAGE_CODE.match(language):
            yield ("languages",), f"'{language}' is not a language code like 'en' or 'nb'"
    if flow.default_language not in flow.languages:
        yield (
            ("default_language",),
            f"default_language '{flow.default_language}' is not among languages {flow.languages}",
        )
    for location, text in _texts(flow):
        missing = [language for language in flow.languages if not text.get(language, "").strip()]
        if missing:
            yield location, f"'{_describe(location)}' has no text for {', '.join(missing)}"
        unknown = sorted(set(text) - set(flow.languages))
        if unknown:
            yield (
                location,
                (
                    f"'{_describe(location)}' has text for {', '.join(unknown)}, "
                    f"which is not in languages {flow.languages}"
                ),
            )
    step_ids = [step.id for step in flow.steps]
    seen: set[str] = set()
    for index, step in enumerate(flow.steps):
        base: Location = ("steps", index)
        if step.id in (END, HUMAN):
            yield (*base, "id"), f"'{step.id}' is reserved (where a flow ends); rename this step"
        if step.id in seen:
            yield (*base, "id"), f"there are two steps called '{step.id}'; step ids must be unique"
        seen.add(step.id)
        targets: list[tuple[Location, str]] = []
        if step.next is not None:
            targets.append(((*base, "next"), step.next))
        for number, branch in enumerate(step.branches):
            targets.append(((*base, "branches", number, "goto"), branch.goto))
            yield from _branch_problems(
                step.kind, step.choices, branch, (*base, "branches", number)
            )
        for location, target in targets:
            if target not in (END, HUMAN) and target not in step_ids:
                yield (
                    location,
                    (
                        f"goes to '{target}', but there is no such step "
                        f"(steps are: {', '.join(step_ids)}, or '{END}' or '{HUMAN}')"
                    ),
                )
            if target == step.id:
                yield location, f"step '{step.id}' goes to itself, so the flow could never end"
        if step.fills is not None and any(
            other.fills == step.fills for other in flow.steps[:index]
        ):
            yield (*base, "fills"), f"another step already fills '{step.fills}'"


def _branch_problems(
    kind: AnswerKind, choices: Iterable[Any] | None, branch: Any, location: Location
) -> Iterator[tuple[Location, str]]:
    if branch.answer_in is not None:
        allowed: set[str] | None = None
        if kind is AnswerKind.CHOICE:
            allowed = {choice.id for choice in choices or []}
        elif kind is AnswerKind.YES_NO:
            allowed = {"yes", "no"}
        elif kind is AnswerKind.RATING:
            allowed = {str(number) for number in range(1, 6)}
        if allowed is not None:
            for value in branch.answer_in:
                if value not in allowed:
                    yield (
                        (*location, "answer_in"),
                        (
                            f"'{value}' can never be the answer here; "
                            f"possible answers: {', '.join(sorted(allowed))}"
                        ),
                    )
    if (branch.answer_at_least is not None or branch.answer_at_most is not None) and (
        kind is not AnswerKind.RATING
    ):
        yield location, "answer_at_least and answer_at_most only work on 'rating' steps"


def parse_flow(text: str, *, source: str) -> LoadedFlow:
    """Parse and check one flow file's text; FlowFileError lists every problem found."""
    try:
        root = compose_yaml(text)
        data = load_yaml(text)
    except UnsafeYaml as error:
        raise FlowFileError([FlowProblem(source, error.line, error.message)]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(error, "problem", None) or str(error)
        raise FlowFileError(
            [FlowProblem(source, line, f"this is not valid YAML: {problem}")]
        ) from error
    if root is None:
        raise FlowFileError([FlowProblem(source, 1, "the file is empty")])
    lines: dict[Location, int] = {}
    _line_index(root, (), lines)
    if not isinstance(data, dict):
        raise FlowFileError([FlowProblem(source, 1, "a flow file must be a mapping of settings")])
    try:
        definition = FlowDefinition.model_validate(data)
    except ValidationError as error:
        problems = [
            FlowProblem(source, _line_of(tuple(detail["loc"]), lines), _explain(dict(detail)))
            for detail in error.errors()
        ]
        raise FlowFileError(problems) from error
    semantic = [
        FlowProblem(source, _line_of(location, lines), message)
        for location, message in _semantic_problems(definition)
    ]
    if semantic:
        raise FlowFileError(semantic)
    return LoadedFlow(definition=definition, source=source, checksum=flow_checksum(definition))


def load_flows(path: Path) -> list[LoadedFlow]:
    """Load every ``*.yaml`` flow under ``path`` (a file or a folder), all problems at once."""
    files = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
    if not files:
        raise FlowFileError([FlowProblem(str(path), 1, "no flow files (*.yaml) found here")])
    problems: list[FlowProblem] = []
    flows: list[LoadedFlow] = []
    for file in files:
        try:
            text = read_yaml_text(file)
        except UnsafeYaml as error:
            problems.append(FlowProblem(str(file), error.line, error.message))
            continue
        except UnicodeDecodeError:
            problems.append(FlowProblem(str(file), 1, "is not UTF-8 text"))
            continue
        except OSError as error:
            problems.append(FlowProblem(str(file), 1, f"cannot read the file: {error.strerror}"))
            continue
        try:
            flows.append(parse_flow(text, source=str(file)))
        except FlowFileError as error:
            problems.extend(error.problems)
    seen: dict[str, str] = {}
    for flow in flows:
        previous = seen.setdefault(flow.definition.id, flow.source)
        if previous != flow.source:
            problems.append(
                FlowProblem(
                    flow.source, 1, f"flow id '{flow.definition.id}' is also used by {previous}"
                )
            )
    if problems:
        raise FlowFileError(problems)
    return flows
