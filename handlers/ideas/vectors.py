"""Open ideas' vectors, for finding the closest in meaning: an 8-bit pass, then exact cosines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numkong
import numpy as np
import numpy.typing as npt

from handlers.ideas.similarity import Match

Matrix = npt.NDArray[np.float32]
Codes = npt.NDArray[np.int8]
# A vector as a model gives it, or as read back from the database.
Vector: TypeAlias = Sequence[float] | Matrix
# The 8-bit pass keeps this many (at least) for the exact cosine: on the TUNE part a shortlist
# of 64 ranks as the float32 product does (docs/benchmarks.md).
SHORTLIST = 64
_LEVELS = 127.0


def unit_vector(vector: Vector) -> Matrix:
    """The vector as float32 scaled to length 1 (a zero vector stays zero)."""
    array = np.asarray(vector, dtype=np.float32)
    length = float(np.linalg.norm(array))
    return array / length if length > 0 else array


def _quantized(units: Matrix) -> tuple[Codes, Matrix]:
    """Rows as 8-bit codes, each row scaled by its own largest value, and those scales."""
    largest = np.maximum(units.max(axis=-1, keepdims=True), -units.min(axis=-1, keepdims=True))
    scales = (largest / _LEVELS).astype(np.float32)
    # Each row's largest value becomes ±127 exactly, so no code falls outside the 8 bits.
    codes = np.divide(units, scales, out=np.zeros_like(units), where=scales > 0)
    return np.rint(codes, out=codes).astype(np.int8), scales[..., 0]


class VectorIndex:
    """Ideas' unit vectors as rows, with an 8-bit copy that a lookup scans first.

    The float32 rows give the cosines returned (the thresholds were measured on them); the
    8-bit rows, a quarter of the bytes, are what a lookup reads in full, with SIMD integer
    dot products (numkong), and only a shortlist of the best is scored exactly.
    """

    def __init__(self) -> None:
        self._matrix: Matrix = np.zeros((0, 0), dtype=np.float32)
        self._codes: Codes = np.zeros((0, 0), dtype=np.int8)
        self._scales: Matrix = np.zeros(0, dtype=np.float32)
        self._ids: list[int] = []
        self._rows: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, idea_id: object) -> bool:
        return idea_id in self._rows

    @property
    def dimensions(self) -> int | None:
        """The size of the vectors kept, or None while none is."""
        return self._matrix.shape[1] if self._ids else None

    @property
    def memory_bytes(self) -> int:
        """The bytes the rows take, float32 and 8-bit (their spare rows included)."""
        return int(self._matrix.nbytes + self._codes.nbytes + self._scales.nbytes)

    def _grow(self, rows: int, dimensions: int) -> None:
        """Room for ``rows`` rows, keeping those kept."""
        kept = len(self._ids)
        matrix = np.zeros((rows, dimensions), dtype=np.float32)
        codes = np.zeros((rows, dimensions), dtype=np.int8)
        scales = np.zeros(rows, dtype=np.float32)
        if kept:
            matrix[:kept] = self._matrix[:kept]
            codes[:kept] = self._codes[:kept]
            scales[:kept] = self._scales[:kept]
        self._matrix, self._codes, self._scales = matrix, codes, scales

    def put(self, idea_id: int, vector: Vector) -> None:
        """Keep the idea's vector, replacing one kept before."""
        unit = unit_vector(vector)
        if self._matrix.shape[1] != unit.shape[0]:
            if self._ids:
                raise ValueError(
                    f"a vector of {unit.shape[0]} dimensions among ones of {self._matrix.shape[1]}"
                )
            self._grow(16, unit.shape[0])
        row = self._rows.get(idea_id)
        if row is None:
            row = len(self._ids)
            if row == self._matrix.shape[0]:
                # Doubling keeps adding 100,000 ideas one by one linear overall.
                self._grow(2 * row, unit.shape[0])
            self._ids.append(idea_id)
            self._rows[idea_id] = row
        self._matrix[row] = unit
        codes, scales = _quantized(unit[np.newaxis, :])
        self._codes[row] = codes[0]
        self._scales[row] = scales[0]

    def put_many(self, idea_ids: Sequence[int], matrix: Matrix) -> None:
        """Keep many ideas' vectors (rows of ``matrix``) at once, as a start reads them."""
        if not idea_ids:
            return
        lengths = np.linalg.norm(matrix, axis=1, keepdims=True)
        units = np.divide(matrix, lengths, out=np.zeros_like(matrix), where=lengths > 0)
        if not self._ids:
            self._matrix = units.astype(np.float32, copy=False)
            self._codes, self._scales = _quantized(self._matrix)
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
            self._codes[row] = self._codes[last]
            self._scales[row] = self._scales[last]
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
        rows = self._shortlist(query, max(SHORTLIST, limit), count)
        scores = self._matrix[rows] @ query
        ordered = sorted(range(len(rows)), key=lambda at: (-float(scores[at]), self._ids[rows[at]]))
        return [
            Match(self._ids[rows[at]], float(scores[at]))
            for at in ordered[:limit]
            if float(scores[at]) >= at_least
        ]

    def _shortlist(self, query: Matrix, size: int, count: int) -> npt.NDArray[np.intp]:
        """The rows whose 8-bit cosine is among the ``size`` best (all rows, if no more)."""
        if count <= size:
            return np.arange(count)
        codes, _ = _quantized(query[np.newaxis, :])
        dots = np.empty((1, count), dtype=np.float32)
        numkong.cdist(codes, self._codes[:count], metric="inner", out=dots)
        approximate = dots[0] * self._scales[:count]
        # A partial sort finds the best few among 100,000 without sorting them all.
        return np.argpartition(-approximate, size - 1)[:size]
