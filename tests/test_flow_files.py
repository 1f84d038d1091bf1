"""Flow files: the shipped ones are valid, and mistakes are explained with file and line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from handlers.flows.loader import FlowFileError, LoadedFlow, load_flows, parse_flow
from handlers.flows.schema import AnswerKind, IdeaField

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
            "flow.yaml:2: 'version' must be a whole number such as 2, not 'zero'",
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
    assert "ok (flow 'idea'," in result.stdout


RATED = VALID.replace(
    "    question: {en: Idea, nb: Idé}\n",
    "    question: {en: Idea, nb: Idé}\n"
    "  - id: stars\n"
    "    kind: rating\n"
    "    question: {en: Stars, nb: Stjerner}\n"
    "    max_attempts: 3\n"
    "    branches:\n"
    "      - {goto: end, answer_at_least: 4}\n",
)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # YAML's yes, floats and quoted numbers are not whole numbers; huge ones do not fit.
        ("version: 1", "version: yes", "flow.yaml:2: 'version' must be a whole number"),
        ("version: 1", "version: 2.0", "flow.yaml:2: 'version' must be a whole number"),
        ("version: 1", 'version: "3"', "flow.yaml:2: 'version' must be a whole number"),
        ("version: 1", "version: 0", "flow.yaml:2: 'version' must be at least 1"),
        ("version: 1", "version: 1000001", "flow.yaml:2: 'version' must be at most 1000000"),
        (
            "version: 1",
            "version: 99999999999999999999",
            "flow.yaml:2: 'version' must be at most 1000000",
        ),
        ("version: 1", "version: " + "4" * 4000, "flow.yaml:2: 'version' must be at most"),
        ("version: 1", "version: " + "5" * 5000, "flow.yaml:2: this number has too many digits"),
        (
            "max_attempts: 3",
            "max_attempts: true",
            "flow.yaml:13: 'steps[2].max_attempts' must be a whole number such as 2, not yes/no",
        ),
        (
            "answer_at_least: 4",
            "answer_at_least: 4.5",
            "flow.yaml:15: 'steps[2].branches[1].answer_at_least' must be a whole number",
        ),
        (
            "answer_at_least: 4",
            "answer_at_least: 6",
            "flow.yaml:15: 'steps[2].branches[1].answer_at_least' must be at most 5",
        ),
        (
            "answer_at_least: 4",
            "answer_at_most: 0",
            "flow.yaml:15: 'steps[2].branches[1].answer_at_most' must be at least 1",
        ),
    ],
)
def test_numbers_are_strict_whole_numbers_in_range(old: str, new: str, expected: str) -> None:
    assert old in RATED
    found = problems(RATED.replace(old, new, 1))
    assert any(problem.startswith(expected) for problem in found), found


@pytest.mark.parametrize(
    ("reminder", "expected"),
    [
        ("  after_hours: .inf\n", "'reminder.after_hours' must be at most 8760"),
        ("  after_hours: .nan\n", "'reminder.after_hours'"),
        ("  after_hours: yes\n", "'reminder.after_hours' must be a number"),
        ("  draft_after_hours: 100000\n", "'reminder.draft_after_hours' must be at most 8760"),
        (
            "  after_hours: 24\n  text: {en: Hi, nb: Hei}\n  enabled: true\n"
            "  draft_after_hours: 1.0e+400\n",
            "'reminder.draft_after_hours' must be at most 8760",
        ),
    ],
)
def test_reminder_hours_are_finite_and_at_most_a_year(reminder: str, expected: str) -> None:
    found = problems(RATED + "reminder:\n" + reminder)
    assert any(expected in problem for problem in found), found


def test_numbers_in_range_load() -> None:
    flow = parse_flow(
        RATED.replace("version: 1", "version: 1000000")
        + "reminder:\n  after_hours: 1\n  draft_after_hours: 8760\n",
        source="flow.yaml",
    ).definition
    assert flow.version == 1_000_000
    assert flow.steps[1].branches[0].answer_at_least == 4
    assert flow.reminder.draft_after_hours == 8760
