"""Learned ordering of retrieval's candidates: a linear score over features retrieval already has, plus
how well single sentences of each chunk match the question (a gold fact is usually one sentence).

The weights were fit by `benchmarks/fit_ranker.py` (logistic regression, chunk relevant or not, on
MultiHop-RAG dev, 5-fold cross-validated); no feature looks at benchmark ids, answers or phrasings.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.hints import Hints
from assistant.hybrid import Table, scale
from assistant.keyword import tokenize, tokenize_pieces
from assistant.textutil import sentence_starts

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
)
# Added to the learned score, not fit: a user who asks for the latest gets newer articles first (the
# benchmark's few 'most recent' questions mean something else, and a fit weight came out negative).
RECENCY = 2.0
# Fit by benchmarks/fit_ranker.py; order as FEATURES.
WEIGHTS = (
    -0.597,
    -2.687,
    -2.116,
    1.314,
    -1.612,
    0.958,
    -0.094,
    0.883,
    -0.045,
    -0.796,
    0.886,
    6.164,
    8.037,
    2.415,
    -4.554,
    -1.461,
    -1.175,
    2.508,
    -0.526,
    0.447,
    1.888,
    1.648,
    0.220,
    -0.158,
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


def gather(
    table: Table,
    hints: Hints,
    base: np.ndarray,
    allowed: np.ndarray,
    picked: Sequence[int],
    keyword: Sequence[np.ndarray],
    dense: np.ndarray | None,
    parts: Sequence[tuple[np.ndarray, np.ndarray]],
    size: int,
    floor: float = 0.0,
) -> Candidates:
    """The `size` best allowed rows by fused score, plus the rule picks, with what `features` reads."""
    masked = np.where(allowed, base, -np.inf)
    top = np.argpartition(-masked, size)[:size] if size < len(masked) else np.arange(len(masked))
    rows = np.array(
        sorted({int(r) for r in [*top, *picked] if allowed[r]}, key=lambda r: -base[r]), dtype=int
    )
    empty = np.zeros(len(rows))
    dense_cols = [] if dense is None else [scale(dense[:, i], floor, rows) for i in range(dense.shape[1])]
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
        newest=table.newness()[rows] if hints.latest else empty,
    )


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
        self.vocab = {w: i for i, w in enumerate(df, start=1)}  # 0: no term (an empty sentence)
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
            known = [self.vocab[w] for w in set(query) if w in self.vocab]
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
        ]
    )


def learned_order(
    c: Candidates, texts: Sequence[str], terms: SentenceTerms, weights: Sequence[float] = WEIGHTS
) -> list[int]:
    """Candidate rows, best learned score (plus the recency a question asks for) first."""
    if not len(c.rows):
        return []
    scores = features(c, texts, terms) @ np.asarray(weights, dtype=np.float64) + RECENCY * c.newest
    return [int(c.rows[i]) for i in np.argsort(-scores, kind="stable")]
