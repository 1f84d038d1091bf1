"""The one backoff helper gives what each hand-written formula gave, and never overflows."""

from __future__ import annotations

import pytest

from bot.backoff import doubled


@pytest.mark.parametrize("step", range(12))
@pytest.mark.parametrize(("base", "cap"), [(0.25, 30.0), (0.5, 30.0), (1.0, 60.0), (1.0, 300.0)])
def test_it_is_the_base_doubled_up_to_the_cap(step: int, base: float, cap: float) -> None:
    assert doubled(step, base=base, cap=cap) == min(cap, base * 2**step)


def test_doubling_from_the_first_delay_reaches_the_same_waits() -> None:
    delay, waits = 1.0, []
    for _ in range(8):
        waits.append(delay)
        delay = min(delay * 2, 30.0)
    assert [doubled(step, base=1.0, cap=30.0) for step in range(8)] == waits


def test_hours_of_failures_stay_at_the_cap() -> None:
    with pytest.raises(OverflowError):
        min(30.0, 0.25 * 2**1100)  # what the hand-written formula did
    assert doubled(1100, base=0.25, cap=30.0) == 30.0
    assert doubled(10_000, base=1.0, cap=60.0) == 60.0
