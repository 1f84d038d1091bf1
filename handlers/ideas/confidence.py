"""When the customer is asked "is yours the same as …?": only when the match is sure.

Two pure rules. ``confident_offer`` picks the idea to ask about from a lookup's ranking: the
best one, if it clears the threshold (the face threshold, when it was matched through a
wording the team confirmed) by a clear margin over the next idea. ``calibrated_threshold``
derives this installation's threshold from the team's labelled decisions, moved only with
enough evidence and never below a floor, so a few clicks cannot ruin it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from handlers.ideas.similarity import Match

# The share of stored decisions above the threshold that must be "the same".
WANTED_PRECISION = 0.9


@dataclass(frozen=True, slots=True)
class OfferRule:
    """What a lookup's best idea must show before the customer is asked about it."""

    threshold: float
    # How far the best idea must score above the second best (0: no margin asked).
    margin: float
    # The threshold of a match through a wording the team confirmed for that very idea.
    face_threshold: float


@dataclass(frozen=True, slots=True)
class OfferSettings:
    """The configured method's margin, and how the stored decisions may move its threshold."""

    margin: float = 0.0
    face_threshold: float = 1.0
    # A calibrated threshold is never lower than this.
    floor: float = 0.0
    # Decisions needed (of both kinds) before the threshold moves at all.
    least: int = 20


@dataclass(frozen=True, slots=True)
class Decision:
    """One labelled pair: how alike it scored, and whether the team said it is the same."""

    score: float
    same: bool


@dataclass(frozen=True, slots=True)
class Calibration:
    """The threshold in use and the evidence it rests on."""

    threshold: float
    decisions: int
    same: int
    # False: too few decisions (or only one kind) to move the configured threshold.
    calibrated: bool


def confident_offer(ranked: Sequence[Match], rule: OfferRule) -> Match | None:
    """The idea to ask the customer about, from a ranking best first, or None when unsure."""
    if not ranked:
        return None
    best = ranked[0]
    if best.score < (rule.face_threshold if best.through_face else rule.threshold):
        return None
    runner_up = next((match.score for match in ranked[1:] if match.idea_id != best.idea_id), None)
    if runner_up is not None and best.score - runner_up < rule.margin:
        return None
    return best


def calibrated_threshold(
    decisions: Sequence[Decision], *, configured: float, floor: float, least: int
) -> Calibration:
    """The lowest score above which the decisions show the wanted precision, within bounds.

    With fewer than ``least`` decisions, or without both kinds, the configured threshold
    stays; a calibrated one is never below ``floor``.
    """
    same = sum(decision.same for decision in decisions)
    if len(decisions) < least or same == 0 or same == len(decisions):
        return Calibration(configured, len(decisions), same, calibrated=False)
    ordered = sorted(decisions, key=lambda decision: -decision.score)
    lowest: float | None = None
    same_above = 0
    for above, decision in enumerate(ordered, start=1):
        same_above += decision.same
        # Ties move together: a threshold cannot split decisions that scored the same.
        tied = above < len(ordered) and ordered[above].score == decision.score
        if not tied and same_above >= WANTED_PRECISION * above:
            lowest = decision.score
    if lowest is None:
        # Not even the best-scored decisions are precise enough: ask as rarely as allowed.
        lowest = max(configured, ordered[0].score + 1e-6)
    return Calibration(max(floor, lowest), len(decisions), same, calibrated=True)
