"""Retrieval's named numbers: the fusion weights (`Tuning`) and the thresholds of its other steps."""

from __future__ import annotations

from dataclasses import dataclass

EXTRA = 8  # rows ranked beyond k, so collapsing wire copies still leaves k passages
# How sure retrieval is that the index covers a question (Passage.evidence), from what the question names:
EVIDENCE_UNKNOWN_OUTLET = 0.1  # it asks what an outlet we do not hold reported
EVIDENCE_UNKNOWN_NAME = 0.2  # it names people or things no indexed article mentions
EVIDENCE_UNSUPPORTED = 0.3  # the passages lack what it asks about (retrieval/support.py)
EVIDENCE_COVERED = 0.9  # every name it uses is in the index
# A relative window ('this week') is kept when its best chunk scores at least this share of the best chunk
# overall; else the next wider window is tried (the past month, the past year, then all time).
WINDOW_SHARE = 0.8
HEADLINE_POOL = 400  # "what happened this week?": the newest leads of the period whose stories are ranked


@dataclass(frozen=True)
class Tuning:
    """Weights of the fusion; the defaults were measured on MultiHop-RAG dev (see benchmarks/retrieval.py)."""

    keyword_weight: float = 1.0
    dense_weight: float = 0.5
    sentence_weight: float = 0.8  # a chunk's best sentence blended into its dense score (dev-measured)
    sentence_candidates: int = 200  # closest chunks per query that get the blend (keeps it ~1 ms)
    dense_floor: float = 0.0  # cosine similarity that counts as no match at all
    outlet_boost: float = 0.5  # chunks of an outlet the question names
    period_boost: float = 0.3  # chunks published in a period the question names
    recency_boost: float = 0.5  # newest chunks, for "latest" questions (scaled by age)
    recent_boost: float = 0.1  # newer chunks, for current-events wording ("new", "now", "this year")
    part_period_boost: float = 0.3
    part_text_weight: float = 0.5
    clause_weight: float = 1.0
    pool_articles: int = 6  # articles that clause picks may come from
    clause_min_terms: int = 3
    use_hints: bool = True  # outlet / period / recency boosts, outlet names and furniture out of the query
    use_parts: bool = True
    use_clauses: bool = True
    dense_pieces: bool = True  # dense vectors for each part and clause too (better recall)
    one_pass: bool = True  # pieces pooled from the main text's forward pass (dev: same quality, 2.6x
    # faster); False embeds each piece as a text of its own
    distinct_parts: bool = True  # two mentions of one outlet get two different articles
    lead_boost: float = 0.1  # an article's first chunk (news puts the key facts in the lead)
    repeat_penalty: float = 0.0  # per chunk already listed from the same article (diversity)
    learned_pool: int = 40  # candidates the learned ranker (retrieval/ranker.py) orders; 0: rules only
    fusion: str = "weighted"  # or "rrf": plain reciprocal-rank fusion (for comparison)
    # Above this many chunks, dense scores come from Chroma's HNSW query (its nearest chunks, plus keyword
    # search's best) instead of an exact scan of every vector: exact costs 0.43 us per chunk (40 ms at 100k,
    # 136 ms at 300k, 432 ms at 1M), HNSW 1.4-4.2 ms at 10k-100k (benchmarks/dense.py; docs/SCALING.md)
    exact_dense_max: int = 150_000
    approximate_candidates: int = 500  # nearest chunks asked of HNSW per query vector, and keyword rows added
