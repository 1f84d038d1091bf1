"""Issue 13: `ideabot campaigns create|list|preview|start|pause|resume|stats`, run for real."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.database import create_engine, create_sessions
from storage.migrate import migrate
from tests.helpers.campaigns import add_customer
from tests.helpers.cli import ideabot

HELLO = ["--text", "en=Got a minute? Tell us one idea.", "--text", "nb=Har du et minutt?"]


async def _customers(tmp_path: Path) -> list[int]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'ideabot.db'}")
    try:
        await migrate(engine)
        sessions = create_sessions(engine)
        return [
            await add_customer(sessions, language="en"),
            await add_customer(sessions, language="nb"),
            await add_customer(sessions, language="nb", platform="slack"),
            await add_customer(sessions, wants_invitations=False),
        ]
    finally:
        await engine.dispose()


async def test_a_campaign_from_draft_to_figures(tmp_path: Path) -> None:
    first, second, third, _ = await _customers(tmp_path)
    created = ideabot("campaigns", "create", "spring", "--flow", "idea", *HELLO, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    listed = ideabot("campaigns", "list", cwd=tmp_path).stdout.splitlines()
    assert listed[1].split()[:4] == ["spring", "draft", "idea", "now"]

    preview = ideabot("campaigns", "preview", "spring", cwd=tmp_path)
    assert preview.stdout.splitlines() == [
        "“spring” would invite 3 customer(s) now",
        "  en: 1",
        "  nb: 2",
        "for example (customer number, platform, language):",
        f"  {first:>6}  telegram  en",
        f"  {second:>6}  telegram  nb",
        f"  {third:>6}  slack     nb",
    ]
    assert "Customer" not in preview.stdout + preview.stderr  # no names

    started = ideabot("campaigns", "start", "spring", cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    assert "3 customer(s) to invite" in started.stdout
    paused = ideabot("campaigns", "pause", "spring", cwd=tmp_path)
    assert "paused; 0 invitation(s) not yet sent were held back" in paused.stdout
    assert ideabot("campaigns", "resume", "spring", cwd=tmp_path).returncode == 0
    stats = ideabot("campaigns", "stats", "spring", cwd=tmp_path).stdout.splitlines()
    assert stats[0] == "“spring” (running), flow idea"
    assert stats[1].split() == [
        "language",
        "invited",
        "delivered",
        "started",
        "finished",
        "ideas",
        "opted",
        "out",
    ]


# Thirteen `ideabot campaigns` processes in a row: bounded, but not by the usual 120 s.
@pytest.mark.timeout(400)
async def test_bad_input_gets_one_sentence_and_a_non_zero_exit(tmp_path: Path) -> None:
    await _customers(tmp_path)
    english_only = ["--text", "en=Hello"]
    cases = [
        (["create", "x", "--flow", "nope", *HELLO], "there is no live flow “nope”"),
        (["create", "x", "--flow", "idea", "--text", "Hello"], "write --text LANGUAGE=TEXT"),
        (["create", "x", "--flow", "idea", "--text", "en= "], "needs an invitation text"),
        (
            ["create", "x", "--flow", "idea", *HELLO, "--schedule", "monthly 6 mon 10:00"],
            "would never fire",
        ),
        (["create", "x", "--flow", "idea", *HELLO, "--schedule", "sometimes"], "not a schedule"),
        (["start", "unknown"], "there is no campaign “unknown”"),
    ]
    for arguments, expected in cases:
        done = ideabot("campaigns", *arguments, cwd=tmp_path)
        assert done.returncode != 0, arguments
        assert expected in done.stderr, (arguments, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr

    ideabot("campaigns", "create", "en", "--flow", "idea", *english_only, cwd=tmp_path)
    missing = ideabot("campaigns", "start", "en", cwd=tmp_path)
    assert missing.returncode != 0
    assert "“en” has no invitation text in nb, which 2 of its audience speak" in missing.stderr

    ideabot(
        "campaigns", "create", "none", "--flow", "idea", *HELLO, "--language", "de", cwd=tmp_path
    )
    empty = ideabot("campaigns", "start", "none", cwd=tmp_path)
    assert empty.returncode != 0
    assert "would invite nobody now" in empty.stderr
    listed = ideabot("campaigns", "list", cwd=tmp_path).stdout
    assert "running" not in listed


async def test_a_start_while_another_campaign_invites_the_same_people_is_refused(
    tmp_path: Path,
) -> None:
    await _customers(tmp_path)
    for name, audience in (("everyone", []), ("norwegian", ["--language", "nb"])):
        created = ideabot(
            "campaigns", "create", name, "--flow", "idea", *HELLO, *audience, cwd=tmp_path
        )
        assert created.returncode == 0, created.stderr
    assert ideabot("campaigns", "start", "everyone", cwd=tmp_path).returncode == 0

    refused = ideabot("campaigns", "start", "norwegian", cwd=tmp_path)

    assert refused.returncode != 0
    assert refused.stderr.strip() == (
        "ideabot: “everyone” is inviting 2 of the same customers: pause it or wait until it is done"
    )
    # Nothing started: it is still a draft (only a running campaign's tick enqueues).
    listed = ideabot("campaigns", "list", cwd=tmp_path).stdout.splitlines()
    assert [line.split()[:2] for line in listed[1:]] == [
        ["norwegian", "draft"],
        ["everyone", "running"],
    ]
