"""Learned ordering of retrieval's candidates: a linear score over features retrieval already has, plus
how well single sentences of each chunk match the question (a gold fact is usually one sentence).

The weights were fit by `benchmarks/fit_ranker.py` (logistic regression, chunk relevant or not, on
MultiHop-RAG dev, 5-fold cross-validated); no feature looks at benchmark ids, answers or phrasings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.retrieval.candidates import Scores
from assistant.retrieval.fusion import Fused, Table, scale
from assistant.retrieval.hints import Hints
from assistant.retrieval.terms import SentenceTerms
from assistant.retrieval.tuning import Tuning
from assistant.store.sentences import SentenceTable
from assistant.text import tokenize

FEATURES = (
    "keyword",  # BM25 of the question's topic, scaled
    "dense",  # dense cosine (sentence-blended) of the question's topic, scaled
    "piece_keyword_max",  # over the question's parts and clauses (the topic when there are none)
    "piece_dense_max",
    "piece_keyword_mean",
    "piece_dense_mean",
    "article_rank",  # 1 / (1 + rank of the chunk's article among the candidates)
    "chunk_rank",  # 1 / (1 + rank of the chunk)
    "article_chunks",  # candidates from the same article
    "article_gap",  # the article's best fused score minus this chunk's
    "part",  # best part score (named outlet / period) where the chunk qualifies
    "piece_fused_max",
    "sentence_terms",  # best sentence's share of the topic's terms (idf-weighted)
    "piece_sentence_terms_max",
    "piece_sentence_terms_mean",
    "two_sentences",  # the two best sentences' shares, summed
    "piece_two_sentences_max",
    "sentence_pairs",  # best sentence's share of the topic's adjacent word pairs
    "piece_sentence_pairs_max",
    "pieces_led",  # pieces for which this chunk has the best sentence among the candidates
    "picked",  # 1 / (1 + position in the rule-based order of `hybrid.rank`), 0 when not in it
    "outlet_named",  # the chunk's outlet is one the question names
    "period_named",  # the chunk was published in a period the question names
    "lead",  # the article's first chunk
    "sentence_dense",  # best sentence cosine with the topic's vector (stored sentence vectors)
    "piece_sentence_dense_max",  # ... with any part's or clause's vector
)
# Added to the learned score, not fit: a user who asks for the latest gets newer articles first (the
# benchmark's few 'most recent' questions mean something else, and a fit weight came out negative).
RECENCY = 2.0
# Fit by benchmarks/fit_ranker.py; order as FEATURES.
WEIGHTS = (
    -0.584,
    -2.458,
    -2.001,
    1.044,
    -1.613,
    1.169,
    -0.093,
    0.847,
    -0.046,
    -0.793,
    0.852,
    6.014,
    7.967,
    2.294,
    -4.520,
    -1.425,
    -1.140,
    2.509,
    -0.517,
    0.478,
    1.907,
    1.667,
    0.231,
    -0.157,
    -0.888,
    0.757,
)


@dataclass(frozen=True)
class Candidates:
    """What retrieval computed for one question, for each candidate row (arrays in `rows` order)."""

    rows: np.ndarray  # candidate row indices of the chunk table, best fused score first
    fused: np.ndarray  # fused score with hint boosts (what `hybrid.rank` sorts by)
    keyword: np.ndarray  # texts x candidates: scaled BM25 (the topic first, then parts and clauses)
    dense: np.ndarray  # texts x candidates: scaled dense score
    part: np.ndarray  # best part score (0 where no part applies)
    picked: Sequence[int]  # the rule-based order (row indices)
    article: np.ndarray  # article code
    named: np.ndarray  # candidates x 3: outlet named, period named, lead chunk (0 / 1)
    newest: np.ndarray  # for a 'latest' question: 0 (oldest) .. 1 (newest); else all 0
    sentence_dense: np.ndarray  # texts x candidates: best sentence cosine (0 without stored vectors)


def gather(
    table: Table,
    hints: Hints,
    fused: Fused,
    allowed: np.ndarray,
    picked: Sequence[int],
    scores: Scores,
    t: Tuning,
    sentences: SentenceTable | None = None,
) -> Candidates:
    """The `t.learned_pool` best allowed rows by fused score, plus the rule picks, with what `features`
    reads."""
    base, size, keyword, dense, queries = (
        fused.base,
        t.learned_pool,
        scores.keyword,
        scores.dense,
        scores.vectors,
    )
    masked = np.where(allowed, base, -np.inf)
    top = np.argpartition(-masked, size)[:size] if size < len(masked) else np.arange(len(masked))
    rows = np.array(
        sorted({int(r) for r in [*top, *picked] if allowed[r]}, key=lambda r: -base[r]), dtype=int
    )
    empty = np.zeros(len(rows))
    dense_cols = (
        [] if dense is None else [scale(dense[:, i], t.dense_floor, rows) for i in range(dense.shape[1])]
    )
    parts = fused.parts
    return Candidates(
        rows=rows,
        fused=base[rows],
        keyword=np.array([scale(k, 0.0, rows) for k in keyword]),
        dense=np.array(dense_cols + [empty] * (len(keyword) - len(dense_cols))),
        part=np.max([np.where(m[rows], s[rows], 0.0) for m, s in parts], axis=0) if parts else empty,
        picked=picked,
        article=table.article[rows],
        named=np.column_stack(
            [table.outlet_mask(hints.outlets)[rows], table.period_mask(hints.periods)[rows], table.lead[rows]]
        ).astype(float),
        newest=table.newness(hints.as_of)[rows] if hints.latest else empty,
        sentence_dense=np.array(
            [*(sentences.best(rows, queries).T if sentences is not None and queries is not None else [])]
            + [empty] * (len(keyword) - (0 if queries is None or sentences is None else len(queries)))
        ),
    )


def features(c: Candidates, texts: Sequence[str], terms: SentenceTerms) -> np.ndarray:
    """The FEATURES matrix, one row per candidate."""
    rows, kw, dn, fused, arts = c.rows, c.keyword, c.dense, c.fused, c.article
    pk, pd = (kw[1:], dn[1:]) if len(kw) > 1 else (kw[:1], dn[:1])
    first: dict[int, int] = {}
    for a in arts:
        first.setdefault(int(a), len(first))
    count = Counter(int(a) for a in arts)
    best = {a: float(fused[arts == a].max()) for a in count}
    queries = [tokenize(x) for x in texts]
    if len(queries) == 1:
        queries = queries * 2  # no pieces: the topic stands for them
    match = terms.match([int(r) for r in rows], queries)  # rows x texts x 3
    shares = match[:, :, 0]
    led = (shares[:, 1:] >= shares[:, 1:].max(axis=0)) & (shares[:, 1:] > 0)
    position = {row: i for i, row in enumerate(c.picked)}
    return np.column_stack(
        [
            kw[0],
            dn[0],
            pk.max(0),
            pd.max(0),
            pk.mean(0),
            pd.mean(0),
            [1 / (1 + first[int(a)]) for a in arts],
            1 / (1 + np.arange(len(rows))),
            [count[int(a)] for a in arts],
            [best[int(a)] - f for a, f in zip(arts, fused, strict=True)],
            c.part,
            (pk + 0.5 * pd).max(0),
            shares[:, 0],
            shares[:, 1:].max(1),
            shares[:, 1:].mean(1),
            match[:, 0, 1],
            match[:, 1:, 1].max(1),
            match[:, 0, 2],
            match[:, 1:, 2].max(1),
            led.sum(1),
            [1 / (1 + position[int(r)]) if int(r) in position else 0.0 for r in rows],
            c.named,
            c.sentence_dense[0],
            c.sentence_dense[1:].max(0) if len(c.sentence_dense) > 1 else c.sentence_dense[0],
        ]
    )


class LearnedRanker:
    """Orders candidates by the learned linear score (weights from benchmarks/fit_ranker.py), plus the
    fixed recency term for 'latest' questions. Subclass `order` to observe or replace the ordering."""

    def __init__(self, weights: Sequence[float] = WEIGHTS) -> None:
        self.weights = np.asarray(weights, dtype=np.float64)

    def order(self, c: Candidates, texts: Sequence[str], terms: SentenceTerms) -> list[int]:
        """Candidate rows, best learned score (plus the recency a question asks for) first."""
        if not len(c.rows):
            return []
        scores = features(c, texts, terms) @ self.weights + RECENCY * c.newest
        return [int(c.rows[i]) for i in np.argsort(-scores, kind="stable")]


def learned_order(
    c: Candidates, texts: Sequence[str], terms: SentenceTerms, weights: Sequence[float] = WEIGHTS
) -> list[int]:
    """`LearnedRanker(weights).order`: candidate rows, best first."""
    return LearnedRanker(weights).order(c, texts, terms)
