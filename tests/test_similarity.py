"""The similar-idea method on the labelled pairs: the figures docs/benchmarks.md reports."""

from __future__ import annotations

import pytest

from bench.similarity_eval import labelled_pairs, scores
from handlers.ideas.similarity import SimilarityIndex, features, similarity

THRESHOLD = 0.30


def test_the_labelled_set_is_large_enough_and_in_both_languages() -> None:
    pairs = labelled_pairs()
    assert len(pairs) >= 200
    assert {pair.languages for pair in pairs} == {"en", "nb", "en-nb"}
    assert sum(pair.same for pair in pairs) >= 100


def test_precision_and_recall_at_the_chosen_threshold() -> None:
    precision, recall = scores(THRESHOLD, labelled_pairs(), None)
    # The figures in docs/benchmarks.md; a change to the method must not make them worse.
    assert precision >= 0.97
    assert recall >= 0.73


def test_norwegian_and_english_meet_through_the_glossary() -> None:
    assert similarity("Mørk modus i appen", "A dark mode please") > 0.6
    assert similarity("Mørk modus i appen", "A dark mode please", glossary={}) < 0.5
    assert features("the and og i") == frozenset()


@pytest.mark.parametrize(
    ("query", "expected"),
    [("A dark mode for the app please", 1), ("Eksport til regneark", 2), ("Betal med kort", None)],
)
def test_the_index_finds_the_closest_idea_above_the_threshold(
    query: str, expected: int | None
) -> None:
    index = SimilarityIndex()
    index.add(1, "A dark mode for the app, the white screen hurts my eyes")
    index.add(2, "Export my data to a spreadsheet (CSV)")
    index.add(3, "Larger font size option")
    index.add(1, "added twice, ignored")
    found = index.search(query, limit=1, at_least=THRESHOLD)
    assert [match.idea_id for match in found] == ([expected] if expected else [])
    assert len(index) == 3
