"""Step 4a of retrieval: the rule-based order: one pick per part the question names, one per clause, then
the fused order (the learned ranker then reorders these with the best fused candidates)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.retrieval.candidates import best_first
from assistant.retrieval.fusion import Table
from assistant.retrieval.tuning import Tuning


def top_articles(table: Table, scores: np.ndarray, n: int) -> np.ndarray:
    """Mask of the rows of the n articles whose best chunk scores highest."""
    chosen: list[int] = []
    wanted = max(8 * n, 64)  # chunks looked at: articles have a few each; more only if these fall short
    while True:
        for row in best_first(scores, wanted):
            code = int(table.article[row])
            if code not in chosen:
                chosen.append(code)
                if len(chosen) >= n:
                    return np.isin(table.article, chosen)
        if wanted >= scores.size:
            return np.isin(table.article, chosen)
        chosen, wanted = [], wanted * 8


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
    candidates = [int(r) for r in best_first(base, n * 4) if np.isfinite(base[r]) and r not in order]
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
