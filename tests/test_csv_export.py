"""`ideas export --format csv` is safe to open in a spreadsheet; JSON keeps the words as given."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.csv_cells import spreadsheet_safe, write_csv
from tests.helpers.cli import ideabot
from tests.helpers.ideas import seed_ideas

FORMULA = '=HYPERLINK("http://127.0.0.1/x","click")'


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+47 22 33 44 55", "'+47 22 33 44 55"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tindented", "'\tindented"),
        ("\rreturn", "'\rreturn"),
        ("   =1+1", "'   =1+1"),
        ("\nnewline", "'\nnewline"),
        ("\n=1+1", "'\n=1+1"),
        ("\xa0=1+1", "'\xa0=1+1"),
        ("\u3000@SUM(A1)", "'\u3000@SUM(A1)"),
        ("\uff1d1+1", "'\uff1d1+1"),
        ("\uff0b47 22", "'\uff0b47 22"),
        ("\x00=1", "'\x00=1"),
        ("A plain idea", "A plain idea"),
        ("Smør og brød", "Smør og brød"),
        ("a=b", "a=b"),
        ("", ""),
        (42, 42),
        (None, None),
    ],
)
def test_a_cell_a_spreadsheet_would_run_gets_a_quote(cell: object, shown: object) -> None:
    assert spreadsheet_safe(cell) == shown


def test_the_csv_has_a_bom_and_reads_back_with_the_csv_module() -> None:
    output = io.BytesIO()
    rows = [{"title": FORMULA, "name": "Åse Ørn"}, {"title": 'line\nbreak, "quoted"', "name": ""}]
    write_csv(output, columns=["title", "name"], rows=rows)
    data = output.getvalue()
    assert data.startswith(b"\xef\xbb\xbf")
    read = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert read == [
        {"title": "'" + FORMULA, "name": "Åse Ørn"},
        {"title": 'line\nbreak, "quoted"', "name": ""},
    ]


async def test_ideas_export_neutralises_csv_and_keeps_json_raw(
    tmp_path: Path, sqlite_sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_ideas(sqlite_sessions, [FORMULA, "Blåbær i kantina"], description="@everyone -1")
    exported = ideabot("ideas", "export", "--format", "csv", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(exported.stdout.removeprefix("\ufeff"))))
    assert [(row["title"], row["description"]) for row in rows] == [
        ("'" + FORMULA, "'@everyone -1"),
        ("Blåbær i kantina", "'@everyone -1"),
    ]
    assert json.loads(rows[0]["answers"]) == {"idea": FORMULA}  # starts with {, so untouched
    as_json = ideabot("ideas", "export", "--format", "json", cwd=tmp_path)
    assert [idea["title"] for idea in json.loads(as_json.stdout)] == [FORMULA, "Blåbær i kantina"]
    assert json.loads(as_json.stdout)[0]["description"] == "@everyone -1"
