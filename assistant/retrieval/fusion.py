"""Step 3 of retrieval: every chunk's keyword and dense scores fused, plus the boosts of the question's hints."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from assistant.retrieval.candidates import Scores
from assistant.retrieval.hints import Hints, Period
from assistant.retrieval.query import Query
from assistant.retrieval.tuning import WINDOW_SHARE, Tuning
from assistant.retrieval.when import month_period, widen, year_period

_BOUNDS = re.compile(r"\b(?:before|after|since|until|till|prior to|between)\b", re.I)


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

    def newness(self, as_of: datetime | None = None) -> np.ndarray:
        """0 for the oldest row, 1 for the newest up to as-of (undated rows count as oldest)."""
        if not np.isfinite(self.ts).any():
            return np.zeros(len(self.ts))
        ts = np.nan_to_num(self.ts, nan=float(np.nanmin(self.ts)))
        top = float(ts.max()) if as_of is None else min(float(ts.max()), as_of.timestamp())
        return np.clip((ts - ts.min()) / max(top - float(ts.min()), 1.0), 0.0, 1.0)

    def period_mask(self, periods: Sequence[Period]) -> np.ndarray:
        """Rows published inside any of the periods."""
        mask = np.zeros(len(self.ts), dtype=bool)
        with np.errstate(invalid="ignore"):
            for p in periods:
                mask |= (self.ts >= p.start.timestamp()) & (self.ts <= p.end.timestamp())
        return mask


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
        bonus += t.recency_boost * table.newness(hints.as_of)
    elif hints.recent:  # softer cues than 'latest': a tie-breaker toward newer reports, not a ranking
        bonus += t.recent_boost * table.newness(hints.as_of)
    return bonus


@dataclass(frozen=True)
class Fused:
    """A question's fused scores over every row: the topic's (with hint boosts), each part's, each clause's."""

    base: np.ndarray
    parts: list[tuple[np.ndarray, np.ndarray]]  # (rows of the part's outlets, part score)
    clauses: list[np.ndarray]


def fuse_query(table: Table, query: Query, scores: Scores, t: Tuning) -> Fused:
    """Fuse each searched text's keyword and dense scores; boost the topic's by the question's hints."""
    dense = scores.dense
    scored = [
        fuse(kw, None if dense is None or i >= dense.shape[1] else dense[:, i], t)
        for i, kw in enumerate(scores.keyword)
    ]
    n = len(query.parts)
    parts = [
        (
            table.outlet_mask(p.outlets),
            t.part_text_weight * s + t.part_period_boost * table.period_mask(p.periods),
        )
        for p, s in zip(query.parts, scored[1 : 1 + n], strict=True)
    ]
    return Fused(scored[0] + hint_bonus(table, query.hints, t), parts, scored[1 + n :])


def time_window(
    table: Table, base: np.ndarray, allowed: np.ndarray, hints: Hints
) -> tuple[Period | None, str]:
    """The window a relative question ('this week') is steered to: its own, or else the next wider one
    (the past month, the past year) whose best allowed chunk scores at least WINDOW_SHARE of the best
    allowed chunk overall; (None, '') when none does, or the question names no window."""
    if hints.window is None or hints.as_of is None or not allowed.any():
        return None, ""
    best = float(np.max(base[allowed]))
    for period, label in widen(hints.window, hints.window_label, hints.as_of):
        inside = table.period_mask([period]) & allowed
        if inside.any() and float(np.max(base[inside])) >= WINDOW_SHARE * best:
            return period, label
    return None, ""


@dataclass(frozen=True)
class DayWidened:
    """A named day that held nothing relevant: the question's periods with the day replaced, and why."""

    periods: tuple[Period, ...]
    notice: str


def widen_day(
    table: Table, base: np.ndarray, allowed: np.ndarray, hints: Hints, boost: float
) -> DayWidened | None:
    """When the question names one day and no allowed chunk of it scores WINDOW_SHARE of the best allowed
    chunk overall on the text alone (nothing relevant that day, or the day is off): its month, else its
    year, else no date, in place of the day, with the notice that says so. Without this the day's boost
    lifts unrelated reports of that day over the relevant ones. Not for a named month or year, a day that
    bounds a span ('before 16 November'), or a question of several days or parts: there the best chunk
    overall may answer another part, and the day be right. `base` holds `boost` for the hints' periods."""
    days = {p for p in hints.periods if p.end - p.start <= timedelta(days=3)}
    if len(days) != 1 or len(hints.parts) > 1 or _BOUNDS.search(hints.stripped) or not allowed.any():
        return None
    raw = base - boost * table.period_mask(hints.periods)  # the text's own scores
    best = float(np.max(raw[allowed]))

    def holds(period: Period) -> bool:
        inside = table.period_mask([period]) & allowed
        return bool(inside.any()) and float(np.max(raw[inside])) >= WINDOW_SHARE * best

    (day,) = days
    if holds(day):
        return None
    named = day.start + (day.end - day.start) / 2
    others = tuple(p for p in hints.periods if p != day)
    said = f"No article from {named.day} {named:%B %Y} covers this"
    month, year = month_period(named.year, named.month), year_period(named.year)
    for wider, label in ((month, f"{named:%B %Y}"), (year, f"{named.year}")):
        if holds(wider):
            return DayWidened((*others, wider), f"{said}; searched {label}.")
    return DayWidened(others, f"{said}; searched all dates.")
