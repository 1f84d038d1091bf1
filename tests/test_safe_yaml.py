"""Flow and status-label files are read safely: no aliases, no giant files, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings
from bot.status_labels import StatusLabelsError, load_status_labels
from handlers.flows.loader import FlowFileError, load_flows, parse_flow
from handlers.flows.safe_yaml import MAX_YAML_BYTES, UnsafeYaml, load_yaml
from tests.conftest import SHIPPED_FLOWS

# "Billion laughs": nine levels of nine aliases each, 9**9 values once expanded.
BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [
        f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]"
        for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
    ]
)


def problems_of(path: Path) -> list[str]:
    with pytest.raises(FlowFileError) as raised:
        load_flows(path)
    return [str(problem) for problem in raised.value.problems]


@pytest.mark.timeout(10)
def test_an_alias_bomb_in_a_flow_is_refused_at_once(tmp_path: Path) -> None:
    flow = tmp_path / "bomb.yaml"
    flow.write_text(BOMB, encoding="utf-8")
    assert problems_of(flow) == [
        f"{flow}:2: uses YAML aliases (*name), which ideabot's files do not allow; "
        "write the value out in full"
    ]


def test_a_single_alias_in_a_real_flow_is_refused_too(tmp_path: Path) -> None:
    text = (SHIPPED_FLOWS / "idea.yaml").read_text(encoding="utf-8")
    text = text.replace("id: idea\n", "id: &name idea\n", 1) + "\nextra: *name\n"
    with pytest.raises(FlowFileError, match="uses YAML aliases"):
        parse_flow(text, source="idea.yaml")


def test_a_flow_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    flow = tmp_path / "huge.yaml"
    flow.write_text("# padding\n" * (MAX_YAML_BYTES // 10 + 1), encoding="utf-8")
    assert problems_of(flow) == [f"{flow}:1: is larger than 1 MB"]


@pytest.mark.timeout(10)
def test_deeply_nested_yaml_is_a_clear_problem(tmp_path: Path) -> None:
    flow = tmp_path / "deep.yaml"
    flow.write_text("[" * 100_000, encoding="utf-8")
    assert problems_of(flow) == [f"{flow}:1: nests values too deeply to be read"]


def test_the_shipped_flows_still_load() -> None:
    assert {flow.definition.id for flow in load_flows(SHIPPED_FLOWS)} >= {"idea"}


def labels_from(path: Path) -> Settings:
    return Settings(_env_file=None, status_labels_path=path)


@pytest.mark.timeout(10)
def test_an_alias_bomb_in_the_status_labels_is_refused(tmp_path: Path) -> None:
    labels = tmp_path / "labels.yaml"
    labels.write_text(BOMB, encoding="utf-8")
    with pytest.raises(StatusLabelsError) as raised:
        load_status_labels(labels_from(labels))
    assert str(raised.value) == (
        f"{labels}:2: uses YAML aliases (*name), which ideabot's files do not allow; "
        "write the value out in full"
    )


def test_status_labels_over_the_size_limit_are_refused(tmp_path: Path) -> None:
    labels = tmp_path / "labels.yaml"
    labels.write_text("planned: {en: Soon}\n" + "#" * MAX_YAML_BYTES, encoding="utf-8")
    with pytest.raises(StatusLabelsError) as raised:
        load_status_labels(labels_from(labels))
    assert str(raised.value) == f"{labels}:1: is larger than 1 MB"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("9" * 5000, "this number has too many digits"),
        ("2024-13-45", "this value cannot be read (month must be in 1..12)"),
    ],
)
def test_a_value_yaml_cannot_construct_is_named_with_its_line(value: str, message: str) -> None:
    with pytest.raises(UnsafeYaml) as raised:
        load_yaml(f"a: 1\nb:\n  c: {value}\n")
    assert (raised.value.line, raised.value.message) == (3, message)
