"""Sentence-level terms for the ranker: each chunk's sentences as sets of stemmed term ids (and adjacent
pairs), encoded once, matched against a question's texts with numpy."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from assistant.text import sentence_starts, tokenize_pieces

Encoded = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class SentenceTerms:
    """Stemmed terms of each chunk's sentences as id arrays, with corpus idf. Rows whose per-sentence
    token counts the keyword index stored at ingest are encoded at once, up front (~0.3 s per 10k
    chunks); others from their text on first use."""

    def __init__(
        self,
        tokens: Sequence[Sequence[str]],
        text: Callable[[int], str],
        counts: Callable[[int], Sequence[int] | None] = lambda row: None,
    ) -> None:
        df: Counter[str] = Counter()
        for words in tokens:
            df.update(set(words))
        n = len(tokens)
        # sorted: ids (and so the order sums run in) must not follow set order, which the hash seed changes
        self.vocab = {w: i for i, w in enumerate(sorted(df), start=1)}  # 0: no term (an empty sentence)
        self.idf = np.zeros(len(self.vocab) + 1)
        for w, k in df.items():
            self.idf[self.vocab[w]] = math.log(1 + (n - k + 0.5) / (k + 0.5))
        self._text = text
        self._rows: dict[int, Encoded] = {}
        sentences: list[Sequence[str]] = []
        spans: dict[int, tuple[int, int]] = {}
        for row in range(n):
            sizes = counts(row)
            if sizes:
                ends = list(itertools.accumulate(sizes))
                first = len(sentences)
                sentences += [tokens[row][a:b] for a, b in itertools.pairwise(ends)] or [[]]
                spans[row] = (first, len(sentences))
        self._all = self._encode(sentences)
        self._spans = spans
        self._term_at = np.r_[0, np.cumsum(self._all[1])]
        self._pair_at = np.r_[0, np.cumsum(self._all[3])]

    def _encode(self, words: Sequence[Sequence[str]]) -> Encoded:
        """(term ids, terms per sentence, pair codes, pairs per sentence) of these sentences; each
        sentence holds at least one entry (term 0, pair 0: no term)."""
        width = len(self.vocab) + 1
        count = len(words)
        sentence = np.repeat(np.arange(count), [len(ws) for ws in words])
        ids = np.fromiter((self.vocab.get(w, 0) for ws in words for w in ws), np.int64, len(sentence))
        key = np.unique(np.r_[sentence * width + ids, np.arange(count) * width])
        same = sentence[:-1] == sentence[1:]
        span = width * width
        pair = ids[:-1][same] * width + ids[1:][same]
        pair_key = np.unique(np.r_[sentence[:-1][same] * span + pair, np.arange(count) * span])
        return (
            key % width,
            np.bincount(key // width, minlength=count),
            pair_key % span,
            np.bincount(pair_key // span, minlength=count),
        )

    def _pairs(self, words: Sequence[str]) -> np.ndarray:
        """Codes of adjacent term pairs (pairs with a term no chunk holds left out: none can match)."""
        width = len(self.vocab) + 1
        ids = [self.vocab.get(w, 0) for w in words]
        return np.array(
            sorted({a * width + b for a, b in itertools.pairwise(ids) if a and b}), dtype=np.int64
        )

    def sentences(self, row: int) -> Encoded:
        """A row's sentences, encoded as by `_encode`."""
        if row in self._spans:
            first, end = self._spans[row]
            terms, per, pairs, pairs_per = self._all
            return (
                terms[self._term_at[first] : self._term_at[end]],
                per[first:end],
                pairs[self._pair_at[first] : self._pair_at[end]],
                pairs_per[first:end],
            )
        found = self._rows.get(row)
        if found is None:
            text = self._text(row)
            found = self._rows[row] = self._encode(tokenize_pieces(text, sentence_starts(text)))
        return found

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
        weight = np.zeros((len(self.idf), len(queries)))  # idf of each query's terms, one column each
        total = np.ones(len(queries))
        for j, query in enumerate(queries):
            # in the query's own order: a set's order changes with the process's string hash seed, and so
            # would the float sum below, flipping near-ties between runs of the same question
            known = [self.vocab[w] for w in dict.fromkeys(query) if w in self.vocab]
            weight[known, j] = self.idf[known]
            total[j] = self.idf[known].sum() or 1.0
        shares = np.add.reduceat(weight[ids], starts, axis=0) / total
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
