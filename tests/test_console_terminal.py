"""`ideabot chat` in a real terminal (a pty): Ctrl-C ends it at once; long lines are not cut."""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import sqlite3
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# Leaves readline out, as on a platform without it, so the terminal's own line mode applies.
WITHOUT_READLINE = "import sys; sys.modules['readline'] = None; from bot.cli import main; main()"


class Terminal:
    """A child process on a pseudo-terminal, typed to and read from like a person would."""

    def __init__(self, command: list[str], *, cwd: Path) -> None:
        self._master, slave = os.openpty()
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TELEGRAM_", "SLACK_", "DATABASE_"))
        }
        self.process = subprocess.Popen(
            command,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env={**environment, "LANG": "en_US.UTF-8", "TERM": "xterm"},
            start_new_session=True,
            # The pty becomes the child's controlling terminal, so Ctrl-C sends it SIGINT.
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)
        self.screen = ""

    def _drain(self, wait: float) -> None:
        readable, _, _ = select.select([self._master], [], [], wait)
        if readable:
            # OSError: the child has gone and the pty is closed.
            with contextlib.suppress(OSError):
                self.screen += os.read(self._master, 65536).decode(errors="replace")

    def wait_for(self, text: str, *, after: int = 0, timeout: float = 30.0) -> None:
        """Read until ``text`` shows on the screen after position ``after``."""
        deadline = time.monotonic() + timeout
        while text not in self.screen[after:]:
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} did not show within {timeout} s:\n{self.screen}")
            self._drain(0.05)

    def type(self, data: str) -> None:
        """Type ``data`` in small pieces, reading the echo meanwhile so neither side blocks."""
        raw = data.encode()
        for start in range(0, len(raw), 256):
            os.write(self._master, raw[start : start + 256])
            self._drain(0.01)

    def ended_within(self, seconds: float) -> bool:
        """Whether the child ends within ``seconds``, reading its output meanwhile."""
        deadline = time.monotonic() + seconds
        while self.process.poll() is None and time.monotonic() < deadline:
            self._drain(0.05)
        return self.process.poll() is not None

    def exit_code(self, *, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"still running after {timeout} s:\n{self.screen}")
            self._drain(0.05)
        # What the child wrote just before it ended may still wait in the pty: read it all.
        before = None
        while before != len(self.screen):
            before = len(self.screen)
            self._drain(0.05)
        return self.process.returncode

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self._master)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    opened = Terminal([sys.executable, "-m", "bot", "chat"], cwd=tmp_path)
    yield opened
    opened.close()


def inbound_texts(database: Path) -> list[str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("select text from message where direction = 'in' order by id")
        return [text for (text,) in rows]


def test_ctrl_c_at_the_prompt_ends_the_chat_at_once(terminal: Terminal) -> None:
    terminal.wait_for("you> ")
    # CPython's readline sees a Ctrl-C that lands between drawing the prompt and waiting for
    # a key only at the next key; a test types faster than a person, so it presses again.
    for _ in range(5):
        terminal.type("\x03")
        if terminal.ended_within(2.0):
            break
    assert terminal.exit_code(timeout=10) == 0
    assert "Bye! Your answers are saved" in terminal.screen


def test_a_long_line_arrives_whole_with_line_editing(terminal: Terminal, tmp_path: Path) -> None:
    terminal.wait_for("you> ")
    idea = "A calendar view please " + "x" * 5000
    mark = len(terminal.screen)
    terminal.type(idea + "\r")
    terminal.wait_for("you> ", after=mark)
    terminal.type("\x04")  # Ctrl-D: end of input
    assert terminal.exit_code(timeout=10) == 0
    assert inbound_texts(tmp_path / "ideabot.db")[-1] == idea


def test_arrow_keys_edit_the_line(terminal: Terminal, tmp_path: Path) -> None:
    terminal.wait_for("you> ")
    mark = len(terminal.screen)
    terminal.type("Dark mod for the app" + "\x1b[D" * len(" for the app"))  # left arrows
    terminal.type("e\r")
    terminal.wait_for("you> ", after=mark)
    terminal.type("/quit\r")
    assert terminal.exit_code(timeout=10) == 0
    assert "^[[D" not in terminal.screen
    assert inbound_texts(tmp_path / "ideabot.db")[-1] == "Dark mode for the app"


def test_a_line_cut_by_the_terminal_is_announced(tmp_path: Path) -> None:
    plain = Terminal([sys.executable, "-c", WITHOUT_READLINE, "chat"], cwd=tmp_path)
    try:
        plain.wait_for("you> ")
        mark = len(plain.screen)
        plain.type("y" * 5000 + "\n")
        plain.wait_for("its end may be cut off", after=mark)
        plain.type("/quit\n")
        assert plain.exit_code(timeout=10) == 0
    finally:
        plain.close()
