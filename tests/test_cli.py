"""The command line refuses to start on bad flows, and migrates on its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import SHIPPED_FLOWS
from tests.helpers.cli import ideabot


def test_migrate_creates_the_database(tmp_path: Path) -> None:
    result = ideabot("migrate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "database is up to date"
    assert (tmp_path / "ideabot.db").exists()
    assert ideabot("migrate", cwd=tmp_path).returncode == 0  # twice is fine


def test_bot_refuses_to_start_on_an_invalid_flow(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    text = (SHIPPED_FLOWS / "idea.yaml").read_text(encoding="utf-8")
    (flows / "idea.yaml").write_text(text.replace("kind: rating", "kind: stars"))
    result = ideabot("chat", cwd=tmp_path, FLOWS_PATH=str(flows))
    assert result.returncode == 2
    assert "the flows have problems, so ideabot will not start" in result.stderr
    assert "idea.yaml:" in result.stderr
    assert "must be one of" in result.stderr


def test_a_changed_flow_file_becomes_the_next_version_at_start(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    text = (SHIPPED_FLOWS / "idea.yaml").read_text(encoding="utf-8")
    (flows / "idea.yaml").write_text(text)
    assert ideabot("chat", cwd=tmp_path, FLOWS_PATH=str(flows)).returncode == 0
    # edited without touching `version:`: no refusal, validate and run agree
    (flows / "idea.yaml").write_text(text.replace("Thank you!", "Thanks a lot!"))
    checked = ideabot("flows", "validate", cwd=tmp_path, FLOWS_PATH=str(flows))
    assert checked.returncode == 0, checked.stderr
    assert "ok (flow 'idea'" in checked.stdout
    result = ideabot("chat", cwd=tmp_path, FLOWS_PATH=str(flows))
    assert result.returncode == 0, result.stderr
    assert ideabot("chat", cwd=tmp_path, FLOWS_PATH=str(flows)).returncode == 0  # unchanged
    history = ideabot("flows", "history", "idea", cwd=tmp_path).stdout.splitlines()
    assert [line.split()[2:4] for line in history] == [["import", "-"], ["import", "1"]]
    assert "version 2    live" in ideabot("flows", "list", cwd=tmp_path).stdout


def test_show_names_a_missing_idea(tmp_path: Path) -> None:
    assert ideabot("migrate", cwd=tmp_path).returncode == 0
    result = ideabot("ideas", "show", "42", cwd=tmp_path)
    assert result.returncode == 2
    assert "there is no idea #42" in result.stderr


def give_idea(tmp_path: Path, idea: str) -> None:
    answers = f"/start\n{idea}\nIt would save me an hour every single week at work\n1\n4\n2\n"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        input=answers,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'ideabot.db'}"},
    )
    assert result.returncode == 0, result.stderr


def test_merge_show_and_unmerge_from_the_command_line(tmp_path: Path) -> None:
    give_idea(tmp_path, "A dark mode for the app please at night")
    give_idea(tmp_path, "Export my invoices to PDF for the accounting")
    merged = ideabot("ideas", "merge", "2", "1", "--by", "Ops", cwd=tmp_path)
    assert merged.stdout.strip() == "idea #2 is merged into #1; 1 customer(s) will be told"
    shown = ideabot("ideas", "show", "2", cwd=tmp_path).stdout
    assert "Status:   duplicate" in shown
    assert "Merged:   duplicate of #1" in shown
    assert "Linked customers: 0" in shown
    again = ideabot("ideas", "merge", "2", "1", cwd=tmp_path)
    assert again.returncode == 2
    assert "cannot be merged" in again.stderr
    assert ideabot("ideas", "unmerge", "2", cwd=tmp_path).stdout.strip() == (
        "idea #2 is on its own again"
    )
    shown = ideabot("ideas", "show", "2", cwd=tmp_path).stdout
    assert "Status:   new" in shown
    assert "Linked customers: 1 (0 vote(s))" in shown
    assert "customer: A dark mode" not in shown  # idea 2's own conversation


def test_status_and_update_from_the_command_line(tmp_path: Path) -> None:
    give_idea(tmp_path, "A dark mode for the app please at night")
    moved = ideabot("ideas", "status", "1", "planned", "-m", "In May", cwd=tmp_path)
    assert moved.stdout.strip() == "idea #1 is now planned; 1 customer(s) will be told"
    same = ideabot("ideas", "status", "1", "Planlagt", cwd=tmp_path)
    assert same.stdout.strip() == "idea #1 is already planned"
    told = ideabot("ideas", "update", "1", "A week more", cwd=tmp_path)
    assert told.stdout.strip() == "idea #1: 1 customer(s) will get the update"
    missing = ideabot("ideas", "status", "9", "done", cwd=tmp_path)
    assert (missing.returncode, missing.stderr.strip()) == (2, "ideabot: there is no idea #9")
    wrong = ideabot("ideas", "status", "1", "someday", cwd=tmp_path)
    assert "“someday” is not a status" in wrong.stderr
