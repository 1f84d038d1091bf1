"""Flow files: the shipped ones are valid, and mistakes are explained with file and line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from handlers.flow_loader import FlowFileError, LoadedFlow, load_flows, parse_flow
from handlers.flow_schema import AnswerKind, IdeaField

VALID = """\
id: tiny
version: 1
languages: [en, nb]
default_language: en
welcome: {en: Hi, nb: Hei}
steps:
  - id: idea
    fills: summary
    question: {en: Idea, nb: Idé}
end:
  thanks: {en: Thanks, nb: Takk}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(FlowFileError) as caught:
        parse_flow(text, source="flow.yaml")
    return [str(problem) for problem in caught.value.problems]


def test_shipped_flow_asks_for_ideas_in_english_and_norwegian(
    shipped_flows: list[LoadedFlow],
) -> None:
    (flow,) = [loaded.definition for loaded in shipped_flows if loaded.definition.id == "idea"]
    assert flow.languages == ["en", "nb"]
    kinds = {step.fills: step.kind for step in flow.steps}
    assert kinds[IdeaField.SUMMARY] is AnswerKind.TEXT
    assert kinds[IdeaField.IMPORTANCE] is AnswerKind.RATING
    assert kinds[IdeaField.MAY_CONTACT] is AnswerKind.YES_NO
    assert kinds[IdeaField.FREQUENCY] is AnswerKind.CHOICE


def test_a_valid_flow_loads() -> None:
    assert parse_flow(VALID, source="flow.yaml").definition.steps[0].id == "idea"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("    question: {en: Idea, nb: Idé}", "    question: {en: Idea}"),
            "flow.yaml:9: 'steps[1].question' has no text for nb",
        ),
        (
            ("  - id: idea\n", "  - id: idea\n    kind: textt\n"),
            "flow.yaml:8: 'steps[1].kind' must be one of",
        ),
        (
            ("    fills: summary\n", "    fills: summary\n    colour: red\n"),
            "flow.yaml:9: 'colour' is not a known setting here",
        ),
        (
            ("    fills: summary\n", "    fills: summary\n    next: nowhere\n"),
            "flow.yaml:9: goes to 'nowhere', but there is no such step",
        ),
        (
            ("default_language: en", "default_language: de"),
            "flow.yaml:4: default_language 'de' is not among languages",
        ),
        (
            ("version: 1", "version: zero"),
            "flow.yaml:2: 'version': Input should be a valid integer",
        ),
        (("welcome: {en: Hi, nb: Hei}\n", ""), "flow.yaml:1: 'welcome' is missing"),
        (
            ("  - id: idea\n", "  - id: idea\n    kind: choice\n"),
            "flow.yaml:7: steps[1]: a 'choice' step needs a list 'choices'",
        ),
        (("steps:", "steps: [\n"), "flow.yaml:8: this is not valid YAML"),
    ],
)
def test_problems_name_the_line_and_say_what_to_do(change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in VALID
    found = problems(VALID.replace(old, new, 1))
    assert any(problem.startswith(expected) for problem in found), found


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(VALID.replace("version: 1", "version: -1"))
    (tmp_path / "b.yaml").write_text(VALID.replace("id: idea", "id: Idea"))
    with pytest.raises(FlowFileError) as caught:
        load_flows(tmp_path)
    files = {Path(problem.file).name for problem in caught.value.problems}
    assert files == {"a.yaml", "b.yaml"}


def test_two_files_with_the_same_flow_id_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(VALID)
    (tmp_path / "b.yaml").write_text(VALID)
    with pytest.raises(FlowFileError, match="also used by"):
        load_flows(tmp_path)


def test_cli_validate_prints_problems_and_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(VALID.replace("fills: summary", "fills: summery"))
    result = subprocess.run(
        [sys.executable, "-m", "bot", "flows", "validate", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert f"{bad}:8: 'steps[1].fills' must be one of" in result.stderr
    assert "1 problem found" in result.stderr


def test_cli_validate_accepts_the_shipped_flows() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "flows", "validate"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "ok (flow 'idea' version" in result.stdout
