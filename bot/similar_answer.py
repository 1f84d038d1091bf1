"""What the bot would offer a customer for an idea, and the candidates staff would see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.flows.engine import summary_lookup_text
from storage.dialogue.ideas import offered_idea
from storage.similar_candidates import staff_candidates
from storage.similar_ideas import SimilarIdeas


@dataclass(frozen=True, slots=True)
class Candidate:
    """An open idea and how alike it scored."""

    idea_id: int
    title: str
    score: float

    def to_json(self) -> dict[str, Any]:
        """As ``ideas similar --stdin`` writes it."""
        return {"id": self.idea_id, "score": round(self.score, 4)}


@dataclass(frozen=True, slots=True)
class SimilarAnswer:
    """For one customer's text: the idea they would be asked about, and staff's candidates."""

    text: str
    offer: Candidate | None
    candidates: tuple[Candidate, ...]
    # The method that found the candidates: the model's name, or lexical.
    method: str

    def to_json(self) -> dict[str, Any]:
        """One line of ``ideas similar --stdin``."""
        return {
            "text": self.text,
            "offer": None if self.offer is None else self.offer.to_json(),
            "candidates": [candidate.to_json() for candidate in self.candidates],
        }


class SimilarAnswers:
    """Answers for many texts from one session and the similar ideas ``ideabot run`` uses.

    The offer goes through the dialogue's own lookup (``offered_idea``) with the same text a
    flow would record, so it is exactly the question the bot would ask; the candidates are
    the same search's best, by the same configured method, without its threshold.
    """

    def __init__(
        self, session: AsyncSession, similar: SimilarIdeas, *, threshold: float, limit: int = 5
    ) -> None:
        self._session = session
        self._similar = similar
        self._threshold = threshold
        self._limit = limit

    async def answer(self, text: str) -> SimilarAnswer:
        """What a customer who wrote ``text`` would be asked, and what staff would see."""
        lookup = summary_lookup_text(text)
        offer = None
        # A threshold of 0 turns the question off in the dialogue too.
        if self._threshold > 0:
            offered = await offered_idea(
                self._session, self._similar, text=lookup, at_least=self._threshold
            )
            if offered is not None:
                offer = Candidate(offered.idea_id, offered.title, offered.score)
        found, method = await staff_candidates(
            self._session, self._similar, text=lookup, limit=self._limit
        )
        candidates = tuple(
            Candidate(scored.candidate.idea_id, scored.candidate.title, scored.score)
            for scored in found
        )
        return SimilarAnswer(text=text, offer=offer, candidates=candidates, method=method)
