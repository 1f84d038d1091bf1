"""What an admin's uploaded flow file gets back: its problems by line and step, or its changes."""

from __future__ import annotations

import bisect
import re
from collections.abc import Collection

import yaml

from handlers.flows.loader import FlowProblem, LoadedFlow, parse_flow
from handlers.flows.safe_yaml import UnsafeYaml, compose_yaml

FLOW_FILE_SUFFIXES = (".yaml", ".yml")
# Slack names a second upload of idea.yaml "idea (1).yaml"; the flow it means is still "idea".
_FLOW_NAME = re.compile(r"[a-z][a-z0-9_]*")


class UploadRefused(Exception):
    """An upload that cannot be a flow at all; the message is one sentence for the admin."""


def is_flow_file(name: str) -> bool:
    """Whether a file's name says it is a flow file."""
    return name.lower().endswith(FLOW_FILE_SUFFIXES)


def read_upload(data: bytes, *, name: str) -> LoadedFlow:
    """The flow in an uploaded file; UploadRefused or FlowFileError (every problem) if none."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UploadRefused(f"{name} is not a text file; a flow file is YAML text.") from None
    if "\x00" in text:
        raise UploadRefused(f"{name} is not a text file; a flow file is YAML text.")
    return parse_flow(text, source=name)


def clash(name: str, flow_id: str, existing: Collection[str]) -> str | None:
    """The sentence refusing a file that names another flow than its own; None when it may go."""
    stem = name.rsplit(".", 1)[0].lower()
    meant = match.group(0) if (match := _FLOW_NAME.match(stem)) else stem
    if meant == flow_id or flow_id not in existing:
        return None
    return (
        f"{name} says it is flow '{flow_id}', which is another flow: name the file "
        f"{flow_id}.yaml to change '{flow_id}', or give the new flow an id of its own."
    )


def _steps_node(text: str) -> yaml.SequenceNode | None:
    """The file's ``steps`` list as YAML nodes, if it can be read."""
    try:
        root = compose_yaml(text)
    except (UnsafeYaml, yaml.YAMLError):
        return None
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if getattr(key, "value", None) == "steps" and isinstance(value, yaml.SequenceNode):
            return value
    return None


def _step_id(item: yaml.Node) -> str:
    """A step node's id as written, or ? when it has none."""
    if isinstance(item, yaml.MappingNode):
        for field, node in item.value:
            if getattr(field, "value", None) == "id" and isinstance(node, yaml.ScalarNode):
                return str(node.value)
    return "?"


def _step_of(line: int, starts: list[tuple[int, str]], ends_at: int) -> str | None:
    """The id of the step whose lines hold ``line``, if any."""
    index = bisect.bisect_right([start for start, _ in starts], line) - 1
    if index < 0 or line > ends_at:
        return None
    return starts[index][1]


def problems_reply(name: str, text: str, problems: list[FlowProblem]) -> str:
    """Every problem of the file at once, each as ``line: explanation (step 'id')``."""
    steps = _steps_node(text)
    items = steps.value if steps is not None else []
    starts = [(item.start_mark.line + 1, _step_id(item)) for item in items]
    ends_at = steps.end_mark.line + 1 if steps is not None else 0
    lines = []
    for problem in problems:
        step = _step_of(problem.line, starts, ends_at)
        where = f" (step '{step}')" if step else ""
        lines.append(f"{problem.line}: {problem.message}{where}")
    count = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
    return f"{name} has {count}; nothing was stored:\n" + "\n".join(lines)


# Far above any real flow (the shipped one is a few KB), and small enough that reading it
# takes seconds, not minutes: PyYAML is pure Python.
MAX_UPLOAD_BYTES = 256 * 1024
TOO_LARGE = "A flow file sent here is at most 256 KB; this one is larger, so nothing was stored."
NOT_ADMIN = "Only ideabot's admins can change flows; nothing was stored."
