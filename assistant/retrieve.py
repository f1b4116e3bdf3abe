"""Retrieval: question (+ filters) -> ranked Passages from the index."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from assistant.articles import epoch
from assistant.embedder import Embedder
from assistant.hints import HintParser, Hints
from assistant.hybrid import Table, Tuning, clauses, fuse, hint_bonus, rank, topic, word_ranges
from assistant.index import NewsIndex
from assistant.keyword import KeywordIndex, tokenize
from assistant.ranker import gather, learned_order
from assistant.rerank import Reranker, candidate_count
from assistant.sentences import SentenceTable, unpack
from assistant.stories import StoryInfo, collapse_stories, group_stories
from assistant.terms import SentenceTerms

EXTRA = 8  # rows ranked beyond k, so collapsing wire copies still leaves k passages


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk with its article's fields, its score and its rank (1-based)."""

    chunk_id: str
    article_id: str
    title: str
    text: str
    source: str | None = None
    published_at: str | None = None
    url: str | None = None
    author: str | None = None
    category: str | None = None
    score: float = 0.0
    rank: int = 0
    story_id: str | None = None  # wire copies of one story share it (assistant/stories.py)
    also_reported_by: tuple[str, ...] = ()  # the other outlets that carried this story
    evidence: float = 1.0  # 0..1: retrieval judges the question covered (same on all; 1 = not judged)
    sentence_blob: str | None = field(default=None, repr=False, compare=False)  # assistant/sentences.py

    def sentence_vectors(self) -> dict[str, np.ndarray]:
        """Vectors of this passage's sentences computed at ingest ({} for chunks stored without them)."""
        return unpack(self.sentence_blob, self.text)

    @classmethod
    def from_chroma(
        cls,
        chunk_id: str,
        text: str,
        meta: Mapping[str, Any],
        score: float,
        rank: int,
        sentences: str | None = None,
    ) -> Passage:
        """Build from a Chroma row (and the sentence vectors kept beside it)."""

        def opt(key: str) -> str | None:
            value = meta.get(key)
            return str(value) if value not in (None, "") else None

        return cls(
            chunk_id=chunk_id,
            article_id=str(meta.get("article_id", "")),
            title=str(meta.get("title", "")),
            text=text,
            source=opt("source"),
            published_at=opt("published_at"),
            url=opt("url"),
            author=opt("author"),
            category=opt("category"),
            score=score,
            rank=rank,
            sentence_blob=sentences,
        )


@dataclass(frozen=True)
class Filters:
    """Restrictions a user puts on retrieval."""

    since: datetime | None = None
    until: datetime | None = None
    sources: tuple[str, ...] = field(default_factory=tuple)

    def where(self, known_sources: Iterable[str] = ()) -> dict[str, Any] | None:
        """A Chroma `where` clause (dates compare as epoch seconds; outlets match case-insensitively)."""
        clauses: list[dict[str, Any]] = []
        if self.since:
            clauses.append({"published_ts": {"$gte": epoch(self.since)}})
        if self.until:
            clauses.append({"published_ts": {"$lte": epoch(self.until)}})
        if self.sources:
            wanted = {s.strip().lower() for s in self.sources}
            names = sorted({s for s in known_sources if s.lower() in wanted} | set(self.sources))
            clauses.append({"source": {"$in": names}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class Retriever:
    """Hybrid retrieval: BM25 + dense over every chunk, steered by the question's hints, diversified."""

    def __init__(
        self,
        index: NewsIndex,
        embedder: Embedder,
        tuning: Tuning | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.tuning = tuning or Tuning()
        self.reranker = reranker  # optional CrossEncoder that reorders the candidates (settings.reranker)
        self.keywords: KeywordIndex = index.keywords
        self._stamp = ""
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._vector_ids: list[str] = []
        self._chunks: dict[str, tuple[str, Mapping[str, Any]]] = {}  # id -> (text, metadata), as stored
        self._firsts: dict[str, Mapping[str, Any]] = {}  # article id -> its first chunk's metadata
        self._table = Table(np.zeros(0, int), [], np.zeros(0), np.zeros(0, int), np.zeros(0, bool))
        self._parser = HintParser(())
        self._sentences = SentenceTable([])
        self._terms = SentenceTerms([], str)

    def outlets(self) -> list[str]:
        """Outlet names in the index."""
        return sorted(self.index.stats().outlets)

    def refresh(self, stored: int | None = None) -> None:
        """Bring the keyword index, the chunk table and the vectors in step with the store (`stored`:
        its chunk count, when the caller just asked Chroma)."""
        kw = self.keywords
        if kw.stamp != kw.disk_stamp():
            kw.load()
        if len(kw) != (self.index.count() if stored is None else stored):
            kw.sync(self.index.collection)
        if self._stamp == kw.stamp:
            return
        rows = kw.rows
        outlets = sorted({r.source for r in rows})
        code = {name: i for i, name in enumerate(outlets)}
        articles: dict[str, int] = {}
        self._table = Table(
            outlet=np.array([code[r.source] for r in rows], dtype=int),
            outlet_names=outlets,
            ts=np.array([np.nan if r.ts is None else float(r.ts) for r in rows]),
            article=np.array([articles.setdefault(r.article_id, len(articles)) for r in rows], dtype=int),
            lead=np.array([r.chunk_index == 0 for r in rows], dtype=bool),
        )
        self._load_chunks([r.id for r in rows])
        dated = self._table.ts[np.isfinite(self._table.ts)]
        newest = datetime.fromtimestamp(float(dated.max()), UTC) if dated.size else None
        self._parser = HintParser([o for o in outlets if o], now=newest)  # 'in May': the last May we hold
        self._stamp = kw.stamp

    def _load_chunks(self, ids: Sequence[str]) -> None:
        """Every chunk's embedding (row order), text and metadata, kept in memory: exact search over a
        news-sized store, and passages without asking Chroma. Chunk ids name their content (the
        article's hash), so rows already held never go stale; only new ids are read."""
        known = {cid: i for i, cid in enumerate(self._vector_ids)}
        old, held = self._vectors, self._chunks
        out = np.zeros((len(ids), self.embedder.dimension), dtype=np.float32)
        chunks: dict[str, tuple[str, Mapping[str, Any]]] = {}
        missing = [i for i, cid in enumerate(ids) if cid not in known or cid not in held]
        for i, cid in enumerate(ids):
            if cid in known and cid in held:
                out[i], chunks[cid] = old[known[cid]], held[cid]
        for start in range(0, len(missing), 2000):
            batch = [ids[i] for i in missing[start : start + 2000]]
            got = self.index.collection.get(ids=batch, include=["embeddings", "documents", "metadatas"])
            position = {cid: n for n, cid in enumerate(got["ids"])}
            vectors, docs, metas = got["embeddings"], got["documents"] or [], got["metadatas"] or []
            for i, cid in zip(missing[start : start + 2000], batch, strict=True):
                if cid in position:
                    n = position[cid]
                    out[i] = np.asarray(vectors[n], dtype=np.float32)
                    chunks[cid] = (docs[n] or "", metas[n])
        self._vectors, self._vector_ids, self._chunks = out, list(ids), chunks
        self._firsts = {
            str(m.get("article_id", "")): m for _, m in chunks.values() if m.get("chunk_index") == 0
        }
        self._sentences = SentenceTable([r.sentences for r in self.keywords.rows])
        rows = self.keywords.rows
        self._terms = SentenceTerms(
            self.keywords.tokens,
            lambda i: self._chunks.get(rows[i].id, ("", {}))[0],
            lambda i: rows[i].term_counts,
        )

    def _allowed(self, filters: Filters) -> np.ndarray:
        """Rows the user's filters allow (Chroma's `where` on the epoch and outlet fields decides)."""
        n = len(self.keywords)
        where = filters.where(self._table.outlet_names if filters.sources else ())
        if where is None:
            return np.ones(n, dtype=bool)
        ids = set(self.index.collection.get(where=where, include=[])["ids"])
        return np.array([r.id in ids for r in self.keywords.rows], dtype=bool)

    def retrieve(self, question: str, k: int = 5, filters: Filters | None = None) -> list[Passage]:
        """The k best passages for a question, covering each outlet and part it names (or reranked)."""
        stored = self.index.count()
        if stored == 0:
            return []
        self.refresh(stored)
        if not len(self.keywords):
            return []
        t, table = self.tuning, self._table
        hints = self._parser.parse(question)
        main = (topic(hints.stripped) or question) if t.use_hints else question
        parts = [p for p in hints.parts if t.use_parts]
        pieces = [c for c in clauses(hints.stripped) if len(tokenize(c)) >= t.clause_min_terms]
        pieces = [topic(c) for c in pieces] if t.use_clauses and len(pieces) > 1 else []
        texts = [main, *(topic(p.text) for p in parts), *pieces]
        embedded = texts if t.dense_pieces else texts[:1]
        vectors = self._dense_queries(embedded) if t.dense_weight else None
        dense = None if vectors is None else self._dense(vectors)
        keyword = [self.keywords.scores(x) for x in texts]
        scored = [
            fuse(kw, None if dense is None or i >= dense.shape[1] else dense[:, i], t)
            for i, kw in enumerate(keyword)
        ]
        base = scored[0] + hint_bonus(table, hints, t)
        part_scores = [
            (
                table.outlet_mask(p.outlets),
                t.part_text_weight * s + t.part_period_boost * table.period_mask(p.periods),
            )
            for p, s in zip(parts, scored[1 : 1 + len(parts)], strict=True)
        ]
        allowed = self._allowed(filters or Filters())
        n = k + EXTRA if self.reranker is None else max(k + EXTRA, candidate_count(k))
        rows = rank(table, base, part_scores, scored[1 + len(parts) :], allowed, n, t)
        if t.learned_pool and rows:
            c = gather(
                table,
                hints,
                base,
                allowed,
                rows,
                keyword,
                dense,
                part_scores,
                t.learned_pool,
                t.dense_floor,
                self._sentences,
                vectors,
            )
            rows = learned_order(c, texts, self._terms)[:n]
        evidence = self.evidence(hints) if rows else 0.0
        passages = self._passages(rows, base, evidence)
        if self.reranker is not None:  # reorder only; scores stay retrieval's (answer thresholds use them)
            order = self.reranker.order(question, [p.text for p in passages])
            passages = [dataclasses.replace(passages[i], rank=r) for r, i in enumerate(order, 1)]
        return passages[:k]

    def _dense(self, queries: np.ndarray) -> np.ndarray:
        """Cosine of every chunk with each query, blended (`Tuning.sentence_weight`) with the chunk's best
        sentence for the closest chunks: a fact is usually one sentence of a longer chunk."""
        chunk = self._vectors @ queries.T
        t = self.tuning
        if not t.sentence_weight or not len(self._sentences):
            return chunk
        return self._sentences.blend(chunk, queries, t.sentence_weight, t.sentence_candidates)

    def _dense_queries(self, texts: Sequence[str]) -> np.ndarray:
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

    def evidence(self, hints: Hints) -> float:
        """How sure we are that the index covers the question (0..1), from what the question names."""
        if hints.unknown_outlets:
            return 0.1  # it asks what an outlet we do not hold reported
        missing = [t for w in hints.names() for t in tokenize(w) if not self.keywords.knows(t)]
        return 0.2 if missing else 0.9  # it names people or things no indexed article mentions

    def _passages(self, rows: Sequence[int], base: np.ndarray, evidence: float) -> list[Passage]:
        ids = [self.keywords.rows[r].id for r in rows]
        found = {cid: self._chunks[cid] for cid in ids if cid in self._chunks}
        missing = [cid for cid in ids if cid not in found]
        if missing:  # not in memory (the store changed since the last refresh): ask Chroma
            got = self.index.collection.get(ids=missing, include=["documents", "metadatas"])
            docs, metas = got["documents"] or [], got["metadatas"] or []
            found.update((cid, (d or "", m)) for cid, d, m in zip(got["ids"], docs, metas, strict=True))
        passages: list[Passage] = []
        for row, cid in zip(rows, ids, strict=True):
            if cid in found:
                text, meta = found[cid]
                sentences = self.keywords.rows[row].sentences
                passages.append(
                    Passage.from_chroma(cid, text, meta, float(base[row]), len(passages) + 1, sentences)
                )
        collapsed = collapse_stories(passages, self.story_info)  # each wire story once
        return [dataclasses.replace(p, evidence=evidence) for p in collapsed]

    def story_info(self, article_ids: Sequence[str]) -> dict[str, StoryInfo]:
        """`NewsIndex.story_info` answered from memory (Chroma is asked for articles not held)."""
        if any(aid not in self._firsts for aid in article_ids):
            return self.index.story_info(article_ids)
        return group_stories({aid: self._firsts[aid] for aid in article_ids}, self._firsts.values())


def evidence_found(passages: Sequence[Passage], threshold: float = 0.5) -> bool:
    """Whether retrieval judged that the passages hold evidence for the question."""
    return bool(passages) and passages[0].evidence >= threshold
