"""Precision and recall of the similar-idea method on the labelled pairs in tests/data.

Run: .venv/bin/python bench/similarity_eval.py   (prints a table for docs/benchmarks.md)
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.ideas.similarity import similarity

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "similar_ideas.yaml"
THRESHOLDS = [0.25, 0.30, 0.35, 0.40, 0.45, 0.50]


@dataclass(frozen=True)
class Pair:
    """Two idea texts, whether they ask for the same thing, and their languages."""

    first: str
    second: str
    same: bool
    languages: str


def language(index: int) -> str:
    """Each group lists two English texts, then two Norwegian ones."""
    return "en" if index < 2 else "nb"


def labelled_pairs() -> list[Pair]:
    """Same: every two texts of a group. Different: one pair for every two groups."""
    groups = yaml.safe_load(DATA.read_text(encoding="utf-8"))["groups"]
    pairs: list[Pair] = []
    for group in groups:
        for (i, a), (j, b) in itertools.combinations(enumerate(group["texts"]), 2):
            pairs.append(Pair(a, b, True, "-".join(sorted({language(i), language(j)}))))
    for number, (g1, g2) in enumerate(itertools.combinations(groups, 2)):
        i, j = number % 4, (number // 4 + 1) % 4
        languages = "-".join(sorted({language(i), language(j)}))
        pairs.append(Pair(g1["texts"][i], g2["texts"][j], False, languages))
    return pairs


def scores(
    threshold: float, pairs: list[Pair], glossary: dict[str, str] | None
) -> tuple[float, float]:
    """Precision and recall of 'same' at ``threshold``."""
    predicted = [similarity(p.first, p.second, glossary) >= threshold for p in pairs]
    true_positive = sum(1 for p, said in zip(pairs, predicted, strict=True) if said and p.same)
    said_same = sum(predicted)
    are_same = sum(p.same for p in pairs)
    precision = true_positive / said_same if said_same else 1.0
    recall = true_positive / are_same if are_same else 1.0
    return precision, recall


def main() -> None:
    pairs = labelled_pairs()
    same = sum(p.same for p in pairs)
    print(f"{len(pairs)} pairs: {same} same, {len(pairs) - same} different")
    for name, glossary in (("with the nb→en glossary", None), ("without it", {})):
        print(f"\n{name}")
        print("| threshold | precision | recall | en–en P/R | nb–nb P/R | en–nb P/R |")
        print("| --- | --- | --- | --- | --- | --- |")
        for threshold in THRESHOLDS:
            overall = scores(threshold, pairs, glossary)
            cells = [f"{threshold:.2f}", f"{overall[0]:.2f}", f"{overall[1]:.2f}"]
            for languages in ("en", "nb", "en-nb"):
                subset = [p for p in pairs if p.languages == languages]
                p, r = scores(threshold, subset, glossary)
                cells.append(f"{p:.2f} / {r:.2f}")
            print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
