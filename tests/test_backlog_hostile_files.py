"""Hostile backlog files and standard input: skipped with a reason, never a traceback."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.backlog_cli import decoded, read_lines
from bot.backlog_file import LARGEST_BACKLOG_BYTES, BacklogFileError, parse_columns, read_backlog
from tests.helpers.cli import ideabot


def _json_file(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    path = tmp_path / "ideas.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"votes": "²"}, "votes not a whole number"),
        ({"votes": "٣"}, "votes not a whole number"),
        ({"votes": "99999999999999999999999"}, "votes more than 2147483647"),
        ({"created": "9999-12-31T23:00:00-05:00"}, "created not a date"),
        ({"created": "0001-01-01T00:30:00+01:00"}, "created not a date"),
        ({"title": "a\x00b"}, "control characters"),
        ({"description": "\x1b[31mred"}, "control characters"),
        ({"title": "a\ud800b"}, "not UTF-8 text"),
    ],
)
def test_a_row_the_database_cannot_take_is_skipped_with_its_reason(
    tmp_path: Path, row: dict[str, object], reason: str
) -> None:
    path = _json_file(tmp_path, [{"id": "1", "title": "Dark mode", **row}])
    backlog = read_backlog(path, columns=parse_columns(None))
    assert backlog.ideas == []
    assert [found for found in backlog.skipped if reason in found] != [], backlog.skipped


def test_tabs_and_line_breaks_in_a_description_are_kept(tmp_path: Path) -> None:
    path = _json_file(tmp_path, [{"id": "1", "title": "Dark mode", "description": "a\tb\r\nc"}])
    (idea,) = read_backlog(path, columns=parse_columns(None)).ideas
    assert idea.description == "a\tb\r\nc"


def test_a_csv_cell_larger_than_the_reader_takes_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "ideas.csv"
    path.write_text("id,title,description\n1,t," + "x" * 200_000 + "\n", encoding="utf-8")
    with pytest.raises(BacklogFileError, match="the row after line 1 cannot be read"):
        read_backlog(path, columns=parse_columns(None))


def test_hostile_rows_end_in_a_summary_not_a_traceback(tmp_path: Path) -> None:
    rows = [
        {"id": "1", "title": "Dark mode", "votes": "99999999999999999999999"},
        {"id": "2", "title": "Pay with Vipps", "created": "0001-01-01T00:30:00+01:00"},
        {"id": "3", "title": "Deliver on Sundays"},
    ]
    path = tmp_path / "ideas.json"
    path.write_text(json.dumps(rows).replace("Dark", "D\\u0000ark"), encoding="utf-8")
    result = ideabot("ideas", "import", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.splitlines()[0] == "imported 1 ideas"


def test_an_enormous_line_on_standard_input_is_not_held_whole() -> None:
    stream = io.BytesIO(b"x" * 5_000_000 + b"\nnext idea\n")
    lines = list(read_lines(stream))
    assert len(lines) == 2
    assert len(lines[0]) < 200_000
    assert decoded(lines[0])[1] == "is longer than 40000 characters (no chat message is)"
    assert lines[1] == b"next idea"


def test_a_line_of_long_characters_cut_mid_character_is_still_too_long() -> None:
    (line,) = list(read_lines(io.BytesIO("ø".encode() * 200_000)))
    assert decoded(line)[1] == "is longer than 40000 characters (no chat message is)"


def test_a_file_over_the_largest_backlog_is_refused_in_one_sentence_before_reading(
    tmp_path: Path,
) -> None:
    """Review of issue 13: `ideas import` read any file whole into memory."""
    path = tmp_path / "ideas.json"
    with path.open("wb") as sparse:
        # A sparse file: its size is set without writing (or reading) its bytes.
        sparse.truncate(LARGEST_BACKLOG_BYTES + 1)
    done = ideabot("ideas", "import", str(path), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"ideabot: {path} is larger than 50 MB, more than ideabot imports at once: "
        "split it into smaller files"
    )
    assert not (tmp_path / "ideabot.db").exists()
