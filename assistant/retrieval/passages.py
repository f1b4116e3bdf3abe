"""Step 5 of retrieval: ranked rows -> Passages (text and metadata from memory, else the store), one per
wire story, with retrieval's judgement of whether the index covers the question."""

from __future__ import annotations

import calendar
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from assistant.dates import parse_date
from assistant.retrieval.hints import Hints
from assistant.retrieval.tuning import (
    EVIDENCE_COVERED,
    EVIDENCE_UNKNOWN_NAME,
    EVIDENCE_UNKNOWN_OUTLET,
)
from assistant.store.chroma import NewsIndex
from assistant.store.client import passage_from_row
from assistant.store.sentences import SentenceTable
from assistant.store.stories import StoryInfo, collapse_stories
from assistant.text import tokenize
from assistant.types import Passage, day

Chunk = tuple[str, Mapping[str, Any]]  # (text, metadata) as stored
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # an undated passage's time, for spreading


CALENDAR_WORDS = frozenset(
    name.lower()
    for name in (*calendar.month_name, *calendar.month_abbr, *calendar.day_name, *calendar.day_abbr, "Sept")
    if name
)


def coverage(hints: Hints, knows: Callable[[str], bool]) -> float:
    """How sure we are that the index covers the question (0..1), from what the question names."""
    if hints.unknown_outlets:
        return EVIDENCE_UNKNOWN_OUTLET
    names = [w for w in hints.names() if w.lower().rstrip(".") not in CALENDAR_WORDS]  # dates are not names
    missing = [t for w in names for t in tokenize(w) if not knows(t)]
    return EVIDENCE_UNKNOWN_NAME if missing else EVIDENCE_COVERED


def build_passages(
    rows: Sequence[int],
    ids: Sequence[str],
    scores: np.ndarray,
    evidence: float,
    index: NewsIndex,
    sentences: SentenceTable,
    story_info: Callable[[Sequence[str]], dict[str, StoryInfo]],
) -> list[Passage]:
    """Passages for the ranked rows (chunk `ids`, scored by `scores`), each wire story once; their texts and
    metadata are read from the store (one call), not held in memory."""
    found = {cid: (text, meta) for cid, text, meta, _ in index.chunks(ids)}
    passages: list[Passage] = []
    for row, cid in zip(rows, ids, strict=True):
        if cid in found:
            text, meta = found[cid]
            passages.append(
                passage_from_row(cid, text, meta, float(scores[row]), len(passages) + 1, sentences.blob(row))
            )
    collapsed = collapse_stories(passages, story_info)  # each wire story once
    return [dataclasses.replace(p, evidence=evidence) for p in collapsed]


def widened_notice(hints: Hints, label: str, passages: Sequence[Passage]) -> list[str]:
    """'No article from this week; the most recent report is from 12 Sep 2023.' when the question's own
    window held nothing relevant and retrieval looked wider (or at all time)."""
    if hints.window is None or label == hints.window_label or not passages:
        return []
    dated = sorted((p.published_at for p in passages if p.published_at), reverse=True)
    newest = f"; the most recent report found is from {day(dated[0], long=True)}" if dated else ""
    wider = f" (searched {label} instead)" if label else ""
    return [f"No article from {hints.window_label} covers this{newest}{wider}."]


def spread_out(ranked: Sequence[Passage], k: int) -> list[Passage]:
    """k of the passages, in the order they are picked: the stories most outlets carried first; among
    equals, one from an outlet not picked yet, then the one farthest in time from those picked (the newest
    first), so a month's top stories are not its last week's, nor five from one outlet."""
    stamps = {id(p): (parse_date(p.published_at) or _EPOCH).timestamp() for p in ranked}
    pool, taken = list(ranked), list[Passage]()

    def gain(p: Passage) -> tuple[bool, float, float]:
        gap = min((abs(stamps[id(p)] - stamps[id(t)]) for t in taken), default=0.0)
        return all(t.outlet != p.outlet for t in taken), gap, stamps[id(p)]

    while pool and len(taken) < k:
        most = max(len(p.also_reported_by) for p in pool)
        best = max((p for p in pool if len(p.also_reported_by) == most), key=gain)
        taken.append(best)
        pool.remove(best)
    return taken
