"""The core (handlers/) must not import platform or database code."""

import ast
from pathlib import Path

import pytest

FORBIDDEN = ("telegram", "slack_bolt", "slack_sdk", "sqlmodel", "sqlalchemy", "bot", "storage")
HANDLERS = Path(__file__).resolve().parent.parent / "handlers"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    "path", sorted(HANDLERS.rglob("*.py")), ids=lambda path: path.relative_to(HANDLERS).as_posix()
)
def test_handlers_import_no_platform_or_database_code(path: Path) -> None:
    offending = {name for name in imported_modules(path) if name.split(".")[0] in FORBIDDEN}
    assert not offending, f"{path.relative_to(HANDLERS)} imports {sorted(offending)}"


def test_the_rule_catches_a_forbidden_import(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("from sqlalchemy import select\nimport telegram.ext\n")
    assert imported_modules(sneaky) == {"sqlalchemy", "telegram.ext"}
