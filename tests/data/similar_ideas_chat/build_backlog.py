"""Write backlog.json and backlog.csv from labelled.yaml's originals and backlog_source/*.txt."""

# Run from anywhere: python tests/data/similar_ideas_chat/build_backlog.py
# Source lines are ideas as customers wrote them, one a line. A line
# "@ Pattern with {}: a; b; c" stands for one idea per item ("Pattern with a", ...).
# Votes and dates are derived from the text's hash, so the output is the same every run.

import csv
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

HERE = Path(__file__).parent
FIELDS = ("id", "title", "description", "status", "votes", "created")


def expand(line: str) -> list[str]:
    """One source line as the ideas it stands for."""
    if not line.startswith("@ "):
        return [line]
    pattern, _, items = line[2:].partition(": ")
    return [pattern.replace("{}", item.strip()) for item in items.split(";")]


def digest(text: str) -> int:
    """A stable number for a text."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def record(source_id: str, title: str) -> dict[str, object]:
    """One idea in the import format, with votes and a date that look like a real backlog."""
    number = digest(title)
    votes = [0, 0, 1, 1, 1, 2, 2, 3, 4, 5, 7, 9, 12, 18, 27, 41][number % 16]
    created = datetime(2024, 1, 1, 9, tzinfo=UTC) + timedelta(minutes=number % (1000 * 24 * 60))
    return {
        "id": source_id,
        "title": title,
        "description": "",
        "status": "open",
        "votes": votes,
        "created": created.isoformat(),
    }


def main() -> None:
    labelled = yaml.safe_load((HERE / "labelled.yaml").read_text(encoding="utf-8"))
    ideas = []
    for group in labelled["groups"]:
        (original,) = group["texts"][0].values()
        ideas.append(record(group["id"], original))
    for source in sorted((HERE / "backlog_source").glob("*.txt")):
        lines = [line.strip() for line in source.read_text(encoding="utf-8").splitlines()]
        titles = [title for line in lines if line for title in expand(line)]
        ideas.extend(
            record(f"{source.stem}-{number:04d}", title) for number, title in enumerate(titles, 1)
        )
    titles = [str(idea["title"]) for idea in ideas]
    duplicates = sorted({title for title in titles if titles.count(title) > 1})
    if duplicates:
        raise SystemExit(f"titles written twice: {duplicates}")
    ideas.sort(key=lambda idea: digest(str(idea["id"])))
    (HERE / "backlog.json").write_text(
        json.dumps(ideas, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    with (HERE / "backlog.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(ideas)
    print(f"{len(ideas)} ideas")


if __name__ == "__main__":
    main()
