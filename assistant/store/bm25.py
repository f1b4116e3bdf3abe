"""BM25 over the keyword index's segments, scored at query time from each term's postings.

The scoring is bm25s's "lucene" variant (k1 1.5, b 0.75, idf log(1 + (N - df + 0.5) / (df + 0.5))), the
one this index used through bm25s before segments; `tests/test_keywords.py` checks the scores against
bm25s. bm25s precomputes a score matrix over the whole corpus, so every added chunk rebuilt it (3.96 s
per save at 11k chunks, 11.85 s at 33k); here only the query's terms' postings are read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from assistant.text import tokenize

if TYPE_CHECKING:
    from assistant.store.segments import Segment

K1 = 1.5
B = 0.75


class KeywordView:
    """BM25 over one snapshot of the rows (each segment with its live rows, in order)."""

    def __init__(
        self, parts: Sequence[tuple[Segment, np.ndarray]], vocab: Mapping[str, int], terms: int
    ) -> None:
        self.parts = list(parts)
        self.vocab = vocab
        self.rows = sum(len(live) for _, live in self.parts)
        lengths = [segment.length[live] for segment, live in self.parts]
        total = float(sum(x.sum() for x in lengths))
        self.average = total / self.rows if self.rows else 1.0
        self._terms = terms
        self._df: np.ndarray | None = None

    @property
    def df(self) -> np.ndarray:
        """Live rows holding each term id (removed rows not counted)."""
        if self._df is None:
            df = np.zeros(self._terms, dtype=np.int64)
            for segment, live in self.parts:
                df += segment.document_frequency(self._terms)
                if len(live) < len(segment):  # take the removed rows' terms out again
                    gone = np.setdiff1d(np.arange(len(segment)), live)
                    for row in gone:
                        terms = np.unique(segment.terms(int(row)))
                        df[terms[terms < self._terms]] -= 1
            self._df = df
        return self._df

    def idf(self) -> np.ndarray:
        """Each term id's idf over the live rows (0 for a term none holds)."""
        df = self.df
        return np.where(df > 0, np.log(1 + (self.rows - df + 0.5) / (df + 0.5)), 0.0)

    def scores(self, query: str | Sequence[str]) -> np.ndarray:
        """BM25 score of every row for a query (text, or tokens already made by `tokenize`); a term the
        query repeats counts as often, as in bm25s."""
        if not self.rows:
            return np.zeros(0, dtype=np.float32)
        tokens = tokenize(query) if isinstance(query, str) else list(query)
        ids = [self.vocab[t] for t in tokens if t in self.vocab and self.vocab[t] < self._terms]
        ids = [t for t in ids if self.df[t] > 0]
        out = []
        for segment, live in self.parts:
            local = np.zeros(len(segment), dtype=np.float64)
            for term in ids:
                rows, tf = segment.postings(term)
                if not len(rows):
                    continue
                idf = np.log(1 + (self.rows - self.df[term] + 0.5) / (self.df[term] + 0.5))
                norm = K1 * ((1 - B) + B * segment.length[rows] / self.average)
                local += np.bincount(rows, weights=idf * tf / (norm + tf), minlength=len(segment))
            out.append(local[live])
        return np.concatenate(out).astype(np.float32) if out else np.zeros(0, dtype=np.float32)

    def knows(self, token: str) -> bool:
        """Whether any live chunk contains this (stemmed) token."""
        term = self.vocab.get(token)
        return term is not None and term < self._terms and bool(self.df[term] > 0)
