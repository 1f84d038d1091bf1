"""Admins change flows from the command line: push, drafts, publish, roll back, history."""

from __future__ import annotations

import getpass
from pathlib import Path

from tests.conftest import SHIPPED_FLOWS
from tests.helpers.cli import ideabot

SHIPPED = (SHIPPED_FLOWS / "idea.yaml").read_text(encoding="utf-8")
OLD_THANKS = "Thank you!"
NEW_THANKS = "Thanks a lot!"


def test_an_admins_way_through_versions_on_the_command_line(tmp_path: Path) -> None:
    me = f"cli:{getpass.getuser()}"
    first = tmp_path / "idea.yaml"
    first.write_text(SHIPPED)
    pushed = ideabot("flows", "push", str(first), cwd=tmp_path)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.strip() == "flow 'idea' is published as version 1 (not published)"
    # the exported live version reads back as the same flow: pushing it changes nothing
    exported = tmp_path / "exported" / "idea.yaml"
    exported.parent.mkdir()
    assert ideabot("flows", "export", "idea", "-o", str(exported), cwd=tmp_path).returncode == 0
    again = ideabot("flows", "push", str(exported), cwd=tmp_path)
    assert again.stdout.strip() == "flow 'idea' is unchanged: version 1 is live"
    edited = tmp_path / "idea-edited.yaml"  # what follows the flow's name is free
    edited.write_text(SHIPPED.replace(OLD_THANKS, NEW_THANKS))
    drafted = ideabot("flows", "push", str(edited), "--draft", cwd=tmp_path)
    assert "flow 'idea' draft 1 is stored" in drafted.stdout
    assert "ideabot flows publish idea --draft-id 1" in drafted.stdout
    assert OLD_THANKS in ideabot("flows", "export", "idea", cwd=tmp_path).stdout
    published = ideabot("flows", "publish", "idea", "--draft-id", "1", cwd=tmp_path)
    assert published.stdout.strip() == "flow 'idea' is live at version 2 (was 1)"
    assert NEW_THANKS in ideabot("flows", "export", "idea", cwd=tmp_path).stdout
    assert OLD_THANKS in ideabot("flows", "export", "idea", "--version", "1", cwd=tmp_path).stdout
    listed = ideabot("flows", "list", cwd=tmp_path).stdout
    assert "version 2    live since" in listed
    assert f"by {me} (2 versions)" in listed
    shown = ideabot("flows", "show", "idea", cwd=tmp_path).stdout
    assert "flow 'idea' version 2 (live), stored" in shown
    assert "1. idea (text): What would you like us to improve or create?" in shown
    rolled = ideabot("flows", "rollback", "idea", cwd=tmp_path)
    assert rolled.stdout.strip() == "flow 'idea' is rolled back to version 1 (was 2)"
    nothing = ideabot("flows", "rollback", "idea", cwd=tmp_path)
    assert nothing.returncode == 2
    assert nothing.stderr.strip() == (
        "ideabot: flow 'idea' has nothing to roll back to: version 1 is its first"
    )
    assert ideabot("flows", "publish", "idea", "--version", "2", cwd=tmp_path).returncode == 0
    history = ideabot("flows", "history", "idea", cwd=tmp_path).stdout.splitlines()
    assert [line.split()[2:] for line in history] == [
        ["push", "-", "→", "1", me, "from", str(first)],
        ["draft", "1", "→", "-", me, "draft", "1", "from", str(edited)],
        ["publish", "1", "→", "2", me, "draft", "1", "from", str(edited)],
        ["rollback", "2", "→", "1", me],
        ["publish", "1", "→", "2", me],
    ]


def test_refusals_are_one_sentence_and_change_nothing(tmp_path: Path) -> None:
    nowhere = ideabot("flows", "list", cwd=tmp_path)
    assert nowhere.returncode == 2
    assert "no database at" in nowhere.stderr
    assert ideabot("migrate", cwd=tmp_path).returncode == 0
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        SHIPPED.replace("kind: rating", "kind: stars").replace("fills: problem", "fills: trouble")
    )
    refused = ideabot("flows", "push", str(broken), cwd=tmp_path)
    assert refused.returncode == 1
    problems = refused.stderr.splitlines()
    assert problems[-1] == "2 problems found"
    assert all(line.startswith(f"{broken}:") for line in problems[:-1])
    # validate prints the very same lines
    assert ideabot("flows", "validate", str(broken), cwd=tmp_path).stderr == refused.stderr
    assert ideabot("flows", "list", cwd=tmp_path).stdout.strip() == "no flows are published"
    unknown = ideabot("flows", "history", "campaign", cwd=tmp_path)
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == (
        "ideabot: there is no flow 'campaign' (`ideabot flows list` shows them)"
    )
    both = ideabot("flows", "publish", "idea", "--version", "1", "--draft-id", "1", cwd=tmp_path)
    assert both.stderr.strip() == "ideabot: give either --draft-id or --version"
    # Beyond a database integer SQLite overflowed with a traceback (review R1, F1).
    huge = "99999999999999999999"
    for words in (
        ["stats", "idea", "--version", huge],
        ["stats", "idea", "--compare", "1", huge],
        ["show", "idea", "--version", huge],
        ["export", "idea", "--version", "2147483648"],
        ["publish", "idea", "--version", huge],
        ["publish", "idea", "--draft-id", huge],
    ):
        refused = ideabot("flows", *words, cwd=tmp_path)
        assert refused.returncode == 2, words
        assert "2147483647" in refused.stderr, words
        assert "Traceback" not in refused.stderr, words


def test_a_push_refuses_a_file_named_for_another_flow(tmp_path: Path) -> None:
    idea = tmp_path / "idea.yaml"
    idea.write_text(SHIPPED)
    assert ideabot("flows", "push", str(idea), cwd=tmp_path).returncode == 0
    # A file named for one flow that says it is another, live one: as a Slack upload is.
    campaign = tmp_path / "campaign.yaml"
    campaign.write_text(SHIPPED.replace(OLD_THANKS, NEW_THANKS))
    for extra in ([], ["--draft"]):
        clashing = ideabot("flows", "push", str(campaign), *extra, cwd=tmp_path)
        assert clashing.returncode == 2
        assert clashing.stderr.strip() == (
            "ideabot: campaign.yaml says it is flow 'idea', which is another flow: name the "
            "file idea.yaml to change 'idea', or give the new flow an id of its own."
        )
    assert OLD_THANKS in ideabot("flows", "export", "idea", cwd=tmp_path).stdout
    assert ideabot("flows", "history", "idea", cwd=tmp_path).stdout.count("\n") == 1


def test_a_push_says_what_it_changes_against_the_live_version(tmp_path: Path) -> None:
    first = tmp_path / "idea.yaml"
    first.write_text(SHIPPED)
    assert ideabot("flows", "push", str(first), cwd=tmp_path).returncode == 0
    drafted = ideabot("flows", "push", str(first), "--draft", cwd=tmp_path)
    assert drafted.stdout.splitlines()[-1] == "no changes against version 1"
    edited = tmp_path / "edited" / "idea.yaml"
    edited.parent.mkdir()
    edited.write_text(
        SHIPPED.replace(OLD_THANKS, NEW_THANKS).replace(
            "How often do you run into this?", "How often does this happen?"
        )
    )
    drafted = ideabot("flows", "push", str(edited), "--draft", cwd=tmp_path)
    assert drafted.stdout.splitlines()[1:] == [
        "changes against version 1:",
        "  closing text changed (en)",
        "  step 'frequency': question reworded (en)",
    ]
    pushed = ideabot("flows", "push", str(edited), cwd=tmp_path)
    assert pushed.stdout.splitlines() == [
        "flow 'idea' is published as version 2 (was 1)",
        "changes against version 1:",
        "  closing text changed (en)",
        "  step 'frequency': question reworded (en)",
    ]
    unchanged = ideabot("flows", "push", str(edited), cwd=tmp_path)
    assert unchanged.stdout.strip() == "flow 'idea' is unchanged: version 2 is live"
