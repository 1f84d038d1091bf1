"""The open ideas' vector matrix: kept, replaced, forgotten, and searched best first."""

from __future__ import annotations

import numpy as np
import pytest

from handlers.ideas.vectors import VectorIndex


def test_the_closest_ideas_come_first_and_a_threshold_cuts() -> None:
    index = VectorIndex()
    index.put(1, [1.0, 0.0, 0.0])
    index.put(2, [1.0, 1.0, 0.0])
    index.put(3, [0.0, 0.0, 5.0])
    found = index.search([2.0, 0.1, 0.0], limit=2)
    assert [match.idea_id for match in found] == [1, 2]
    assert found[0].score == pytest.approx(0.9988, abs=1e-3)
    assert [m.idea_id for m in index.search([0.0, 0.0, 1.0], at_least=0.5)] == [3]


def test_a_forgotten_idea_is_not_found_and_the_others_still_are() -> None:
    index = VectorIndex()
    for idea_id in range(1, 40):  # past the first doubling of the matrix
        index.put(idea_id, [float(idea_id), 1.0])
    index.remove(5)
    index.remove(5)
    index.put(7, [0.0, 1.0])  # replaced, not added
    assert len(index) == 38
    assert 5 not in index
    assert index.search([0.0, 1.0], limit=1)[0].idea_id == 7
    assert index.search([39.0, 1.0], limit=1)[0].idea_id == 39


def test_many_read_at_once_are_searched_like_those_put_one_by_one() -> None:
    rows = np.random.default_rng(3).standard_normal((50, 8)).astype(np.float32)
    at_once, one_by_one = VectorIndex(), VectorIndex()
    at_once.put_many(list(range(100, 150)), rows)
    for number, row in enumerate(rows):
        one_by_one.put(100 + number, row)
    query = rows[17] + 0.01
    found, expected = at_once.search(query), one_by_one.search(query)
    assert [m.idea_id for m in found] == [m.idea_id for m in expected]
    assert [m.score for m in found] == pytest.approx([m.score for m in expected], abs=1e-6)
    assert at_once.search(query)[0].idea_id == 117


def test_a_vector_of_other_dimensions_is_refused() -> None:
    index = VectorIndex()
    index.put(1, [1.0, 0.0])
    with pytest.raises(ValueError, match="3 dimensions among ones of 2"):
        index.put(2, [1.0, 0.0, 0.0])
    assert index.search([1.0, 0.0, 0.0]) == []


def test_the_eight_bit_pass_ranks_and_scores_as_the_float_product_does() -> None:
    rows = np.random.default_rng(5).standard_normal((5_000, 384)).astype(np.float32)
    index = VectorIndex()
    index.put_many(list(range(1, 5_001)), rows)
    units = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    for number in range(20):
        # A reworded idea: close to one row, plus the noise of other words.
        query = rows[number * 97] + np.random.default_rng(number).standard_normal(384) * 1.5
        exact = units @ (query / np.linalg.norm(query))
        best = np.argsort(-exact, kind="stable")[:5]
        found = index.search(query, limit=5)
        assert [match.idea_id for match in found] == [int(row) + 1 for row in best]
        assert [match.score for match in found] == pytest.approx(exact[best].tolist(), abs=1e-5)
