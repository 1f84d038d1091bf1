"""Issue 11: `ideabot customers find|export|erase`, and a pending erasure in `ideabot status`."""

from __future__ import annotations

import json
from pathlib import Path

from storage.database import create_engine, create_sessions
from storage.migrate import migrate
from tests.helpers.cli import ideabot
from tests.helpers.privacy import Seeded, seed_customer, send_everything


async def _two_customers(tmp_path: Path) -> tuple[Seeded, Seeded]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'ideabot.db'}")
    try:
        await migrate(engine)
        sessions = create_sessions(engine)
        alice = await seed_customer(
            sessions,
            name="Alice Wonderland",
            words="purple elephant",
            email="alice@ex.org",
            chat_id="777001234",
        )
        bob = await seed_customer(
            sessions,
            name="Bob Builder",
            words="turquoise giraffe",
            email="bob@ex.org",
            chat_id="888005678",
        )
        await send_everything(sessions)
    finally:
        await engine.dispose()
    return alice, bob


async def test_find_by_name_email_or_platform_id(tmp_path: Path) -> None:
    alice, _ = await _two_customers(tmp_path)
    for text in ("wonderland", "ALICE@ex", "777001234"):
        found = ideabot("customers", "find", text, cwd=tmp_path)
        assert found.returncode == 0, found.stderr
        rows = found.stdout.splitlines()[1:]
        assert len(rows) == 1
        assert rows[0].split()[0] == str(alice.customer_id)
    for text in ("nobody-like-this", "%"):
        nothing = ideabot("customers", "find", text, cwd=tmp_path)
        assert "no customer matches" in nothing.stdout


async def test_export_holds_everything_of_one_customer_and_nothing_of_another(
    tmp_path: Path,
) -> None:
    alice, bob = await _two_customers(tmp_path)
    out = tmp_path / "alice.json"
    done = ideabot("customers", "export", str(alice.customer_id), "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert exported["customer"]["name"] == alice.name
    (conversation,) = exported["conversations"]
    assert conversation["answers"] == {"idea": alice.words}
    transcript = [(entry["direction"], entry["text"]) for entry in conversation["transcript"]]
    # The staff reply is theirs to see; the internal note is not.
    assert transcript == [("in", alice.words), ("staff", "Thanks, we look at it")]
    (idea,) = exported["ideas"]
    assert (idea["title"], idea["email"]) == (alice.words, alice.email)
    text = out.read_text(encoding="utf-8")
    assert not any(trace in text for trace in (bob.name, bob.words, bob.email, bob.chat_id))
    assert "is nice" not in text
    assert out.stat().st_mode & 0o077 == 0


async def test_erase_asks_for_yes_without_a_terminal_then_erases_once(tmp_path: Path) -> None:
    alice, _ = await _two_customers(tmp_path)
    refused = ideabot("customers", "erase", str(alice.customer_id), cwd=tmp_path)
    assert refused.returncode != 0
    assert "--yes" in refused.stderr

    done = ideabot("customers", "erase", str(alice.customer_id), "--yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("erasure 1: removed ")
    assert "Slack step(s) queued" in done.stdout
    assert alice.staff_ts.replace(".", "") in done.stdout

    status = ideabot("status", cwd=tmp_path)
    assert "erasure 1 (customer, by cli:" in status.stdout
    assert "pending, 4 Slack step(s) left" in status.stdout

    again = ideabot("customers", "erase", str(alice.customer_id), "--yes", cwd=tmp_path)
    assert again.returncode != 0
    assert again.stderr.strip() == (
        f"ideabot: there is no customer {alice.customer_id} "
        "(erased customers have nothing left to erase)"
    )
    gone = ideabot("customers", "export", str(alice.customer_id), cwd=tmp_path)
    assert gone.returncode != 0
    assert len(gone.stderr.strip().splitlines()) == 1
