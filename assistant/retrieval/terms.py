"""Sentence-level terms for the ranker: each chunk's sentences as sets of stemmed term ids (and adjacent
pairs), encoded once, matched against a question's texts with numpy."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.store.bm25 import KeywordView
from assistant.store.segments import PAIR_WIDTH

Encoded = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class SentenceTerms:
    """Stemmed terms of each chunk's sentences as id arrays, with corpus idf: read from the keyword index's
    segments, where they were encoded once when the segment was written (store/segments.py)."""

    def __init__(self, view: KeywordView) -> None:
        self._parts = view.parts
        self._first = np.r_[0, np.cumsum([len(live) for _, live in view.parts])].astype(np.int64)
        self._ids = view.vocab
        self.idf = np.r_[0.0, view.idf()]  # by encoded id: term id + 1 (0: no term)
        self._known = view.knows

    @classmethod
    def of_texts(cls, texts: Sequence[str]) -> SentenceTerms:
        """Terms of untitled texts, one row each (tests)."""
        from assistant.store.keywords import KeywordIndex

        index = KeywordIndex(Path("/nonexistent"))
        index.add((str(i), text, {}) for i, text in enumerate(texts))
        return cls(index.view())

    def _code(self, word: str) -> int:
        """A word's encoded id (0 when no live chunk holds it)."""
        return self._ids[word] + 1 if self._known(word) else 0

    def _pairs(self, words: Sequence[str]) -> np.ndarray:
        """Codes of adjacent term pairs (pairs with a term no chunk holds left out: none can match)."""
        ids = [self._code(w) for w in words]
        return np.array(
            sorted({a * PAIR_WIDTH + b for a, b in itertools.pairwise(ids) if a and b}), dtype=np.int64
        )

    def sentences(self, row: int) -> Encoded:
        """A row's sentences: (term ids, terms per sentence, pair codes, pairs per sentence)."""
        p = int(np.searchsorted(self._first, row, side="right")) - 1
        segment, live = self._parts[p]
        a = segment.a
        local = int(live[row - self._first[p]])
        first, end = int(a["enc_at"][local]), int(a["enc_at"][local + 1])
        term_at, pair_at = a["enc_term_at"], a["enc_pair_at"]
        return (
            np.asarray(a["enc_terms"][term_at[first] : term_at[end]]),
            np.diff(term_at[first : end + 1]),
            np.asarray(a["enc_pairs"][pair_at[first] : pair_at[end]]),
            np.diff(pair_at[first : end + 1]),
        )

    def match(self, rows: Sequence[int], queries: Sequence[Sequence[str]]) -> np.ndarray:
        """rows x queries x 3: the best sentence's idf share of the query's terms, the two best shares
        summed, and the best sentence's share of the query's adjacent term pairs."""
        parts = [self.sentences(r) for r in rows]
        ids = np.concatenate([p[0] for p in parts])
        per_sentence = np.concatenate([p[1] for p in parts])
        pair_codes = np.concatenate([p[2] for p in parts])
        pairs_per = np.concatenate([p[3] for p in parts])
        counts = np.array([len(p[1]) for p in parts])
        owner = np.repeat(np.arange(len(rows)), counts)  # row position of each sentence
        starts = np.r_[0, np.cumsum(per_sentence)[:-1]]
        pair_starts = np.r_[0, np.cumsum(pairs_per)[:-1]]
        row_starts = np.r_[0, np.cumsum(counts)[:-1]]
        # in the query's own order: a set's order changes with the process's string hash seed, and so
        # would the float sum below, flipping near-ties between runs of the same question
        known = [[c for c in (self._code(w) for w in dict.fromkeys(query)) if c] for query in queries]
        asked = np.unique(np.array([c for k in known for c in k], dtype=np.int64))
        weight = np.zeros((len(asked) + 1, len(queries)))  # idf of each query's terms (row 0: none)
        total = np.ones(len(queries))
        for j, codes in enumerate(known):
            weight[np.searchsorted(asked, codes) + 1, j] = self.idf[codes]
            total[j] = self.idf[codes].sum() or 1.0
        slot = np.zeros(len(ids), dtype=np.int64)  # each term's row in `weight`
        if len(asked):
            at = np.minimum(np.searchsorted(asked, ids), len(asked) - 1)
            slot = np.where(asked[at] == ids, at + 1, 0)
        shares = np.add.reduceat(weight[slot], starts, axis=0) / total
        best = np.maximum.reduceat(shares, row_starts, axis=0)  # rows x queries
        top = shares == best[owner]
        ties = np.add.reduceat(top.astype(np.int64), row_starts, axis=0)
        rest = np.maximum.reduceat(np.where(top, -1.0, shares), row_starts, axis=0)
        second = np.where(ties > 1, best, np.maximum(rest, 0.0))
        paired = np.zeros((len(rows), len(queries)))
        for j, query in enumerate(queries):
            wanted = self._pairs(query)
            if len(wanted):
                hits = np.add.reduceat(np.isin(pair_codes, wanted).astype(float), pair_starts) / len(wanted)
                paired[:, j] = np.maximum.reduceat(hits, row_starts)
        return np.stack([best, best + second, paired], axis=2)
