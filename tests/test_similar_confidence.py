"""Issue 12: the customer is asked only when sure, by a threshold the team's decisions calibrate."""

from __future__ import annotations

import pytest

from handlers.ideas.confidence import (
    Calibration,
    Decision,
    OfferRule,
    calibrated_threshold,
    confident_offer,
)
from handlers.ideas.similarity import Match

RULE = OfferRule(threshold=0.8, margin=0.05, face_threshold=0.75)


@pytest.mark.parametrize(
    ("ranked", "offered"),
    [
        ([], None),
        ([Match(1, 0.9)], 1),  # alone above the threshold
        ([Match(1, 0.79)], None),  # below it
        ([Match(1, 0.9), Match(2, 0.8)], 1),  # a clear winner
        ([Match(1, 0.9), Match(2, 0.88)], None),  # one of two alike: staff decide
        ([Match(1, 0.76, through_face=True)], 1),  # a confirmed wording: its own threshold
        ([Match(1, 0.7, through_face=True)], None),  # below it
        ([Match(1, 0.9, through_face=True), Match(2, 0.88)], None),  # a rival: still unsure
    ],
)
def test_only_a_clear_best_above_the_threshold_is_offered(
    ranked: list[Match], offered: int | None
) -> None:
    found = confident_offer(ranked, RULE)
    assert (None if found is None else found.idea_id) == offered


def decisions(*pairs: tuple[float, bool]) -> list[Decision]:
    return [Decision(score, same) for score, same in pairs]


# Ten of each kind: "the same" from 0.90 up, "not the same" below 0.86 (one stray at 0.93).
MIXED = decisions(
    *[(0.90 + index / 100, True) for index in range(10)],
    *[(0.76 + index / 100, False) for index in range(9)],
    (0.93, False),
)


@pytest.mark.parametrize(
    ("given", "floor", "least", "expected"),
    [
        # Enough of both kinds: the lowest score above which nine in ten are "the same".
        (MIXED, 0.5, 20, Calibration(0.90, 20, 10, calibrated=True)),
        # Never below the floor.
        (MIXED, 0.95, 20, Calibration(0.95, 20, 10, calibrated=True)),
        # Too few decisions: the configured threshold stays.
        (MIXED[:15], 0.5, 20, Calibration(0.85, 15, 10, calibrated=False)),
        # Only one kind, however many: it stays too.
        (decisions(*[(0.5, True)] * 30), 0.5, 20, Calibration(0.85, 30, 30, calibrated=False)),
    ],
)
def test_the_threshold_moves_only_with_enough_evidence_and_not_below_the_floor(
    given: list[Decision], floor: float, least: int, expected: Calibration
) -> None:
    found = calibrated_threshold(given, configured=0.85, floor=floor, least=least)
    assert found.calibrated == expected.calibrated
    assert found.threshold == pytest.approx(expected.threshold)
    assert (found.decisions, found.same) == (expected.decisions, expected.same)


def test_when_no_score_is_precise_enough_nothing_is_offered_below_the_best_decision() -> None:
    wrong = decisions(*[(0.9, False)] * 15, *[(0.8, True)] * 5)
    found = calibrated_threshold(wrong, configured=0.85, floor=0.5, least=20)
    assert found.calibrated
    assert found.threshold > 0.9


def test_tied_scores_are_not_split_by_the_threshold() -> None:
    tied = decisions(*[(0.9, True)] * 9, (0.8, True), (0.8, False), *[(0.5, False)] * 9)
    found = calibrated_threshold(tied, configured=0.85, floor=0.0, least=20)
    # At 0.8: ten "same" of eleven (0.91); the tie at 0.8 counts as one step.
    assert found.threshold == pytest.approx(0.8)
