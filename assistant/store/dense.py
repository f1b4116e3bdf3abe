"""Chunk vectors for exact dense search, read from the keyword index's segments (memory-mapped), with the
store asked only for rows whose segment does not hold their vector (indexes built before it did)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from assistant.store.segments import by_part

if TYPE_CHECKING:
    from assistant.store.segments import Segment

Fetch = Callable[[Sequence[str]], Iterable[tuple[str, object]]]


class DenseMatrix:
    """Every live row's chunk vector, in the keyword index's row order, scored segment by segment."""

    def __init__(
        self,
        parts: Sequence[tuple[Segment, np.ndarray]],
        dim: int,
        fetch: Fetch,
        fetched: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        self.dim = dim
        self._parts = list(parts)
        self.first = np.r_[0, np.cumsum([len(live) for _, live in parts])].astype(np.int64)
        self.fetched: dict[str, np.ndarray] = {}  # vectors read from the store, by chunk id (kept for reuse)
        self.blocks: list[tuple[np.ndarray, np.ndarray]] = []  # (matrix, live rows) per part
        missing: list[tuple[int, int, str]] = []  # (part, row in its matrix, chunk id)
        for p, (segment, live) in enumerate(parts):
            a = segment.a
            if a["vec"].shape[1] == dim and bool(a["vec_has"][live].all()):
                self.blocks.append((a["vec"], live))  # the map itself: no copy
                continue
            own = np.zeros((len(live), dim), dtype=np.float32)  # the rows lacking one are filled below
            for k, row in enumerate(live):
                if a["vec"].shape[1] == dim and a["vec_has"][row]:
                    own[k] = a["vec"][row]
                else:
                    missing.append((p, k, segment.rows[row].id))
            self.blocks.append((own, np.arange(len(live))))
        known = fetched or {}
        wanted = [cid for _, _, cid in missing if cid not in known]
        read = {cid: np.asarray(v, dtype=np.float32) for cid, v in fetch(wanted)} if wanted else {}
        for p, k, cid in missing:
            vector = known.get(cid)
            vector = read.get(cid) if vector is None else vector
            if vector is not None:
                self.blocks[p][0][k] = vector
                self.fetched[cid] = vector

    def __len__(self) -> int:
        return sum(len(live) for _, live in self.blocks)

    def rows_of(self, ids: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """Row numbers of chunk ids (ids not in this snapshot left out), per list: each segment's sorted ids
        are searched, so no id -> row map of every chunk is held."""
        out = []
        for group in ids:
            found: list[np.ndarray] = []
            for p, (segment, live) in enumerate(self._parts):
                local = segment.rows.find(list(group))
                at = np.searchsorted(live, local)  # the live rows are sorted: a row's place among them
                hit = (local >= 0) & (at < len(live))
                hit[hit] = live[at[hit]] == local[hit]
                found.append(self.first[p] + at[hit])
            rows = np.concatenate(found) if found else np.zeros(0, np.int64)
            out.append(rows.astype(np.int64))
        return out

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        """The chunk vectors of these rows."""
        out = np.zeros((len(rows), self.dim), dtype=np.float32)
        for p, mine, local in by_part(self.first, [live for _, live in self.blocks], rows):
            out[mine] = self.blocks[p][0][local]
        return out

    def approximate(self, queries: np.ndarray, candidates: Sequence[np.ndarray]) -> np.ndarray:
        """rows x queries: the exact cosine for each query's candidate rows; every other row gets the
        lowest candidate score, so it ranks below them without scoring every vector."""
        out = np.zeros((len(self), len(queries)), dtype=np.float32)
        for j, rows in enumerate(candidates):
            rows = np.unique(rows)
            if not len(rows):
                continue
            scores = self.vectors_of(rows) @ queries[j]
            out[:, j] = scores.min()
            out[rows, j] = scores
        return out

    def scores(self, queries: np.ndarray) -> np.ndarray:
        """rows x queries: each live row's cosine with each (unit) query vector."""
        if not self.blocks:
            return np.zeros((0, len(queries)), dtype=np.float32)
        # the whole segment times the queries, then its live rows: indexing the matrix first would copy it
        return np.concatenate([(matrix @ queries.T)[live] for matrix, live in self.blocks])
