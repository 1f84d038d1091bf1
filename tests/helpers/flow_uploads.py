"""Flow files as an admin would upload them: the shipped flow changed, with mistakes or fixed."""

from __future__ import annotations

from tests.conftest import SHIPPED_FLOWS

OLD_QUESTION = "What problem would it solve for you?"
NEW_QUESTION = "Which problem would this fix for you?"


def shipped_text() -> str:
    return (SHIPPED_FLOWS / "idea.yaml").read_text(encoding="utf-8")


def fixed_file() -> str:
    """The shipped flow with the 'problem' question reworded."""
    text = shipped_text()
    assert OLD_QUESTION in text
    return text.replace(OLD_QUESTION, NEW_QUESTION)


def line_of(text: str, needle: str) -> int:
    """The 1-based line where ``needle`` first occurs."""
    return text[: text.index(needle)].count("\n") + 1


def file_with_three_mistakes() -> tuple[str, list[int]]:
    """The fixed file with three mistakes, and the lines they are on."""
    text = fixed_file()
    text = text.replace("      min_words: 6\n", "      min_words: many\n", 1)
    text = text.replace("    kind: choice\n", "    kind: choise\n", 1)
    text = text.replace("  - id: problem\n", "  - id: problem\n    colour: blue\n", 1)
    lines = [
        line_of(text, "min_words: many"),
        line_of(text, "colour: blue"),
        line_of(text, "kind: choise"),
    ]
    return text, sorted(lines)
