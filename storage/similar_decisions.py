"""The team's and customers' decisions on similar ideas: stored, scored, and calibrated from.

Each decision is kept with how the pair scored by the method in use at the time; after each
one the method's threshold is worked out again from all of that method's decisions
(``calibrated_threshold``) and stored in ``similar_calibration``, so every process offers
by the same value. Both happen in the deciding use case's own transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.ideas.confidence import Calibration, Decision, OfferRule, calibrated_threshold
from handlers.ideas.similarity import similarity
from handlers.ideas.vectors import Matrix, unit_vector
from storage.similar_ideas import LEXICAL, SimilarIdeas, idea_text
from storage.tables import (
    IdeaRow,
    IdeaVectorRow,
    SimilarCalibrationRow,
    SimilarDecisionRow,
    table_of,
)
from storage.types import utc_now
from storage.upsert import insert_if_absent

logger = logging.getLogger(__name__)

_IDEA = table_of(IdeaRow)
_VECTOR = table_of(IdeaVectorRow)
_DECISION = table_of(SimilarDecisionRow)
_CALIBRATION = table_of(SimilarCalibrationRow)


class DecisionSource:
    """Who decided, as ``similar_decision.source`` names it."""

    MERGE = "merge"
    UNMERGE = "unmerge"
    CUSTOMER_YES = "customer_yes"
    CUSTOMER_NO = "customer_no"


@dataclass(frozen=True, slots=True)
class PairScore:
    """How alike a wording and an idea scored, and by which method."""

    method: str
    score: float


async def pair_score(
    session: AsyncSession,
    similar: SimilarIdeas,
    *,
    text: str,
    idea_id: int,
    text_idea_id: int | None = None,
) -> PairScore:
    """How alike ``text`` and the idea are by the configured method, from vectors already had.

    The model is never asked here: this runs inside the deciding use case's transaction (a
    staff click, a customer's answer), which must not wait on it. ``text_idea_id`` is the idea
    ``text`` is the words of (a merged duplicate), whose stored vector stands for it. Without
    both vectors the pair is scored lexically.
    """
    row = (
        await session.execute(
            select(_IDEA.c.title, _IDEA.c.description).where(_IDEA.c.id == idea_id)
        )
    ).first()
    own = "" if row is None else idea_text(row.title, row.description)
    if similar.semantic is not None:
        cosine = await _stored_cosine(session, similar, text, idea_id, text_idea_id)
        if cosine is not None:
            return PairScore(similar.method, cosine)
        logger.info("similar decision on idea %s: no vectors stored; scored lexically", idea_id)
    return PairScore(LEXICAL, similarity(text, own))


async def _stored_vector(
    session: AsyncSession, similar: SimilarIdeas, idea_id: int
) -> Matrix | None:
    assert similar.semantic is not None
    embedder = similar.semantic.embedder
    stored = await session.scalar(
        select(_VECTOR.c.vector)
        .where(_VECTOR.c.idea_id == idea_id)
        .where(_VECTOR.c.model == embedder.name)
        .where(_VECTOR.c.version == embedder.version)
    )
    return None if stored is None else unit_vector(np.frombuffer(stored, dtype="<f4"))


async def _stored_cosine(
    session: AsyncSession,
    similar: SimilarIdeas,
    text: str,
    idea_id: int,
    text_idea_id: int | None,
) -> float | None:
    idea_vector = await _stored_vector(session, similar, idea_id)
    if idea_vector is None:
        return None
    held = similar.held_vector(text)
    text_vector: Matrix | None = None
    if held is not None:
        text_vector = unit_vector(held)
    elif text_idea_id is not None:
        text_vector = await _stored_vector(session, similar, text_idea_id)
    if text_vector is None or text_vector.shape != idea_vector.shape:
        return None
    return float(text_vector @ idea_vector)


async def record_decision(
    session: AsyncSession,
    similar: SimilarIdeas,
    *,
    idea_id: int,
    text: str,
    same: bool,
    source: str,
    customer_id: int | None,
    conversation_id: int | None,
    text_idea_id: int | None = None,
) -> None:
    """Keep one labelled pair with its score now, and recalibrate that method's threshold."""
    scored = await pair_score(
        session, similar, text=text, idea_id=idea_id, text_idea_id=text_idea_id
    )
    await session.execute(
        _DECISION.insert().values(
            idea_id=idea_id,
            text=text,
            same=same,
            source=source,
            customer_id=customer_id,
            conversation_id=conversation_id,
            method=scored.method[:128],
            score=scored.score,
            vector_model="",
            vector=None,
            created_at=utc_now(),
        )
    )
    await recalibrate(session, similar, method=scored.method[:128])
    logger.info(
        "similar decision: %s on idea %s (%s %.3f, same=%s)",
        source,
        idea_id,
        scored.method,
        scored.score,
        same,
    )


async def recalibrate(session: AsyncSession, similar: SimilarIdeas, *, method: str) -> Calibration:
    """Work the method's threshold out again from all its decisions, and store it."""
    rows = await session.execute(
        select(_DECISION.c.score, _DECISION.c.same).where(_DECISION.c.method == method)
    )
    offers = similar.offers
    calibration = calibrated_threshold(
        [Decision(row.score, bool(row.same)) for row in rows],
        configured=offers.floor,
        floor=offers.floor,
        least=offers.least,
    )
    values = {
        "threshold": calibration.threshold,
        "decisions": calibration.decisions,
        "same": calibration.same,
        "calibrated": calibration.calibrated,
        "updated_at": utc_now(),
    }
    inserted = await insert_if_absent(
        session,
        SimilarCalibrationRow,
        conflict=["method"],
        values={"method": method, **values},
        returning="method",
    )
    if inserted is None:
        await session.execute(
            update(_CALIBRATION).where(_CALIBRATION.c.method == method).values(**values)
        )
    return calibration


async def stored_calibration(session: AsyncSession, *, method: str) -> Calibration | None:
    """The method's stored calibration, or None before its first decision."""
    row = (
        await session.execute(select(_CALIBRATION).where(_CALIBRATION.c.method == method))
    ).first()
    if row is None:
        return None
    return Calibration(row.threshold, row.decisions, row.same, calibrated=bool(row.calibrated))


async def offer_rule(
    session: AsyncSession, similar: SimilarIdeas, *, method: str, configured: float
) -> OfferRule:
    """The rule an offer by ``method`` must pass: the calibrated threshold once there is one."""
    calibration = await stored_calibration(session, method=method)
    threshold = configured
    if calibration is not None and calibration.calibrated:
        threshold = calibration.threshold
    return OfferRule(
        threshold=threshold,
        margin=similar.offers.margin,
        face_threshold=similar.offers.face_threshold,
    )
