"""What retrieval holds in memory for one version of the keyword index, made from its segments' row columns
(store/rowtable.py) array by array: no Python object per chunk, so a million rows take a second, not ten."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from assistant.retrieval.fusion import Table
from assistant.retrieval.hints import HintParser
from assistant.retrieval.terms import SentenceTerms
from assistant.store.bm25 import KeywordView
from assistant.store.dense import DenseMatrix, Fetch
from assistant.store.keywords import KeywordIndex
from assistant.store.rowtable import NO_TS, RowInfo, lookup
from assistant.store.segments import Segment, by_part
from assistant.store.sentences import SentenceTable
from assistant.store.stories import StoryInfo

Parts = Sequence[tuple[Segment, np.ndarray]]


class RowsView:
    """Row number -> RowInfo over the live rows of the parts (a row is made only when asked for)."""

    def __init__(self, parts: Parts) -> None:
        self.parts = list(parts)
        self.first = np.r_[0, np.cumsum([len(live) for _, live in parts])].astype(np.int64)

    def __len__(self) -> int:
        return int(self.first[-1])

    def __getitem__(self, row: int) -> RowInfo:
        p = int(np.searchsorted(self.first, row, side="right")) - 1
        segment, live = self.parts[p]
        return segment.rows[int(live[row - self.first[p]])]

    def ids(self, rows: Sequence[int]) -> list[str]:
        """The chunk ids of these rows, in order."""
        out = [""] * len(rows)
        lives = [live for _, live in self.parts]
        for p, mine, local in by_part(self.first, lives, np.asarray(rows, dtype=np.int64)):
            for k, cid in zip(mine, self.parts[p][0].rows.ids(local), strict=True):
                out[int(k)] = cid
        return out


class StoryTable:
    """Each article's wire story and the outlets that carried it, from the first chunks' rows."""

    def __init__(self, parts: Parts) -> None:
        articles, stories, outlets = [], [], []
        for segment, live in parts:
            c = segment.rows.c
            lead = live[(np.asarray(c["row_chunk"][live]) == 0) & (np.asarray(c["row_story"][live]) != b"")]
            articles.append(np.asarray(c["row_article"][lead]))
            stories.append(np.asarray(c["row_story"][lead]))
            names = np.array(segment.rows.outlets or [""], dtype=object)
            outlets.append(names[np.asarray(c["row_outlet"][lead])])
        self.article = np.concatenate(articles) if articles else np.zeros(0, "S1")
        self.story = np.concatenate(stories) if stories else np.zeros(0, "S1")
        self.outlet = np.concatenate(outlets) if outlets else np.zeros(0, object)
        self.by_article = np.argsort(self.article, kind="stable")
        self.article_sorted = self.article[self.by_article]
        self.by_story = np.argsort(self.story, kind="stable")
        self.story_sorted = self.story[self.by_story]

    def info(self, article_ids: Sequence[str]) -> dict[str, StoryInfo] | None:
        """Story id and outlets per article; None when one of them is not known here."""
        if not article_ids:
            return {}
        keys = np.array([a.encode("utf-8") for a in article_ids])
        at = lookup(self.article_sorted, self.by_article, keys)
        if (at < 0).any():
            return None
        stories = self.story[at]
        ordered = self.story_sorted
        out: dict[str, StoryInfo] = {}
        for aid, story in zip(article_ids, stories, strict=True):
            lo, hi = np.searchsorted(ordered, story), np.searchsorted(ordered, story, side="right")
            names = {str(n) for n in self.outlet[self.by_story[lo:hi]]}
            out[aid] = (bytes(story).decode("utf-8"), tuple(sorted(names)))
        return out


@dataclass
class Snapshot:
    """What retrieval holds in memory for one version of the keyword index (rows in its order)."""

    generation: int = -1  # the keyword index's generation these rows are of
    table: Table = field(
        default_factory=lambda: Table(np.zeros(0, int), [], np.zeros(0), np.zeros(0, int), np.zeros(0, bool))
    )
    vectors: DenseMatrix = field(default_factory=lambda: DenseMatrix([], 0, lambda ids: []))
    rows: RowsView = field(default_factory=lambda: RowsView([]))
    parser: HintParser = field(default_factory=lambda: HintParser(()))
    sentences: SentenceTable = field(default_factory=lambda: SentenceTable([]))
    stories: StoryTable = field(default_factory=lambda: StoryTable([]))
    terms: SentenceTerms = field(default_factory=lambda: SentenceTerms(KeywordView([], {}, 0)))
    bm25: KeywordView = field(default_factory=lambda: KeywordView([], {}, 0))

    def __len__(self) -> int:
        return len(self.rows)


def build_snapshot(kw: KeywordIndex, old: Snapshot, dimension: int, fetch: Fetch) -> Snapshot:
    """A snapshot of the keyword index as it is now (vectors the old one read from the store are kept)."""
    view = kw.view()
    parts = view.parts
    sources = sorted({name for segment, _ in parts for name in segment.rows.sources})
    code = {name: i for i, name in enumerate(sources)}
    outlet, ts, article, lead = [], [], [], []
    articles = 0
    for segment, live in parts:
        c = segment.rows.c
        remap = np.array([code[n] for n in segment.rows.sources] or [0], dtype=int)
        outlet.append(remap[np.asarray(c["row_source"][live])])
        raw = np.asarray(c["row_ts"][live])
        ts.append(np.where(raw == NO_TS, np.nan, raw.astype(np.float64)))
        # an article's rows are written in one batch, so they share a segment: codes per segment suffice
        _, local = np.unique(np.asarray(c["row_article"][live]), return_inverse=True)
        article.append(local.reshape(-1) + articles)
        articles += int(local.max()) + 1 if len(local) else 0
        lead.append(np.asarray(c["row_chunk"][live]) == 0)
    table = Table(
        outlet=_join(outlet, int),
        outlet_names=sources,
        ts=_join(ts, np.float64),
        article=_join(article, int),
        lead=_join(lead, bool),
    )
    # chunk vectors from the segments (mapped); the store is asked only for rows whose segment lacks
    # theirs. Texts and metadata are read for the passages a question returns.
    vectors = DenseMatrix(parts, dimension, fetch, old.vectors.fetched)
    dated = table.ts[np.isfinite(table.ts)]
    newest = datetime.fromtimestamp(float(dated.max()), UTC) if dated.size else None
    return Snapshot(
        generation=kw.generation,
        table=table,
        vectors=vectors,
        rows=RowsView(parts),
        parser=HintParser([o for o in sources if o], now=newest),  # 'in May': the last May we hold
        sentences=SentenceTable(parts),
        stories=StoryTable(parts),
        bm25=view,
        terms=SentenceTerms(view),
    )


def _join(pieces: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(pieces).astype(dtype) if pieces else np.zeros(0, dtype=dtype)
