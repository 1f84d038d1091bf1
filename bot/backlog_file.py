"""A backlog file from another tool (JSON or CSV) read into ideas, with what was skipped and why."""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from handlers.ideas.status import IdeaStatus
from storage.idea_import import ImportedIdea

FIELDS = ("id", "title", "description", "status", "votes", "created")
# A file is read whole (JSON needs all of it): this bounds the memory an import takes.
LARGEST_BACKLOG_BYTES = 50_000_000
TITLE_LENGTH = 256
SOURCE_ID_LENGTH = 128
# The database keeps votes in a 32-bit integer.
MOST_VOTES = 2**31 - 1
# Statuses of Fider (open, started, completed, declined, planned) and Canny (open, under
# review, planned, in progress, complete, closed), and ideabot's own.
_STATUSES = {
    "": IdeaStatus.NEW,
    "open": IdeaStatus.NEW,
    "new": IdeaStatus.NEW,
    "under review": IdeaStatus.UNDER_REVIEW,
    "under_review": IdeaStatus.UNDER_REVIEW,
    "planned": IdeaStatus.PLANNED,
    "started": IdeaStatus.IN_PROGRESS,
    "in progress": IdeaStatus.IN_PROGRESS,
    "in_progress": IdeaStatus.IN_PROGRESS,
    "completed": IdeaStatus.DONE,
    "complete": IdeaStatus.DONE,
    "done": IdeaStatus.DONE,
    "declined": IdeaStatus.DECLINED,
    "closed": IdeaStatus.DECLINED,
}
# Not ideas to keep: a duplicate's votes are its original's in the source tool.
_LEFT_OUT = {
    "duplicate": "marked duplicate in the source",
    "deleted": "deleted in the source",
}


class BacklogFileError(Exception):
    """The file as a whole cannot be read; the message says what to do."""


@dataclass
class Backlog:
    """The ideas a file holds, and how many rows were skipped for each reason."""

    ideas: list[ImportedIdea] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


def parse_columns(option: str | None) -> dict[str, str]:
    """``id=number,votes=votes_count`` as {field: column}; unnamed fields keep their name."""
    columns = {name: name for name in FIELDS}
    for pair in (option or "").split(","):
        if not pair.strip():
            continue
        name, equals, column = pair.partition("=")
        name = name.strip().lower()
        if not equals or name not in FIELDS or not column.strip():
            raise BacklogFileError(
                f"--columns: “{pair.strip()}” is not FIELD=COLUMN with FIELD one of "
                + ", ".join(FIELDS)
            )
        columns[name] = column.strip()
    return columns


def read_backlog(path: Path, *, columns: Mapping[str, str]) -> Backlog:
    """The ideas of a JSON (a list of objects) or CSV (a header row) file."""
    too_large = BacklogFileError(
        f"{path} is larger than {LARGEST_BACKLOG_BYTES // 1_000_000} MB, more than ideabot "
        "imports at once: split it into smaller files"
    )
    try:
        with path.open("rb") as stream:
            if os.fstat(stream.fileno()).st_size > LARGEST_BACKLOG_BYTES:
                raise too_large
            # A pipe or a file growing meanwhile has no size to trust: read one byte more.
            raw = stream.read(LARGEST_BACKLOG_BYTES + 1)
        if len(raw) > LARGEST_BACKLOG_BYTES:
            raise too_large
        content = raw.decode("utf-8-sig")
    except OSError as error:
        raise BacklogFileError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise BacklogFileError(f"{path} is not UTF-8 text") from None
    if path.suffix.lower() == ".json" or content.lstrip().startswith("["):
        records = _json_records(content, path)
    else:
        records = _csv_records(content, path, columns)
    return _backlog(records, columns)


def _json_records(content: str, path: Path) -> list[Mapping[str, Any]]:
    try:
        loaded = json.loads(content)
    except json.JSONDecodeError as error:
        raise BacklogFileError(
            f"{path} is not valid JSON (line {error.lineno}: {error.msg})"
        ) from None
    if not isinstance(loaded, list):
        raise BacklogFileError(f"{path}: expected a JSON list of ideas (objects)")
    return [record if isinstance(record, dict) else {} for record in loaded]


def _csv_records(content: str, path: Path, columns: Mapping[str, str]) -> list[Mapping[str, Any]]:
    reader = csv.DictReader(io.StringIO(content, newline=""))
    try:
        header = reader.fieldnames or []
        missing = [columns[name] for name in ("id", "title") if columns[name] not in header]
        records: list[Mapping[str, Any]] = list(reader)
    except csv.Error as error:
        # A cell over the csv module's limit (128 KiB) is no idea's text: say where it is.
        raise BacklogFileError(
            f"{path}: the row after line {reader.line_num} cannot be read ({error})"
        ) from None
    if missing:
        raise BacklogFileError(
            f"{path}: no column {', '.join(missing)} in the header "
            f"({', '.join(header) or 'empty'}); map yours with --columns"
        )
    return records


def _backlog(records: Iterable[Mapping[str, Any]], columns: Mapping[str, str]) -> Backlog:
    backlog = Backlog()
    seen: set[str] = set()
    for record in records:
        values = {name: _cell(record.get(column)) for name, column in columns.items()}
        idea, reason = _idea(values)
        if idea is not None and idea.source_id in seen:
            idea, reason = None, "the same id twice in the file"
        if idea is None:
            backlog.skipped[reason] += 1
            continue
        seen.add(idea.source_id)
        backlog.ideas.append(idea)
    return backlog


def _cell(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _idea(values: Mapping[str, str]) -> tuple[ImportedIdea | None, str]:
    """The idea of one row, or None and why it is skipped."""
    source_id, title, status_word = values["id"], values["title"], values["status"].casefold()
    if not source_id:
        return None, "no id"
    if len(source_id) > SOURCE_ID_LENGTH:
        return None, f"an id longer than {SOURCE_ID_LENGTH} characters"
    if not title:
        return None, "no title"
    broken = _text_problem(source_id, title, values["description"])
    if broken is not None:
        return None, broken
    if status_word in _LEFT_OUT:
        return None, _LEFT_OUT[status_word]
    status = _STATUSES.get(status_word)
    if status is None:
        return None, f"status “{values['status']}” (not one ideabot knows)"
    votes = values["votes"] or "0"
    # isdigit alone lets "²" and other digits int() refuses through.
    if not (votes.isascii() and votes.isdigit()):
        return None, "votes not a whole number"
    if int(votes) > MOST_VOTES:
        return None, f"votes more than {MOST_VOTES}"
    created = _date(values["created"])
    if values["created"] and created is None:
        return None, "created not a date (use ISO 8601, e.g. 2025-03-01T12:00:00Z)"
    description = values["description"]
    if len(title) > TITLE_LENGTH:
        # The whole title stays in the description when it would be cut.
        description = f"{title}\n\n{description}".strip()
        title = title[: TITLE_LENGTH - 1] + "…"
    return ImportedIdea(
        source_id=source_id,
        title=title,
        description=description,
        status=status.value,
        votes=int(votes),
        created=created,
    ), ""


def _text_problem(*texts: str) -> str | None:
    """Why the database cannot keep these texts as they are, or None."""
    for words in texts:
        if any(ord(character) < 32 and character not in "\t\n\r" for character in words):
            return "control characters in the text (binary data, not text)"
        try:
            words.encode("utf-8")
        except UnicodeEncodeError:
            return "not UTF-8 text (a broken escape in the file)"
    return None


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
        # In UTC, as stored: the first and last days of the calendar fall off its ends.
        return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None
