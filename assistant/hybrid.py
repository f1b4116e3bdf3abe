"""Hybrid ranking over every chunk: keyword + dense scores fused, hint boosts, per-part picks, diversity."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.hints import Hints, Period

# Words that say how a question is asked about the news, not what it is about.
_FURNITURE = re.compile(
    r"\b(articles?|reports?|reported|reporting|stor(?:y|ies)|pieces?|news|sources?|outlets?|published|"
    r"publication|mentioned|according|covered|coverage|suggests?|indicates?|implies|claims?|"
    r"portrayal|portray(?:ed|s)?|consistent|inconsistent|consistency|discrepancy|change|changed|"
    r"between|does|did|do|both|also|another|later|earlier|first|second|same|similar|different)\b",
    re.IGNORECASE,
)
_CLAUSE = re.compile(
    r"[,;?]|\s(?:and|while|whereas|but|also|which|who|whose|that|in contrast to|compared to|"
    r"according to|as reported by|reported by|as per)\s",
    re.IGNORECASE,
)


_PUNCT = ".,;:!?\"'()[]"


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
    learned_pool: int = 40  # candidates the learned ranker (assistant/ranker.py) orders; 0: rules only
    fusion: str = "weighted"  # or "rrf": plain reciprocal-rank fusion (for comparison)


@dataclass
class Table:
    """Per-chunk arrays, in the keyword index's row order."""

    outlet: np.ndarray  # int code per row
    outlet_names: list[str]
    ts: np.ndarray  # float epoch seconds, nan when undated
    article: np.ndarray  # int code per row
    lead: np.ndarray  # bool per row: the article's first chunk

    def outlet_mask(self, names: Sequence[str]) -> np.ndarray:
        """Rows of these outlets."""
        codes = [i for i, n in enumerate(self.outlet_names) if n in set(names)]
        return np.isin(self.outlet, codes)

    def newness(self) -> np.ndarray:
        """0 for the oldest row, 1 for the newest (undated rows count as oldest)."""
        if not np.isfinite(self.ts).any():
            return np.zeros(len(self.ts))
        ts = np.nan_to_num(self.ts, nan=float(np.nanmin(self.ts)))
        return (ts - ts.min()) / max(float(ts.max() - ts.min()), 1.0)

    def period_mask(self, periods: Sequence[Period]) -> np.ndarray:
        """Rows published inside any of the periods."""
        mask = np.zeros(len(self.ts), dtype=bool)
        with np.errstate(invalid="ignore"):
            for p in periods:
                mask |= (self.ts >= p.start.timestamp()) & (self.ts <= p.end.timestamp())
        return mask


def topic(question: str) -> str:
    """The question without news-question furniture words ('article', 'reported', ...)."""
    return " ".join(_FURNITURE.sub(" ", question).split())


def clauses(text: str) -> list[str]:
    """The pieces of a compound question, split at commas and conjunctions."""
    return [c.strip() for c in _CLAUSE.split(text) if c and c.strip()]


def word_ranges(text: str, piece: str) -> list[tuple[int, int]]:
    """Character ranges in text of the piece's words, matched in order (words text lacks are skipped)."""
    words = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", text)]
    ranges: list[tuple[int, int]] = []
    at = 0
    for word in piece.split():
        for j in range(at, len(words)):
            if words[j][2] == word or words[j][2].strip(_PUNCT) == word.strip(_PUNCT) != "":
                ranges.append(words[j][:2])
                at = j + 1
                break
    return ranges


def scale(scores: np.ndarray, floor: float = 0.0, rows: np.ndarray | None = None) -> np.ndarray:
    """Scores mapped so `floor` (a score that means nothing) is 0 and the best is 1, negatives clipped
    (only at `rows`, when given; the best is still the best of all)."""
    if scores.size == 0:
        return scores
    top = float(scores.max())
    picked = scores if rows is None else scores[rows]
    if top <= floor:
        return np.zeros_like(picked)
    return np.clip((picked - floor) / (top - floor), 0.0, None)


def rrf(*rankings: np.ndarray, k: int = 60) -> np.ndarray:
    """Plain reciprocal-rank fusion of several score arrays."""
    fused = np.zeros(rankings[0].shape, dtype=np.float64)
    for scores in rankings:
        ranks = np.empty(scores.size, dtype=np.float64)
        ranks[np.argsort(-scores)] = np.arange(1, scores.size + 1)
        fused += 1.0 / (k + ranks)
    return fused


def fuse(keyword: np.ndarray, dense: np.ndarray | None, t: Tuning) -> np.ndarray:
    """Weighted sum of the scaled keyword and dense scores."""
    if t.fusion == "rrf" and dense is not None and t.keyword_weight:
        return rrf(keyword, dense)
    fused = t.keyword_weight * scale(keyword)
    if dense is not None and t.dense_weight:
        fused = fused + t.dense_weight * scale(dense, t.dense_floor)
    return fused


def hint_bonus(table: Table, hints: Hints, t: Tuning) -> np.ndarray:
    """Boosts for the outlets, periods and recency a question asks for (others are not dropped)."""
    bonus = np.zeros(len(table.ts), dtype=np.float32)
    if not t.use_hints:
        return bonus
    bonus += t.lead_boost * table.lead
    if hints.outlets:
        bonus += t.outlet_boost * table.outlet_mask(hints.outlets)
    if hints.periods:
        bonus += t.period_boost * table.period_mask(hints.periods)
    if hints.latest:
        bonus += t.recency_boost * table.newness()
    return bonus


def top_articles(table: Table, scores: np.ndarray, n: int) -> np.ndarray:
    """Mask of the rows of the n articles whose best chunk scores highest."""
    order = np.argsort(-scores)
    chosen: list[int] = []
    for row in order:
        code = int(table.article[row])
        if code not in chosen:
            chosen.append(code)
            if len(chosen) >= n:
                break
    return np.isin(table.article, chosen)


def rank(
    table: Table,
    base: np.ndarray,
    parts: Sequence[tuple[np.ndarray, np.ndarray]],
    clause_scores: Sequence[np.ndarray],
    allowed: np.ndarray,
    n: int,
    t: Tuning,
) -> list[int]:
    """Row indices, best first: one pick per question part, one per clause, then the fused order."""
    base = np.where(allowed, base, -np.inf)
    picks: list[int] = []
    for mask, part_score in parts:  # each outlet the question names gets its best chunk up front
        score = np.where(mask & allowed, base + part_score, -np.inf)
        if t.distinct_parts:  # "the TechCrunch report ... and another TechCrunch report": two articles
            score[np.isin(table.article, [table.article[p] for p in picks if mask[p]])] = -np.inf
        best = int(np.argmax(score))
        if np.isfinite(score[best]) and best not in picks:
            picks.append(best)
    if clause_scores:
        pool = top_articles(table, base, t.pool_articles) & allowed
        found = []
        for clause in clause_scores:
            score = np.where(pool, base + t.clause_weight * clause, -np.inf)
            best = int(np.argmax(score))
            if np.isfinite(score[best]):
                found.append((float(score[best]), best))
        picks += [row for _, row in sorted(found, reverse=True) if row not in picks]
    order = list(dict.fromkeys(row for row in picks if np.isfinite(base[row])))[:n]
    candidates = [int(r) for r in np.argsort(-base)[: n * 4] if np.isfinite(base[r]) and r not in order]
    if not t.repeat_penalty:  # candidates are already best first
        return order + candidates[: max(0, n - len(order))]
    listed: dict[int, int] = {}
    for row in order:
        listed[int(table.article[row])] = listed.get(int(table.article[row]), 0) + 1
    while len(order) < n and candidates:  # best next, each chunk already listed from its article costs
        best = max(
            candidates, key=lambda r: base[r] - t.repeat_penalty * listed.get(int(table.article[r]), 0)
        )
        candidates.remove(best)
        order.append(best)
        listed[int(table.article[best])] = listed.get(int(table.article[best]), 0) + 1
    return order
