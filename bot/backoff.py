"""Exponential backoff: how long to wait before the next try, doubling up to a cap."""

from __future__ import annotations


def doubled(step: int, *, base: float, cap: float) -> float:
    """``base`` doubled ``step`` times, at most ``cap``."""
    try:
        grown = base * 2.0**step
    except OverflowError:
        # A service away for hours counts past 1023 failures; the wait stays at its cap.
        return cap
    return min(cap, grown)
