"""Chunk vectors for exact dense search, read from the keyword index's segments (memory-mapped), with the
store asked only for rows whose segment does not hold their vector (indexes built before it did)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

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

    def scores(self, queries: np.ndarray) -> np.ndarray:
        """rows x queries: each live row's cosine with each (unit) query vector."""
        if not self.blocks:
            return np.zeros((0, len(queries)), dtype=np.float32)
        # the whole segment times the queries, then its live rows: indexing the matrix first would copy it
        return np.concatenate([(matrix @ queries.T)[live] for matrix, live in self.blocks])
