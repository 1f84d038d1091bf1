"""Staff's candidates: the open ideas most like a text, with their titles and followers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.staff.room import CardCandidate
from storage.similar_ideas import OPEN_STATUSES, SimilarIdeas
from storage.tables import IdeaFollowerRow, IdeaRow, table_of

_IDEA = table_of(IdeaRow)
_FOLLOWER = table_of(IdeaFollowerRow)


@dataclass(frozen=True, slots=True)
class ScoredCandidate:
    """One of staff's candidates, as the card shows it, and how alike it scored."""

    candidate: CardCandidate
    score: float


async def staff_candidates(
    session: AsyncSession,
    similar: SimilarIdeas,
    *,
    text: str,
    limit: int = 5,
    excluding: int | None = None,
) -> tuple[list[ScoredCandidate], str]:
    """The open ideas staff see as possibly the same as ``text``, and the method that found them.

    The same search as the customer's question, by the same configured method, ranked without
    its threshold; ``excluding`` (the idea itself) is never among them.
    """
    found = await similar.lookup(session, text, at_least=None, limit=limit + 1)
    scores = {match.idea_id: match.score for match in found.matches if match.idea_id != excluding}
    if not scores:
        return [], found.method
    # The index may still hold ideas merged or decided since; only open ones are shown.
    rows = await session.execute(
        select(_IDEA.c.id, _IDEA.c.title, func.count(_FOLLOWER.c.customer_id).label("followers"))
        .outerjoin(_FOLLOWER, _FOLLOWER.c.idea_id == _IDEA.c.id)
        .where(_IDEA.c.id.in_(list(scores)))
        .where(_IDEA.c.status.in_(OPEN_STATUSES))
        .group_by(_IDEA.c.id, _IDEA.c.title)
    )
    shown = {row.id: CardCandidate(row.id, row.title, row.followers) for row in rows}
    ranked = [
        ScoredCandidate(shown[idea_id], score)
        for idea_id, score in scores.items()
        if idea_id in shown
    ]
    return ranked[:limit], found.method
