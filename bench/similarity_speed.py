"""How fast the similar-idea lookup is among 100,000 ideas (target: under 50 ms).

Run: .venv/bin/python bench/similarity_speed.py
The ideas are made up from the words of the labelled set and a larger made-up vocabulary,
8 to 16 words each, so the index has realistic posting lists; queries are the labelled texts.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.ideas.similarity import SimilarityIndex

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "similar_ideas.yaml"
IDEAS = 100_000


def main() -> None:
    rng = random.Random(7)
    texts = [t for g in yaml.safe_load(DATA.read_text())["groups"] for t in g["texts"]]
    vocabulary = sorted({word.strip(",.?!").lower() for text in texts for word in text.split()})
    letters = "abcdefghijklmnopqrstuvwxyzæøå"
    vocabulary += [
        "".join(rng.choice(letters) for _ in range(rng.randint(4, 10))) for _ in range(20_000)
    ]
    tracemalloc.start()
    started = time.perf_counter()
    index = SimilarityIndex()
    for idea_id in range(IDEAS):
        index.add(idea_id, " ".join(rng.choice(vocabulary) for _ in range(rng.randint(8, 16))))
    built = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    timings = []
    for text in texts * 2:
        start = time.perf_counter()
        index.search(text, limit=3, at_least=0.3)
        timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    print(f"{IDEAS} ideas indexed in {built:.1f} s, peak memory {peak / 1e6:.0f} MB")
    print(
        f"lookup over {len(timings)} queries: median {statistics.median(timings):.1f} ms, "
        f"p95 {timings[int(len(timings) * 0.95)]:.1f} ms, max {timings[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
