"""Flow checks stay linear in the number of steps, and their messages stay short."""

from __future__ import annotations

from typing import Any

from handlers.flows.checks import KNOWN_STEPS_LISTED, semantic_problems
from handlers.flows.schema import FlowDefinition, Step


class _CountedSteps(list[Step]):
    """A flow's steps that count every walk over them (a loop or a slice)."""

    walks = 0

    def __iter__(self) -> Any:
        type(self).walks += 1
        return super().__iter__()

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            type(self).walks += 1
        return super().__getitem__(key)


def _flow(step_count: int, *, next_step: str | None = None) -> FlowDefinition:
    steps = [
        {"id": f"step{number}", "question": {"en": "Why?"}, "next": next_step}
        for number in range(step_count)
    ]
    return FlowDefinition.model_validate(
        {
            "id": "big",
            "version": 1,
            "languages": ["en"],
            "default_language": "en",
            "welcome": {"en": "Hi"},
            "steps": steps,
            "end": {"thanks": {"en": "Thanks"}},
        }
    )


def test_a_flow_of_5000_steps_is_checked_in_a_few_walks_over_its_steps() -> None:
    flow = _flow(5000)
    counted = _CountedSteps(flow.steps)
    _CountedSteps.walks = 0
    assert semantic_problems(flow.model_copy(update={"steps": counted})) == []
    # One walk per check of the whole flow, not one per step (which took minutes).
    assert _CountedSteps.walks <= 5


def test_a_step_that_goes_nowhere_lists_only_the_first_known_steps() -> None:
    problems = semantic_problems(_flow(KNOWN_STEPS_LISTED + 5, next_step="nowhere"))
    message = problems[0][1]
    assert f"step{KNOWN_STEPS_LISTED - 1}, …" in message
    assert f"step{KNOWN_STEPS_LISTED}," not in message
    assert len(problems) == KNOWN_STEPS_LISTED + 5
