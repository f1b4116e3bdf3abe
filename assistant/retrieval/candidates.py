"""Step 2 of retrieval: every chunk scored against each searched text of the question, by keyword (BM25)
and by dense similarity (the chunk's vector, blended with its best stored sentence for the closest)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.embedding import Embedder
from assistant.retrieval.query import Query, word_ranges
from assistant.retrieval.tuning import Tuning
from assistant.store.bm25 import KeywordView
from assistant.store.dense import DenseMatrix
from assistant.store.sentences import SentenceTable


def best_first(scores: np.ndarray, m: int) -> np.ndarray:
    """Row numbers of the m highest scores, highest first (a partial sort: a full one of a million scores
    costs ~100 ms)."""
    if m <= 0:
        return np.zeros(0, dtype=np.int64)
    rows = np.arange(scores.size) if m >= scores.size else np.argpartition(-scores, m - 1)[:m]
    return rows[np.argsort(-scores[rows], kind="stable")]


@dataclass(frozen=True)
class Scores:
    """Raw scores of every row for each searched text."""

    keyword: list[np.ndarray]  # one BM25 array per text
    dense: np.ndarray | None  # rows x embedded texts (None when dense search is off)
    vectors: np.ndarray | None  # the query vectors (texts embedded)


class ChunkScorer:
    """Scores every chunk of one snapshot of the store (its vectors and sentence vectors in memory)."""

    def __init__(
        self,
        embedder: Embedder,
        keywords: KeywordView,
        vectors: DenseMatrix,
        sentences: SentenceTable,
        tuning: Tuning,
        nearest: Callable[[np.ndarray, int], list[list[str]]] | None = None,
    ) -> None:
        self.embedder = embedder
        self.keywords = keywords
        self.vectors = vectors
        self.sentences = sentences
        self.tuning = tuning
        self.nearest = nearest  # the store's HNSW query (ChunkStore.nearest), for indexes past exact search

    def score(self, query: Query) -> Scores:
        """Keyword scores for every text; dense scores for the topic (and the pieces, when configured)."""
        t = self.tuning
        embedded = query.texts if t.dense_pieces else query.texts[:1]
        vectors = self._query_vectors(embedded) if t.dense_weight else None
        keyword = [self.keywords.scores(x) for x in query.texts]
        dense = None if vectors is None else self._dense(vectors, keyword)
        return Scores(keyword, dense, vectors)

    def _dense(self, queries: np.ndarray, keyword: list[np.ndarray]) -> np.ndarray:
        """Cosine of every chunk with each query, blended (`Tuning.sentence_weight`) with the chunk's best
        sentence for the closest chunks: a fact is usually one sentence of a longer chunk. Past
        `Tuning.exact_dense_max` chunks, exact only for HNSW's nearest and keyword search's best."""
        t = self.tuning
        if len(self.vectors) > t.exact_dense_max and self.nearest is not None:
            found = self.vectors.rows_of(self.nearest(queries, t.approximate_candidates))
            best = [best_first(k, t.approximate_candidates) for k in keyword]  # the texts' keyword picks
            picks = np.concatenate(best) if best else np.zeros(0, dtype=np.int64)
            chunk = self.vectors.approximate(queries, [np.r_[rows, picks] for rows in found])
        else:
            chunk = self.vectors.scores(queries)
        if not t.sentence_weight or not len(self.sentences):
            return chunk
        return self.sentences.blend(chunk, queries, t.sentence_weight, t.sentence_candidates)

    def _query_vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors for the question's main text and its pieces. With `Tuning.one_pass` the pieces
        are pooled from the main text's own forward pass over the words they share with it (dev: same
        quality, median retrieval 126 -> 48 ms); pieces sharing none are embedded on their own."""
        if not self.tuning.one_pass or len(texts) < 2:
            return self.embedder.embed_cached(texts)
        main, pieces = texts[0], texts[1:]
        vector, pooled = self.embedder.embed_question(main, [word_ranges(main, x) for x in pieces])
        missing = [x for x, v in zip(pieces, pooled, strict=True) if v is None]
        embedded = dict(zip(missing, self.embedder.embed_cached(missing), strict=True)) if missing else {}
        rows = [embedded[x] if v is None else v for x, v in zip(pieces, pooled, strict=True)]
        return np.stack([vector, *rows])
