"""Retrieval: question (+ filters) -> ranked Passages from the index."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from assistant.articles import epoch
from assistant.embedder import Embedder
from assistant.index import NewsIndex
from assistant.stories import collapse_stories


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

    @classmethod
    def from_chroma(
        cls, chunk_id: str, text: str, meta: Mapping[str, Any], score: float, rank: int
    ) -> Passage:
        """Build from a Chroma row."""

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
    """Dense retrieval over the Chroma collection."""

    def __init__(self, index: NewsIndex, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder

    def outlets(self) -> list[str]:
        """Outlet names in the index."""
        return sorted(self.index.stats().outlets)

    def retrieve(self, question: str, k: int = 5, filters: Filters | None = None) -> list[Passage]:
        """The k passages most similar to the question, at most two per article."""
        if self.index.count() == 0:
            return []
        filters = filters or Filters()
        where = filters.where(self.outlets() if filters.sources else ())
        vector = self.embedder.embed_one(question)
        got = self.index.collection.query(
            query_embeddings=[vector.tolist()],
            n_results=min(max(k * 4, 20), self.index.count()),
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        passages: list[Passage] = []
        per_article: dict[str, int] = {}
        rows = zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0], strict=True)
        for chunk_id, text, meta, distance in rows:
            aid = str(meta.get("article_id"))
            if per_article.get(aid, 0) >= 2:
                continue
            per_article[aid] = per_article.get(aid, 0) + 1
            score = 1.0 - float(distance)
            passages.append(Passage.from_chroma(chunk_id, text or "", meta, score, len(passages) + 1))
        return collapse_stories(passages, self.index.story_info)[:k]  # each wire story once
