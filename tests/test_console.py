"""`ideabot chat`: a newcomer finishes the default flow in the terminal, no tokens needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bot.console.channel import command_name


def ideabot(*arguments: str, cwd: Path, stdin: str = "", language: str = "en_US.UTF-8") -> str:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "DATABASE_")) and key not in ("LC_ALL", "LC_MESSAGES")
    }
    environment["LANG"] = language
    result = subprocess.run(
        [sys.executable, "-m", "bot", *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_console_conversation_records_an_idea_in_the_default_sqlite_file(tmp_path: Path) -> None:
    answers = [
        "Export my reports to a spreadsheet every month please",
        "I copy numbers by hand and make mistakes",
        "3",  # "Every month", typed as the option's number
        "4",
        "2",  # "No"
    ]
    output = ideabot("chat", cwd=tmp_path, stdin="\n".join(answers) + "\n")
    assert "bot> What would you like us to improve or create?" in output
    assert "      1. Every day" in output
    assert "      [1]  [2]  [3]  [4]  [5]" in output
    assert "bot> Thank you! Your idea is recorded." in output
    assert (tmp_path / "ideabot.db").exists()
    (idea,) = json.loads(ideabot("ideas", "export", "--format", "json", cwd=tmp_path))
    assert idea["title"] == "Export my reports to a spreadsheet every month please"
    assert (idea["frequency"], idea["importance"], idea["may_contact"]) == ("monthly", 4, False)
    assert idea["customer"]["platform"] == "console"
    csv_lines = ideabot("ideas", "export", "--format", "csv", cwd=tmp_path).splitlines()
    assert csv_lines[0].startswith("\ufeffid,title,description,status")  # BOM for Excel
    assert len(csv_lines) == 2
    listing = ideabot("ideas", "list", cwd=tmp_path)
    assert "Export my reports to a spreadsheet every month please" in listing
    shown = ideabot("ideas", "show", "1", cwd=tmp_path)
    assert "Every month" in shown
    assert "customer: I copy numbers by hand and make mistakes" in shown


def test_console_speaks_norwegian_from_the_locale(tmp_path: Path) -> None:
    output = ideabot("chat", cwd=tmp_path, stdin="/cancel\n", language="nb_NO.UTF-8")
    assert "bot> Hva vil du at vi skal forbedre eller lage?" in output
    assert "Greit, jeg stopper her." in output


def test_the_goodbye_names_the_command_as_it_was_started() -> None:
    assert command_name(".venv/bin/ideabot") == ".venv/bin/ideabot"
    assert command_name("/usr/local/bin/ideabot") == "/usr/local/bin/ideabot"
    assert command_name("/src/ideabot/bot/__main__.py") == "ideabot"  # python -m bot


def test_mydata_in_the_terminal_saves_the_file_for_its_owner_only(tmp_path: Path) -> None:
    answers = ["A calendar view of my bookings, please", "/mydata", "/mydata"]
    output = ideabot("chat", cwd=tmp_path, stdin="\n".join(answers) + "\n")
    saved = [line for line in output.splitlines() if "(a file: saved as" in line]
    assert len(saved) == 1, output  # the second /mydata comes too soon after the first
    (path,) = tmp_path.glob("*.json")
    assert str(path) in saved[0]
    assert path.stat().st_mode & 0o777 == 0o600
    data = json.loads(path.read_text(encoding="utf-8"))
    words = json.dumps(data, ensure_ascii=False)
    assert "A calendar view of my bookings, please" in words
