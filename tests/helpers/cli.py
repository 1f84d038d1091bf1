"""Runs the ideabot command in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def ideabot(*arguments: str, cwd: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    base = {key: value for key, value in os.environ.items() if not key.startswith("TELEGRAM_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=cwd,
        env={**base, "DATABASE_URL": f"sqlite+aiosqlite:///{cwd / 'ideabot.db'}", **environment},
    )
