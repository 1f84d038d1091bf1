"""What the team's decisions teach: the chat set's half fed as decisions, the other half measured.

For one part of tests/data/similar_ideas_chat/ (``--part tune`` while tuning): the backlog is
imported with ``ideabot ideas import``; each group's first two chat wordings are imported too
and merged into their original through the storage's own merge (what a staff click or
``ideabot ideas merge`` does: a labelled pair, a face); the first half of the novel ideas
each say "no" to the idea they rank first (a customer's answer). Before and after, the
other wordings and novel ideas are asked through ``SimilarAnswers``, the code behind
``ideabot ideas similar --stdin`` (the dialogue's own offer rule). Settings come from the
environment, as for ideabot; ``--dump FILE`` keeps every ranking for tuning.

Run: .venv/bin/python -m bench.similarity_learning --part tune
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from bot.app import open_database
from bot.embeddings.choice import configured_similarity
from bot.settings import Settings
from bot.similar_answer import SimilarAnswer, SimilarAnswers
from handlers.flows.engine import summary_lookup_text
from storage.dialogue.store import SqlDialogueStore
from storage.similar_decisions import DecisionSource, record_decision, stored_calibration
from storage.similar_ideas import SimilarIdeas
from storage.tables import IdeaRow, table_of

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "similar_ideas_chat"
# Wordings of each group fed as staff merges; the rest are measured.
FED_WORDINGS = 2
STAFF_SEES = 5
_IDEA = table_of(IdeaRow)


@dataclass(frozen=True)
class Asked:
    """A measured text and the source id of its idea (None: novel)."""

    text: str
    right: str | None


@dataclass(frozen=True)
class Split:
    """One part of the set: what is fed as decisions, and what is measured."""

    merges: list[tuple[str, str]]  # (wording, original's source id)
    refusals: list[str]  # novel texts that say "no" to what ranks first
    measured: list[Asked]


def split(part: str) -> Split:
    """The part's groups and novel ideas, halved into fed and measured."""
    labelled = yaml.safe_load((DATA / "labelled.yaml").read_text(encoding="utf-8"))
    merges: list[tuple[str, str]] = []
    measured: list[Asked] = []
    for group in labelled["groups"]:
        if group["part"] != part:
            continue
        wordings = [next(iter(text.values())) for text in group["texts"][1:]]
        merges.extend((text, group["id"]) for text in wordings[:FED_WORDINGS])
        measured.extend(Asked(text, group["id"]) for text in wordings[FED_WORDINGS:])
    novel = [
        next(iter(value for key, value in item.items() if key in ("en", "nb")))
        for item in labelled["novel"]
        if item["part"] == part
    ]
    half = (len(novel) + 1) // 2
    measured.extend(Asked(text, None) for text in novel[half:])
    return Split(merges, novel[:half], measured)


def ideabot(*arguments: str, environment: dict[str, str]) -> str:
    """Run the ideabot next to this Python; its standard output."""
    command = Path(sys.executable).with_name("ideabot")
    done = subprocess.run(
        [str(command), *arguments], capture_output=True, env=environment, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"ideabot {arguments[:2]} failed: {done.stderr.decode()}")
    return done.stdout.decode("utf-8")


@dataclass(frozen=True)
class Figures:
    """The in-chat and staff-side figures of one measurement."""

    offers: int
    right_offers: int
    duplicates: int
    novel_offered: int
    novel: int
    first: int
    top: int

    def row(self, name: str) -> str:
        """One row of the table."""

        def share(count: int, total: int) -> str:
            return f"{count / total:.2f}" if total else "–"

        return (
            f"| {name} | {share(self.right_offers, self.offers)} "
            f"({self.right_offers}/{self.offers}) "
            f"| {share(self.right_offers, self.duplicates)} "
            f"({self.right_offers}/{self.duplicates}) "
            f"| {self.novel_offered} of {self.novel} "
            f"| {self.first} of {self.duplicates} | {self.top} of {self.duplicates} |"
        )


def figures(
    measured: Sequence[Asked], answers: Sequence[SimilarAnswer], source_of: dict[int, str]
) -> Figures:
    """Count what the answers got right."""
    offers = right_offers = novel_offered = first = top = 0
    for asked, answer in zip(measured, answers, strict=True):
        offered = None if answer.offer is None else source_of.get(answer.offer.idea_id)
        ranked = [source_of.get(candidate.idea_id) for candidate in answer.candidates]
        offers += offered is not None
        if asked.right is None:
            novel_offered += offered is not None
            continue
        right_offers += offered == asked.right
        first += bool(ranked) and ranked[0] == asked.right
        top += asked.right in ranked[:STAFF_SEES]
    duplicates = sum(asked.right is not None for asked in measured)
    return Figures(
        offers, right_offers, duplicates, novel_offered, len(measured) - duplicates, first, top
    )


async def measure(
    settings: Settings,
    similar: SimilarIdeas,
    measured: Sequence[Asked],
    dump: list[Any],
    stage: str,
) -> tuple[Figures, dict[int, str]]:
    """Ask about every measured text as ``ideabot ideas similar --stdin`` would."""
    async with open_database(settings) as sessions, sessions() as session:
        source_of = {
            row.id: row.source_id
            for row in await session.execute(select(_IDEA.c.id, _IDEA.c.source_id))
        }
        answers = SimilarAnswers(
            session, similar, threshold=settings.similar_idea_threshold, limit=STAFF_SEES
        )
        found = []
        for asked in measured:
            found.append(await answers.answer(asked.text))
            lookup = await similar.lookup(
                session, summary_lookup_text(asked.text), at_least=None, limit=STAFF_SEES
            )
            dump.append(
                {
                    "stage": stage,
                    "text": asked.text,
                    "right": asked.right,
                    "ranked": [
                        [source_of.get(m.idea_id), m.score, m.through_face] for m in lookup.matches
                    ],
                }
            )
        await session.commit()
    return figures(measured, found, source_of), source_of


async def feed(settings: Settings, similar: SimilarIdeas, chosen: Split) -> str:
    """Merge the fed wordings into their originals, and say "no" for the fed novel ideas."""
    async with open_database(settings) as sessions:
        async with sessions() as session:
            rows = await session.execute(select(_IDEA.c.id, _IDEA.c.source_id))
            id_of = {row.source_id: row.id for row in rows}
        store = SqlDialogueStore(sessions, similar)
        for number, (_, original) in enumerate(chosen.merges):
            async with store.transaction() as transaction:
                duplicate = await transaction.idea_for_update(idea_id=id_of[f"fed-{number}"])
                target = await transaction.idea_for_update(idea_id=id_of[original])
                assert duplicate is not None
                assert target is not None
                await transaction.merge_ideas(
                    duplicate=duplicate, original=target, merged_by="bench"
                )
        async with sessions() as session, session.begin():
            for text in chosen.refusals:
                found = await similar.lookup(
                    session, summary_lookup_text(text), at_least=None, limit=1
                )
                if found.matches:
                    await record_decision(
                        session,
                        similar,
                        idea_id=found.matches[0].idea_id,
                        text=summary_lookup_text(text),
                        same=False,
                        source=DecisionSource.CUSTOMER_NO,
                        customer_id=None,
                        conversation_id=None,
                    )
        async with sessions() as session:
            calibration = await stored_calibration(session, method=similar.method)
    if calibration is None:
        return "no calibration"
    return (
        f"threshold {calibration.threshold:.3f} from {calibration.decisions} decisions "
        f"({calibration.same} the same; calibrated: {calibration.calibrated})"
    )


async def run(part: str) -> list[Any]:
    """Feed one half of the part, measure the other before and after; every ranking."""
    chosen = split(part)
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "learning.db"
        environment = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
        os.environ["DATABASE_URL"] = environment["DATABASE_URL"]
        ideabot("ideas", "import", str(DATA / "backlog.json"), environment=environment)
        settings = Settings()
        dump: list[Any] = []
        async with configured_similarity(settings) as choice:
            similar = choice.similar_ideas(settings)
            async with open_database(settings) as sessions:
                await SqlDialogueStore(sessions, similar).backfill_vectors()
            before, source_of = await measure(settings, similar, chosen.measured, dump, "before")
            fed = Path(folder) / "fed.json"
            fed.write_text(
                json.dumps(
                    [
                        {"id": f"fed-{number}", "title": text, "description": ""}
                        for number, (text, _) in enumerate(chosen.merges)
                    ]
                ),
                encoding="utf-8",
            )
            ideabot("ideas", "import", str(fed), environment=environment)
            async with open_database(settings) as sessions:
                await SqlDialogueStore(sessions, similar).backfill_vectors()
            calibration = await feed(settings, similar, chosen)
            after, _ = await measure(settings, similar, chosen.measured, dump, "after")
    print(
        f"part {part}: fed {len(chosen.merges)} merges and {len(chosen.refusals)} customers' "
        f"no; measured {before.duplicates} wordings and {before.novel} novel ideas; backlog "
        f"{len([s for s in source_of.values() if s])}; method {similar.method}; {calibration}\n"
    )
    print(
        "| learning | in-chat precision | in-chat recall | novel offered anything "
        "| right idea first | right idea in top 5 |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    print(before.row("before"))
    print(after.row("after"))
    return dump


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("tune", "held-out"), default="tune")
    parser.add_argument("--dump", type=Path, default=None)
    arguments = parser.parse_args()
    dump = asyncio.run(run(arguments.part))
    if arguments.dump is not None:
        arguments.dump.write_text(json.dumps(dump), encoding="utf-8")


if __name__ == "__main__":
    main()
