"""Similar ideas asked the way the bot asks them, on the independent chat set (issue 12).

Imports tests/data/similar_ideas_chat/backlog.json into a fresh SQLite database with
``ideabot ideas import``, runs every query of one part of the labelled set through
``ideabot ideas similar --stdin`` (the real command, in one process), and prints the in-chat
figures by language, with pairwise figures as a secondary table.

Run: .venv/bin/python bench/similarity_chat_eval.py --part tune
     (``--part held-out`` only to report: never tune on it). SIMILAR_IDEA_THRESHOLD and the
     other settings come from the environment, as for ideabot itself.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "similar_ideas_chat"
# Candidates asked for per query: enough that a pair outside them scores below the threshold
# (unless 50 ideas score above it), for the pairwise table.
CANDIDATES = 50
STAFF_SEES = 5
LANGUAGES = ("en", "nb", "cross")


@dataclass(frozen=True)
class Query:
    """A text a customer writes, the source id of the idea it is the same as (None: novel)."""

    text: str
    right: str | None
    language: str


@dataclass(frozen=True)
class Outcome:
    """What ``ideas similar`` answered for one query, in source ids."""

    query: Query
    offer: str | None
    offer_score: float
    candidates: tuple[tuple[str, float], ...]


def queries(part: str) -> tuple[list[Query], list[str]]:
    """The part's queries, and the source ids of its groups' originals."""
    labelled = yaml.safe_load((DATA / "labelled.yaml").read_text(encoding="utf-8"))
    found: list[Query] = []
    originals: list[str] = []
    for group in labelled["groups"]:
        if group["part"] != part:
            continue
        originals.append(group["id"])
        ((original_language, _),) = group["texts"][0].items()
        for wording in group["texts"][1:]:
            ((language, text),) = wording.items()
            pairing = language if language == original_language else "cross"
            found.append(Query(text, group["id"], pairing))
    for novel in labelled["novel"]:
        if novel["part"] == part:
            language = "en" if "en" in novel else "nb"
            found.append(Query(novel[language], None, language))
    return found, originals


def ideabot(*arguments: str, environment: dict[str, str], stdin: str = "") -> str:
    """Run the ideabot next to this Python; its standard output."""
    command = Path(sys.executable).with_name("ideabot")
    done = subprocess.run(
        [str(command), *arguments],
        input=stdin.encode("utf-8"),
        capture_output=True,
        env=environment,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"ideabot {arguments[:2]} failed: {done.stderr.decode()}")
    # Which method answered (`ideas similar` counts them there), and any warning.
    sys.stderr.write(done.stderr.decode("utf-8", errors="replace"))
    return done.stdout.decode("utf-8")


def evaluate(part: str) -> tuple[list[Outcome], list[str], int, str]:
    """Import the backlog, ask about every query; outcomes, originals, backlog size, report."""
    asked, originals = queries(part)
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "eval.db"
        environment = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
        report = ideabot("ideas", "import", str(DATA / "backlog.json"), environment=environment)
        with sqlite3.connect(database) as connection:
            source_of = dict(connection.execute("SELECT id, source_id FROM idea"))
        lines = ideabot(
            "ideas",
            "similar",
            "--stdin",
            "--limit",
            str(CANDIDATES),
            environment=environment,
            stdin="".join(query.text + "\n" for query in asked),
        ).splitlines()
    outcomes = []
    for query, line in zip(asked, lines, strict=True):
        answer: dict[str, Any] = json.loads(line)
        if answer["text"] != query.text:
            raise SystemExit(f"answers out of order at {query.text!r}")
        offer = answer["offer"]
        outcomes.append(
            Outcome(
                query,
                None if offer is None else source_of[offer["id"]],
                0.0 if offer is None else offer["score"],
                tuple((source_of[c["id"]], c["score"]) for c in answer["candidates"]),
            )
        )
    return outcomes, originals, len(source_of), report.strip()


def share(count: int, total: int) -> str:
    return f"{count / total:.2f}" if total else "–"


def in_chat_row(name: str, outcomes: Iterable[Outcome]) -> str:
    """One row of the in-chat table."""
    chosen = list(outcomes)
    duplicates = [o for o in chosen if o.query.right is not None]
    novel = [o for o in chosen if o.query.right is None]
    offers = [o for o in chosen if o.offer is not None]
    right_offers = sum(o.offer == o.query.right for o in duplicates)
    novel_offered = sum(o.offer is not None for o in novel)
    first = sum(bool(o.candidates) and o.candidates[0][0] == o.query.right for o in duplicates)
    top = sum(
        o.query.right in [source for source, _ in o.candidates[:STAFF_SEES]] for o in duplicates
    )
    return (
        f"| {name} | {share(right_offers, len(offers))} ({right_offers}/{len(offers)}) "
        f"| {share(right_offers, len(duplicates))} ({right_offers}/{len(duplicates)}) "
        f"| {novel_offered} of {len(novel)} ({share(novel_offered, len(novel))}) "
        f"| {first} of {len(duplicates)} ({share(first, len(duplicates))}) "
        f"| {top} of {len(duplicates)} ({share(top, len(duplicates))}) |"
    )


def pairwise_row(name: str, outcomes: Iterable[Outcome], originals: list[str], at: float) -> str:
    """Pairs (query, each original of the part) judged the same when scored ``at`` or more."""
    true_positive = false_positive = false_negative = 0
    for outcome in outcomes:
        scores = dict(outcome.candidates)
        for original in originals:
            judged_same = scores.get(original, 0.0) >= at
            same = original == outcome.query.right
            true_positive += judged_same and same
            false_positive += judged_same and not same
            false_negative += same and not judged_same
    precision = share(true_positive, true_positive + false_positive)
    recall = share(true_positive, true_positive + false_negative)
    return f"| {name} | {precision} | {recall} | {true_positive + false_negative} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("tune", "held-out"), default="tune")
    arguments = parser.parse_args()
    outcomes, originals, size, report = evaluate(arguments.part)
    method = os.environ.get("SIMILAR_IDEAS_METHOD", "auto")
    # A model offers from its own threshold (a cosine); the pairwise table uses the same one.
    if method == "lexical":
        threshold = float(os.environ.get("SIMILAR_IDEA_THRESHOLD", "0.80"))
    else:
        threshold = float(os.environ.get("SIMILAR_IDEA_SEMANTIC_THRESHOLD", "0.95"))
    groups = {
        language: [o for o in outcomes if o.query.language == language] for language in LANGUAGES
    }
    print(
        f"part {arguments.part}: {len(originals)} ideas, {len(outcomes)} queries; "
        f"backlog {size}; SIMILAR_IDEAS_METHOD {method}"
    )
    print(f"import: {report.replace(chr(10), '; ')}\n")
    print(
        "| queries | in-chat precision | in-chat recall | novel offered anything "
        "| right idea first | right idea in top 5 |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    print(in_chat_row("all", outcomes))
    for language, chosen in groups.items():
        print(in_chat_row(language, chosen))
    print(f"\nPairwise (secondary; each query against the part's {len(originals)} originals,")
    print(f"same when scored {threshold:.2f} or more):\n")
    print("| queries | precision | recall | same pairs |")
    print("| --- | --- | --- | --- |")
    print(pairwise_row("all", outcomes, originals, threshold))
    for language, chosen in groups.items():
        print(pairwise_row(language, chosen, originals, threshold))


if __name__ == "__main__":
    main()
