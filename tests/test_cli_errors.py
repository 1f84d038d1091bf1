"""The command line's errors are one line each that say what to do, and never a secret."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.e2e.bot_process import free_port

PASSWORD = "s3cret-Pa55word"


def ideabot(*arguments: str, cwd: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """``python -m bot`` in ``cwd`` with only the given settings (no tokens, no database)."""
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "SLACK_", "DATABASE_", "FLOWS_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=cwd,
        env={**base, **settings},
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The only line on standard error; fails when there is a traceback or more."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_version_and_short_help(tmp_path: Path) -> None:
    shown = ideabot("--version", cwd=tmp_path)
    assert (shown.returncode, shown.stdout.strip()) == (0, f"ideabot {version('ideabot')}")
    for arguments in (
        ["-h"],
        ["ideas", "-h"],
        ["ideas", "show", "-h"],
        ["flows", "validate", "-h"],
    ):
        helped = ideabot(*arguments, cwd=tmp_path)
        assert helped.returncode == 0, helped.stderr
        assert "Usage:" in helped.stdout
        assert helped.stdout == ideabot(*arguments[:-1], "--help", cwd=tmp_path).stdout


def test_a_database_refusing_connections_is_one_line(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://ideabot:{PASSWORD}@127.0.0.1:{port}/ideabot"
    result = ideabot("ideas", "list", cwd=tmp_path, DATABASE_URL=url)
    assert result.returncode == 2
    assert one_line(result) == (
        f"ideabot: database: cannot connect to 127.0.0.1:{port} (connection refused): "
        "is PostgreSQL running?"
    )


def test_an_unknown_database_host_is_one_line(tmp_path: Path) -> None:
    # .invalid never resolves (RFC 2606), so nothing leaves the machine.
    url = f"postgres://ideabot:{PASSWORD}@db.example.invalid/ideabot"
    result = ideabot("migrate", cwd=tmp_path, DATABASE_URL=url)
    assert result.returncode == 2
    assert one_line(result) == (
        "ideabot: database: unknown host 'db.example.invalid': check the host in DATABASE_URL"
    )
    assert PASSWORD not in result.stderr


def test_a_database_url_of_an_unknown_kind_is_explained(tmp_path: Path) -> None:
    result = ideabot("migrate", cwd=tmp_path, DATABASE_URL="mysql://root@127.0.0.1/ideabot")
    assert result.returncode == 2
    assert one_line(result).startswith("ideabot: DATABASE_URL uses 'mysql', which ideabot cannot")


@pytest.mark.postgres
def test_postgres_urls_without_a_driver_work_and_a_missing_database_is_named(
    tmp_path: Path, postgres_url: str
) -> None:
    server, name = postgres_url.removeprefix("postgresql+asyncpg://").rsplit("/", 1)
    for scheme in ("postgres", "postgresql"):
        migrated = ideabot("migrate", cwd=tmp_path, DATABASE_URL=f"{scheme}://{server}/{name}")
        assert (migrated.returncode, migrated.stdout.strip()) == (0, "database is up to date")
    missing = ideabot("migrate", cwd=tmp_path, DATABASE_URL=f"postgres://{server}/{name}_gone")
    assert missing.returncode == 2
    host = server.rsplit("@", 1)[-1]
    assert one_line(missing) == (
        f"ideabot: database '{name}_gone' does not exist on {host}: create it "
        f"(createdb {name}_gone) or fix the name in DATABASE_URL"
    )


def test_status_with_nothing_configured_needs_attention(tmp_path: Path) -> None:
    result = ideabot("status", cwd=tmp_path)
    assert result.returncode == 1
    assert "✗ nothing to serve: set TELEGRAM_BOT_TOKEN and/or SLACK_BOT_TOKEN" in result.stdout
    assert f"✗ database: no database at {tmp_path / 'ideabot.db'}" in result.stdout
    assert not (tmp_path / "ideabot.db").exists()  # checking made no empty database


def test_status_gives_reasons_not_exception_names(tmp_path: Path) -> None:
    port = free_port()
    result = ideabot(
        "status",
        cwd=tmp_path,
        DATABASE_URL=f"postgresql://ideabot:{PASSWORD}@127.0.0.1:{port}/ideabot",
        TELEGRAM_BOT_TOKEN="123456:a-token-nobody-should-see",
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{free_port()}",
    )
    assert result.returncode == 1
    assert f"cannot connect to 127.0.0.1:{port} (connection refused)" in result.stdout
    assert "telegram: long polling: Telegram cannot be reached at http://127.0.0.1:" in (
        result.stdout
    )
    for secret in (PASSWORD, "a-token-nobody-should-see", "Error", "gaierror"):
        assert secret not in result.stdout + result.stderr


def test_a_relative_sqlite_path_is_the_current_folders_and_never_made_by_reading(
    tmp_path: Path,
) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    (home / ".env").write_text("DATABASE_URL=sqlite:///./ideabot.db\n")
    assert ideabot("migrate", cwd=home).returncode == 0
    listed = ideabot("ideas", "list", cwd=home)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "no ideas found"
    assert listed.stderr.strip() == f"ideabot: database {home / 'ideabot.db'}"
    lost = ideabot("ideas", "list", cwd=elsewhere)
    assert lost.returncode == 2
    assert one_line(lost) == (
        f"ideabot: no database at {elsewhere / 'ideabot.db'} (run ideabot from the folder "
        "with your .env, or set DATABASE_URL)"
    )
    assert not (elsewhere / "ideabot.db").exists()
    assert ideabot("ideas", "show", "1", cwd=elsewhere).returncode == 2
    assert ideabot("ideas", "export", cwd=elsewhere).returncode == 2
    assert not (elsewhere / "ideabot.db").exists()
