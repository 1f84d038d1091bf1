"""CPU seconds a child process has used so far, read from /proc (Linux)."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User plus system CPU of process ``pid`` in seconds."""
    # Fields 14 and 15 of /proc/<pid>/stat, counted after the parenthesised command name,
    # which may itself hold spaces.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
