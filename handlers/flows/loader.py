"""Reads flow files and explains every problem with the file, the line and what to do."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import yaml
from pydantic import ValidationError

from handlers.flows.checks import Location, describe_location, semantic_problems
from handlers.flows.safe_yaml import UnsafeYaml, compose_yaml, load_yaml, read_yaml_text
from handlers.flows.schema import FlowDefinition


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
    """A valid flow with where it came from, a checksum of its content and notes on it."""

    definition: FlowDefinition
    source: str
    checksum: str
    notes: tuple[FlowProblem, ...] = ()


def flow_checksum(definition: FlowDefinition) -> str:
    """A stable checksum of a flow's content, its version number aside, to notice an edit."""
    canonical = json.dumps(definition.model_dump(mode="json", exclude={"version"}), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


IGNORED_VERSION = (
    "note: 'version' only informs; ideabot numbers a flow's versions itself as they are published"
)


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


# Says what one kind of pydantic error means: (where, the location, pydantic's error).
_Explainer = Callable[[str, Location, dict[str, Any]], str]


def _missing(where: str, location: Location, error: dict[str, Any]) -> str:
    """A setting the flow needs is not there."""
    return f"'{where}' is missing"


def _unknown_setting(where: str, location: Location, error: dict[str, Any]) -> str:
    """A setting nobody knows, most often a misspelled one."""
    return f"'{location[-1]}' is not a known setting here (check the spelling)"


def _not_a_choice(where: str, location: Location, error: dict[str, Any]) -> str:
    """A value that is not among the ones allowed."""
    expected = error.get("ctx", {}).get("expected", "")
    return f"'{where}' must be one of {expected}, not {error['input']!r}"


def _not_a_name(where: str, location: Location, error: dict[str, Any]) -> str:
    """An id or name that is not lowercase letters, digits and _."""
    return (
        f"'{where}' must start with a lowercase letter and use only lowercase letters, "
        f"digits and _ (got {error['input']!r})"
    )


def _not_whole(where: str, location: Location, error: dict[str, Any]) -> str:
    """A value that must be a whole number."""
    return f"'{where}' must be a whole number such as 2, not {_shown(error['input'])}"


def _not_a_number(where: str, location: Location, error: dict[str, Any]) -> str:
    """A value that must be a number."""
    return f"'{where}' must be a number such as 24, not {_shown(error['input'])}"


def _out_of_bounds(where: str, location: Location, error: dict[str, Any]) -> str:
    """A number too small or too large, with the bound it must keep."""
    key, words = _BOUNDS[error["type"]]
    bound = error.get("ctx", {})[key]
    shown = int(bound) if isinstance(bound, float) and bound.is_integer() else bound
    return f"'{where}' must be {words} {shown}"


def _refused(where: str, location: Location, error: dict[str, Any]) -> str:
    """A value one of the schema's own checks refused, in that check's words."""
    message = str(error.get("ctx", {}).get("error", error["msg"]))
    return f"{where}: {message}"


def _as_pydantic_says(where: str, location: Location, error: dict[str, Any]) -> str:
    """Any other error, in pydantic's own words."""
    return f"'{where}': {error['msg']}"


_EXPLAINERS: Final[Mapping[str, _Explainer]] = MappingProxyType(
    {
        "missing": _missing,
        "extra_forbidden": _unknown_setting,
        "enum": _not_a_choice,
        "string_pattern_mismatch": _not_a_name,
        "int_type": _not_whole,
        "float_type": _not_a_number,
        "value_error": _refused,
    }
    | dict.fromkeys(_BOUNDS, _out_of_bounds)
)


def _explain(error: dict[str, Any]) -> str:
    """Turn one pydantic error into a sentence a non-programmer can act on."""
    location = tuple(part for part in error["loc"] if not str(part).startswith("function-"))
    explain = _EXPLAINERS.get(error["type"], _as_pydantic_says)
    return explain(describe_location(location), location, error)


def _yaml_tree(text: str, source: str) -> tuple[yaml.Node, Any]:
    """The text's YAML as nodes (for lines) and as data; FlowFileError if it is none."""
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
    return root, data


def _validated(data: dict[str, Any], source: str, lines: dict[Location, int]) -> FlowDefinition:
    """The settings as a flow; FlowFileError explains each one the schema refuses."""
    try:
        return FlowDefinition.model_validate(data)
    except ValidationError as error:
        problems = [
            FlowProblem(source, _line_of(tuple(detail["loc"]), lines), _explain(dict(detail)))
            for detail in error.errors()
        ]
        raise FlowFileError(problems) from error


def parse_flow(text: str, *, source: str) -> LoadedFlow:
    """Parse and check one flow file's text; FlowFileError lists every problem found."""
    root, data = _yaml_tree(text, source)
    lines: dict[Location, int] = {}
    _line_index(root, (), lines)
    if not isinstance(data, dict):
        raise FlowFileError([FlowProblem(source, 1, "a flow file must be a mapping of settings")])
    definition = _validated(data, source, lines)
    semantic = [
        FlowProblem(source, _line_of(location, lines), message)
        for location, message in semantic_problems(definition)
    ]
    if semantic:
        raise FlowFileError(semantic)
    # The database numbers versions as they are published; a file's number only informs.
    notes = (
        (FlowProblem(source, _line_of(("version",), lines), IGNORED_VERSION),)
        if "version" in data
        else ()
    )
    return LoadedFlow(
        definition=definition, source=source, checksum=flow_checksum(definition), notes=notes
    )


def _read_flow(file: Path) -> LoadedFlow | list[FlowProblem]:
    """One flow file, read and checked, or all its problems."""
    try:
        text = read_yaml_text(file)
    except UnsafeYaml as error:
        return [FlowProblem(str(file), error.line, error.message)]
    except UnicodeDecodeError:
        return [FlowProblem(str(file), 1, "is not UTF-8 text")]
    except OSError as error:
        return [FlowProblem(str(file), 1, f"cannot read the file: {error.strerror}")]
    try:
        return parse_flow(text, source=str(file))
    except FlowFileError as error:
        return error.problems


def _shared_ids(flows: list[LoadedFlow]) -> list[FlowProblem]:
    """A problem for each flow whose id an earlier file already uses."""
    seen: dict[str, str] = {}
    problems: list[FlowProblem] = []
    for flow in flows:
        previous = seen.setdefault(flow.definition.id, flow.source)
        if previous != flow.source:
            problems.append(
                FlowProblem(
                    flow.source, 1, f"flow id '{flow.definition.id}' is also used by {previous}"
                )
            )
    return problems


def load_flows(path: Path) -> list[LoadedFlow]:
    """Load every ``*.yaml`` flow under ``path`` (a file or a folder), all problems at once."""
    files = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
    if not files:
        raise FlowFileError([FlowProblem(str(path), 1, "no flow files (*.yaml) found here")])
    problems: list[FlowProblem] = []
    flows: list[LoadedFlow] = []
    for file in files:
        read = _read_flow(file)
        if isinstance(read, LoadedFlow):
            flows.append(read)
        else:
            problems.extend(read)
    problems.extend(_shared_ids(flows))
    if problems:
        raise FlowFileError(problems)
    return flows
