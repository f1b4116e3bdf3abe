"""Retrieval: question (+ filters) -> ranked Passages, as one straight pipeline over a snapshot of the store:

parse the question (query) -> score every chunk (candidates) -> fuse (fusion)
-> rank (rules, then the learned ranker) -> passages (+ the optional CrossEncoder rerank)
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from assistant.dates import epoch
from assistant.embedding import Embedder
from assistant.errors import StoreReadError
from assistant.retrieval.candidates import ChunkScorer
from assistant.retrieval.fusion import fuse_query, time_window, widen_day
from assistant.retrieval.hints import Hints
from assistant.retrieval.passages import build_passages, coverage, spread_out, widened_notice
from assistant.retrieval.query import parse_query
from assistant.retrieval.ranker import LearnedRanker, gather
from assistant.retrieval.rerank import Reranker, candidate_count
from assistant.retrieval.rules import rank
from assistant.retrieval.snapshot import Snapshot, build_snapshot
from assistant.retrieval.support import asked, refusal_notice, unsupported
from assistant.retrieval.tuning import EVIDENCE_COVERED, EVIDENCE_UNSUPPORTED, EXTRA, HEADLINE_POOL, Tuning
from assistant.store.chroma import NewsIndex
from assistant.store.keywords import KeywordIndex
from assistant.store.stories import StoryInfo
from assistant.types import Filters, Passage, evidence_found

log = logging.getLogger(__name__)


class Retriever:
    """Hybrid retrieval: BM25 + dense over every chunk, steered by the question's hints, diversified."""

    def __init__(
        self,
        index: NewsIndex,
        embedder: Embedder,
        tuning: Tuning | None = None,
        reranker: Reranker | None = None,
        ranker: LearnedRanker | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.tuning = tuning or Tuning()
        self.reranker = reranker  # optional CrossEncoder that reorders the candidates (settings.reranker)
        self.ranker = ranker or LearnedRanker()
        self.snapshot = Snapshot()
        self._lock = threading.Lock()  # one refresh at a time; questions read a whole snapshot

    def refresh(self, stored: int | None = None) -> Snapshot:
        """The snapshot in step with the store: reloads the keyword index when another process saved one,
        and reads only the chunks not held yet (chunk ids name their content, so held rows never go stale)."""
        with self._lock:
            if not self.index.sync_keywords(stored):
                return self.snapshot  # this process is writing: the last snapshot until it is done
            kw = self.index.keywords
            if self.snapshot.generation != kw.generation:
                try:
                    self.snapshot = self._build(kw, self.snapshot)
                except StoreReadError as exc:  # another process's rows are not readable yet (a local
                    log.warning("keeping the last snapshot: %s", exc)  # store flushes them lazily)
            return self.snapshot

    def _build(self, kw: KeywordIndex, old: Snapshot) -> Snapshot:
        return build_snapshot(kw, old, self.embedder.dimension, self.index.vectors)

    def _allowed(self, snap: Snapshot, filters: Filters, as_of: datetime) -> np.ndarray:
        """Rows the user's filters allow, from the row table (a Chroma `where` returned every allowed id,
        a cost that grew with the index): a date bound drops undated rows, outlets match case-insensitively;
        nothing published after the as-of moment (undated rows stay)."""
        table = snap.table
        allowed = np.ones(len(snap), dtype=bool)
        with np.errstate(invalid="ignore"):
            if filters.since:
                allowed &= table.ts >= float(epoch(filters.since) or 0)
            if filters.until:
                allowed &= table.ts <= float(epoch(filters.until) or 0)
            if filters.sources:
                wanted = {s.strip().lower() for s in filters.sources} | set(filters.sources)
                codes = [
                    i for i, name in enumerate(table.outlet_names) if name in wanted or name.lower() in wanted
                ]
                allowed &= np.isin(table.outlet, codes)
            return allowed & ~(table.ts > as_of.timestamp())

    def retrieve(self, question: str, k: int = 5, filters: Filters | None = None) -> list[Passage]:
        """The k best passages for a question, covering each outlet and part it names (or reranked)."""
        return self.search(question, k, filters)[0]

    def search(
        self, question: str, k: int = 5, filters: Filters | None = None
    ) -> tuple[list[Passage], list[str]]:
        """`retrieve`, with notices for the reader (a relative window that held nothing and was widened)."""
        snap = self._current()
        if snap is None:
            return [], []
        t, filters = self.tuning, filters or Filters()
        as_of = filters.as_of or datetime.now(UTC)
        query = parse_query(question, snap.parser, t, as_of)  # 1. parse
        scorer = ChunkScorer(self.embedder, snap.bm25, snap.vectors, snap.sentences, t, self.index.nearest)
        scores = scorer.score(query)  # 2. score every chunk
        fused = fuse_query(snap.table, query, scores, t)  # 3. fuse
        allowed = self._allowed(snap, filters, as_of)
        day = widen_day(snap.table, fused.base, allowed, query.hints, t.period_boost) if t.use_hints else None
        if day is not None:  # its boost moves to its month or year (or goes)
            moved = snap.table.period_mask(day.periods).astype(np.float32)
            moved -= snap.table.period_mask(query.hints.periods)
            fused = dataclasses.replace(fused, base=fused.base + t.period_boost * moved)
            query = dataclasses.replace(query, hints=dataclasses.replace(query.hints, periods=day.periods))
        window, label = time_window(snap.table, fused.base, allowed, query.hints)  # 'this week': steer
        if window is not None:
            boosted = fused.base + t.period_boost * snap.table.period_mask([window])
            fused = dataclasses.replace(fused, base=boosted)
            hints = dataclasses.replace(query.hints, periods=(*query.hints.periods, window))
            query = dataclasses.replace(query, hints=hints)
        n = k + EXTRA if self.reranker is None else max(k + EXTRA, candidate_count(k))
        rows = rank(snap.table, fused.base, fused.parts, fused.clauses, allowed, n, t)  # 4. rank
        if t.learned_pool and rows:
            c = gather(snap.table, query.hints, fused, allowed, rows, scores, t, snap.sentences)
            rows = self.ranker.order(c, query.texts, snap.terms)[:n]
        evidence = coverage(query.hints, snap.bm25.knows) if rows else 0.0
        passages = build_passages(  # 5. passages
            rows, snap.rows.ids(rows), fused.base, evidence, self.index, snap.sentences, self.story_info
        )
        if self.reranker is not None:  # reorder only; scores stay retrieval's (answer thresholds use them)
            order = self.reranker.order(question, [p.text for p in passages])
            passages = [dataclasses.replace(passages[i], rank=r) for r, i in enumerate(order, 1)]
        passages = passages[:k]
        notices = [*query.hints.date_problems, *([day.notice] if day else [])]
        notices += widened_notice(query.hints, label, passages)
        if passages:  # 6. do the passages hold what it asks about? If not, say what is missing
            gaps = unsupported(asked(query.hints.stripped or question), passages)
            gaps = [f"the outlet {o}" for o in query.hints.unknown_outlets] + gaps
            if gaps and evidence_found(passages):
                passages = [dataclasses.replace(p, evidence=EVIDENCE_UNSUPPORTED) for p in passages]
            if not evidence_found(passages):
                notices = [*notices, refusal_notice(gaps, passages)]
        return passages, notices

    def _current(self) -> Snapshot | None:
        """The rows as the store holds them now (None for an empty index)."""
        stored = self.index.recent_count()
        snap = self.refresh(stored) if stored else None
        return snap if snap is not None and len(snap) else None

    def newest(self, filters: Filters) -> datetime | None:
        """When the newest article the filters allow was published (None: none is dated)."""
        snap = self._current()
        if snap is None:
            return None
        ts = snap.table.ts[self._allowed(snap, filters, filters.as_of or datetime.now(UTC))]
        ts = ts[np.isfinite(ts)]
        return datetime.fromtimestamp(float(ts.max()), UTC) if len(ts) else None

    def headlines(self, k: int, filters: Filters) -> list[Passage]:
        """The period's top stories, for "what happened this week?": of its articles' leads (HEADLINE_POOL of
        them, evenly over the period when it holds more), each story once, the ones most outlets carried
        first, spread over outlets and time (`spread_out`)."""
        snap = self._current()
        if snap is None:
            return []
        table = snap.table
        leads = np.flatnonzero(self._allowed(snap, filters, filters.as_of or datetime.now(UTC)) & table.lead)
        newest = leads[np.argsort(-np.nan_to_num(table.ts[leads], nan=-np.inf), kind="stable")]
        stride = max(1, -(-len(newest) // HEADLINE_POOL))  # a long period: leads from all of it, evenly
        rows = [int(r) for r in newest[::stride]]
        if not rows:
            return []
        scores = np.zeros(len(table.ts), dtype=np.float32)
        passages = build_passages(
            rows, snap.rows.ids(rows), scores, EVIDENCE_COVERED, self.index, snap.sentences, self.story_info
        )
        return [  # scored by how many outlets carried the story: the source cards' relevance is its share
            dataclasses.replace(p, rank=r, score=float(1 + len(p.also_reported_by)))
            for r, p in enumerate(spread_out(passages, k), 1)
        ]

    def hints(self, question: str, as_of: datetime | None = None) -> Hints:
        """What the question says about outlets and dates, read against the outlets the index holds."""
        return self.refresh().parser.parse(question, as_of or datetime.now(UTC))

    def story_info(self, article_ids: Sequence[str]) -> dict[str, StoryInfo]:
        """`NewsIndex.story_info` answered from the rows in memory (the store is asked when an article's
        story is not known there: its Chroma query costs ~28 ms at 11k chunks)."""
        known = self.snapshot.stories.info(article_ids)
        return self.index.story_info(article_ids) if known is None else known
