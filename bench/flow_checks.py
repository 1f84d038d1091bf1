"""How long the flow checks take on very large flows (they must grow linearly).

Run: .venv/bin/python bench/flow_checks.py
Each flow is valid: every step leads to the next, with ten branches to the next step too.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.flows.checks import semantic_problems
from handlers.flows.schema import FlowDefinition

SIZES = ((3_000, 0), (3_000, 10), (24_000, 0))


def flow(steps: int, branches: int) -> FlowDefinition:
    """A valid flow of ``steps`` rating steps, each with ``branches`` branches to the next."""
    ids = [f"step{number}" for number in range(steps)] + ["end"]
    return FlowDefinition.model_validate(
        {
            "id": "big",
            "version": 1,
            "languages": ["en"],
            "default_language": "en",
            "welcome": {"en": "Hi"},
            "steps": [
                {
                    "id": ids[number],
                    "kind": "rating",
                    "question": {"en": "How much?"},
                    "next": ids[number + 1],
                    "branches": [{"answer_in": ["5"], "goto": ids[number + 1]}] * branches,
                }
                for number in range(steps)
            ],
            "end": {"thanks": {"en": "Thanks"}},
        }
    )


def main() -> None:
    for steps, branches in SIZES:
        definition = flow(steps, branches)
        started = time.perf_counter()
        problems = semantic_problems(definition)
        elapsed = time.perf_counter() - started
        print(f"{steps} steps x {branches} branches: {elapsed:.3f} s, {len(problems)} problems")


if __name__ == "__main__":
    main()
