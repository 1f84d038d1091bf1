"""YAML for ideabot's own files (flows, status labels): small, plain, and without aliases.

Aliases are refused outright rather than counted: none of these files needs them, and an
alias bomb ("billion laughs") turns a few hundred bytes into billions of values once
expanded. Refusing them while composing costs nothing and leaves nothing to tune.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent

MAX_YAML_BYTES = 1024 * 1024
MAX_YAML_SIZE_TEXT = "1 MB"


class UnsafeYaml(Exception):
    """The YAML cannot be read safely; ``line`` (1-based) is where the trouble starts."""

    def __init__(self, message: str, *, line: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader, which stops at the first alias it meets."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        """Compose one node, refusing an alias before it is resolved."""
        if self.check_event(AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]  # PyYAML is untyped
            raise UnsafeYaml(
                "uses YAML aliases (*name), which ideabot's files do not allow; "
                "write the value out in full",
                line=event.start_mark.line + 1,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Construct a mapping, refusing a key written twice (PyYAML keeps the last silently)."""
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    raise UnsafeYaml(
                        f"repeats the key '{key_node.value[:40]}'; write each key once",
                        line=key_node.start_mark.line + 1,
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Construct one value; one PyYAML cannot (a huge number, a bad date) names its line."""
        try:
            return super().construct_object(node, deep)
        except ValueError as error:
            # Python reads at most 4300 digits; PyYAML lets that ValueError out as it is.
            message = (
                "this number has too many digits"
                if node.tag == "tag:yaml.org,2002:int"
                else f"this value cannot be read ({error})"
            )
            raise UnsafeYaml(message, line=node.start_mark.line + 1) from None


def _check_size(text: str) -> None:
    if len(text) > MAX_YAML_BYTES or len(text.encode("utf-8")) > MAX_YAML_BYTES:
        raise UnsafeYaml(f"is larger than {MAX_YAML_SIZE_TEXT}")


def compose_yaml(text: str) -> yaml.Node | None:
    """The node tree of ``text`` (None when empty); UnsafeYaml or yaml.YAMLError when bad."""
    _check_size(text)
    try:
        return yaml.compose(text, Loader=_NoAliasLoader)
    except RecursionError:
        raise UnsafeYaml("nests values too deeply to be read") from None


def load_yaml(text: str) -> Any:
    """The data in ``text``; UnsafeYaml or yaml.YAMLError when it cannot be read safely."""
    _check_size(text)
    try:
        return yaml.load(text, Loader=_NoAliasLoader)
    except RecursionError:
        raise UnsafeYaml("nests values too deeply to be read") from None


def read_yaml_text(path: Path) -> str:
    """The text of a YAML file, refused by its size before it is read; OSError if unreadable."""
    if path.stat().st_size > MAX_YAML_BYTES:
        raise UnsafeYaml(f"is larger than {MAX_YAML_SIZE_TEXT}")
    return path.read_text(encoding="utf-8")
