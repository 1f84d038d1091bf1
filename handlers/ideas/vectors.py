"""Open ideas' vectors in one matrix, for finding the closest in meaning with a product."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from handlers.ideas.similarity import Match

Matrix = npt.NDArray[np.float32]
# A vector as a model gives it, or as read back from the database.
Vector: TypeAlias = Sequence[float] | Matrix


def unit_vector(vector: Vector) -> Matrix:
    """The vector as float32 scaled to length 1 (a zero vector stays zero)."""
    array = np.asarray(vector, dtype=np.float32)
    length = float(np.linalg.norm(array))
    return array / length if length > 0 else array


class VectorIndex:
    """Ideas' unit vectors as rows of a matrix; a lookup is one matrix-vector product."""

    def __init__(self) -> None:
        self._matrix: Matrix = np.zeros((0, 0), dtype=np.float32)
        self._ids: list[int] = []
        self._rows: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, idea_id: object) -> bool:
        return idea_id in self._rows

    @property
    def memory_bytes(self) -> int:
        """The bytes the matrix takes (its spare rows included)."""
        return int(self._matrix.nbytes)

    def put(self, idea_id: int, vector: Vector) -> None:
        """Keep the idea's vector, replacing one kept before."""
        unit = unit_vector(vector)
        if self._matrix.shape[1] != unit.shape[0]:
            if self._ids:
                raise ValueError(
                    f"a vector of {unit.shape[0]} dimensions among ones of {self._matrix.shape[1]}"
                )
            self._matrix = np.zeros((16, unit.shape[0]), dtype=np.float32)
        row = self._rows.get(idea_id)
        if row is None:
            row = len(self._ids)
            if row == self._matrix.shape[0]:
                # Doubling keeps adding 100,000 ideas one by one linear overall.
                self._matrix = np.concatenate([self._matrix, np.zeros_like(self._matrix)])
            self._ids.append(idea_id)
            self._rows[idea_id] = row
        self._matrix[row] = unit

    def put_many(self, idea_ids: Sequence[int], matrix: Matrix) -> None:
        """Keep many ideas' vectors (rows of ``matrix``) at once, as a start reads them."""
        if not idea_ids:
            return
        lengths = np.linalg.norm(matrix, axis=1, keepdims=True)
        units = np.divide(matrix, lengths, out=np.zeros_like(matrix), where=lengths > 0)
        if not self._ids:
            self._matrix = np.array(units, dtype=np.float32)
            self._ids = list(idea_ids)
            self._rows = {idea_id: row for row, idea_id in enumerate(self._ids)}
            return
        for idea_id, unit in zip(idea_ids, units, strict=True):
            self.put(idea_id, unit)

    def remove(self, idea_id: int) -> None:
        """Forget the idea (nothing happens if it is not kept)."""
        row = self._rows.pop(idea_id, None)
        if row is None:
            return
        last = len(self._ids) - 1
        if row != last:
            # The last row moves into the gap, so the kept rows stay contiguous.
            moved = self._ids[last]
            self._matrix[row] = self._matrix[last]
            self._ids[row] = moved
            self._rows[moved] = row
        self._ids.pop()

    def search(self, vector: Vector, *, limit: int = 5, at_least: float = -1.0) -> list[Match]:
        """The ideas closest to ``vector`` by cosine, best first, scoring at least ``at_least``."""
        count = len(self._ids)
        if count == 0 or limit <= 0:
            return []
        query = unit_vector(vector)
        if query.shape[0] != self._matrix.shape[1]:
            return []
        scores = self._matrix[:count] @ query
        # A partial sort finds the best few among 100,000 without sorting them all.
        best = np.argpartition(-scores, limit - 1)[:limit] if limit < count else np.arange(count)
        ordered = sorted(best.tolist(), key=lambda row: (-float(scores[row]), self._ids[row]))
        return [
            Match(self._ids[row], float(scores[row]))
            for row in ordered
            if float(scores[row]) >= at_least
        ]
