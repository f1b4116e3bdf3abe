"""The Chroma store: upsert articles as embedded chunks, remove them, and report what is there."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import chromadb
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.config import Settings as ChromaSettings
from llama_index.core.schema import BaseNode, MetadataMode, TextNode
from llama_index.vector_stores.chroma import ChromaVectorStore

from assistant.articles import Article, article_id, canonical_url
from assistant.chunking import Chunker, embed_texts
from assistant.embedder import Embedder
from assistant.errors import IndexUnavailableError, InputError, NotFoundError
from assistant.keyword import KeywordIndex, keyword_folder
from assistant.sentences import METADATA_KEY, pack, place_sentences
from assistant.settings import Settings
from assistant.stories import StoryInfo, assign_stories, story_info

BATCH_CHUNKS = 256  # chunks embedded and written together; each article is written whole in one call


class NewsqaEmbeddingFunction(EmbeddingFunction[Documents]):
    """Our embedder, handed to Chroma so it never falls back to its own downloading default."""

    def __init__(self, embedder: Callable[[], Embedder]) -> None:
        self.embedder = embedder  # loaded only when Chroma actually needs to embed

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.embedder().embed(list(input)))

    @staticmethod
    def name() -> str:
        return "newsqa-sentence-transformers"

    def get_config(self) -> dict[str, Any]:
        return {"model": "newsqa"}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> NewsqaEmbeddingFunction:
        raise NotImplementedError("newsqa passes its embedder explicitly")


def open_client(settings: Settings) -> Any:
    """A Chroma client: a local PersistentClient in settings.index, or a server at settings.chroma_url."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        parts = urlsplit(settings.chroma_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise IndexUnavailableError(
                f"--chroma-url {settings.chroma_url!r} must look like http://host:port"
            )
        try:
            return chromadb.HttpClient(
                host=parts.hostname,
                port=parts.port or (443 if parts.scheme == "https" else 8000),
                ssl=parts.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as exc:  # chromadb raises bare Exceptions/ValueErrors for connection problems
            raise IndexUnavailableError(
                f"Cannot reach the Chroma server at {settings.chroma_url}: {exc}. Start one with "
                "`chroma run --path DIR --port PORT`, or drop --chroma-url to use the local index."
            ) from None
    Path(settings.index).mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.index), settings=chroma_settings)


@dataclass
class IngestReport:
    """What an ingest did: counts per outcome and each failure with its reason."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: list[InputError] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for people."""
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.failed)} failed ({self.chunks} chunks in {self.seconds:.1f}s)"
        )


@dataclass(frozen=True)
class IndexStats:
    """What the index holds."""

    articles: int
    chunks: int
    outlets: dict[str, int]
    earliest: str | None
    latest: str | None
    undated: int
    size_bytes: int | None
    location: str


ProgressFn = Callable[[int, int], None]  # (articles done, chunks written) since the last call


class NewsIndex:
    """Articles as chunks in one Chroma collection, with their metadata for filters and display."""

    def __init__(self, settings: Settings, embedder: Callable[[], Embedder]) -> None:
        self.settings = settings
        self._get_embedder = embedder
        self.client = open_client(settings)
        try:
            self.collection = self.client.get_or_create_collection(
                settings.collection,
                embedding_function=NewsqaEmbeddingFunction(embedder),
                metadata={"hnsw:space": "cosine"},
            )
        except Exception as exc:  # chromadb reports server and store problems as plain exceptions
            raise IndexUnavailableError(
                f"Cannot open the Chroma collection {settings.collection!r}: {exc}"
            ) from None
        self.vector_store = ChromaVectorStore(chroma_collection=self.collection)
        self._replaces: dict[str, list[str]] = {}  # new article id -> ids of the versions it replaces

    @property
    def embedder(self) -> Embedder:
        """The embedding model (loaded on first use, so stats and remove never load it)."""
        return self._get_embedder()

    @cached_property
    def chunker(self) -> Chunker:
        """Splits articles in the embedder's own word pieces."""
        return Chunker(self.embedder.tokenize, self.settings.chunk_size, self.settings.chunk_overlap)

    @cached_property
    def keywords(self) -> KeywordIndex:
        """The BM25 index beside the store: loaded from disk, backfilled from Chroma when out of step."""
        keywords = KeywordIndex(keyword_folder(self.settings))
        keywords.load()
        if len(keywords) != self.count():
            keywords.sync(self.collection)  # reads only the chunks it lacks; never re-embeds
        return keywords

    # -- writing -------------------------------------------------------------------------------

    def ingest(
        self, items: Iterable[Article | InputError], progress: ProgressFn | None = None, reembed: bool = False
    ) -> IngestReport:
        """Add new articles, replace changed ones, skip unchanged ones (or, with `reembed`, write them again,
        which adds sentence vectors to an older index); report every failure."""
        report = IngestReport()
        started = time.perf_counter()
        keywords = self.keywords  # loaded (and backfilled if behind) before anything is written
        seen: set[str] = set()
        pending: list[Article] = []
        written = 0
        for item in items:
            if isinstance(item, InputError):
                report.failed.append(item)
                if progress:
                    progress(1, 0)
                continue
            if item.id in seen:  # the same article from two files in one run
                report.unchanged += 1
                if progress:
                    progress(1, 0)
                continue
            seen.add(item.id)
            pending.append(item)
            if len(pending) >= 16:
                written += self._flush(pending, report, progress, reembed)
                pending = []
        written += self._flush(pending, report, progress, reembed)
        if keywords.dirty:
            keywords.save()
        report.chunks = written
        report.seconds = time.perf_counter() - started
        return report

    def _flush(
        self, batch: list[Article], report: IngestReport, progress: ProgressFn | None, reembed: bool
    ) -> int:
        if not batch:
            return 0
        existing = self._article_states([a.id for a in batch])
        todo: list[Article] = []
        for article in batch:
            state = existing.get(article.id)
            if state == (article.content_hash, True) and not reembed:
                report.unchanged += 1
                if progress:
                    progress(1, 0)
            else:
                todo.append(article)
        existing.update(self._superseded(todo))
        written = 0
        group: list[tuple[Article, list[TextNode]]] = []
        for article in todo:
            group.append((article, self.chunker.chunk(article)))
            if sum(len(nodes) for _, nodes in group) >= BATCH_CHUNKS:
                written += self._write(group, existing, report, progress)
                group = []
        written += self._write(group, existing, report, progress)
        return written

    def _write(
        self,
        group: list[tuple[Article, list[TextNode]]],
        existing: dict[str, tuple[str, bool]],
        report: IngestReport,
        progress: ProgressFn | None,
    ) -> int:
        if not group:
            return 0
        nodes = [node for _, article_nodes in group for node in article_nodes]
        texts = embed_texts(nodes)
        placed = [
            place_sentences(t, n.get_content(MetadataMode.NONE)) for t, n in zip(texts, nodes, strict=True)
        ]
        vectors, pooled = self.embedder.embed_with_spans(texts, [[[s] for s in spans] for _, spans in placed])
        blobs: dict[str, str | None] = {}
        for node, vector, (offset, spans), sentence_vectors in zip(
            nodes, vectors, placed, pooled, strict=True
        ):
            node.embedding = vector.tolist()
            blobs[node.node_id] = pack([(s - offset, e - offset) for s, e in spans], sentence_vectors)
        assign_stories(self.collection, group)  # wire copies share a story_id (assistant/stories.py)
        stale = [a.id for a, _ in group if a.id in existing]
        stale += [old for a, _ in group for old in self._replaces.get(a.id, ())]
        if stale:  # a changed article: drop all its old chunks first, then write the new ones whole
            self.collection.delete(where={"article_id": {"$in": stale}})
        self.vector_store.add(list[BaseNode](nodes))
        self.keywords.remove_articles(stale)  # the keyword index follows the store (saved after ingest)
        self.keywords.add(  # sentence vectors live beside BM25, not in Chroma's metadata (its size x2)
            (n.node_id, n.get_content(MetadataMode.NONE), {**n.metadata, METADATA_KEY: blobs[n.node_id]})
            for n in nodes
        )
        for article, _ in group:
            if article.id in existing:
                report.updated += 1
            else:
                report.added += 1
        if progress:
            progress(len(group), len(nodes))
        return len(nodes)

    def _superseded(self, articles: Sequence[Article]) -> dict[str, tuple[str, bool]]:
        """Url-less articles whose file now holds a new version: mark them as updates of the old one."""
        found: dict[str, tuple[str, bool]] = {}
        for article in articles:
            if article.url or not article.origin or not Path(article.origin).is_file():
                continue  # only a single-article file identifies "the same article" without a url
            got = self.collection.get(
                where={"$and": [{"origin": article.origin[:500]}, {"chunk_index": 0}]}, include=["metadatas"]
            )
            old = [str(m["article_id"]) for m in got["metadatas"] or [] if not m.get("url")]
            old = [aid for aid in old if aid != article.id]
            if old:
                self._replaces[article.id] = old
                found[article.id] = ("", False)
        return found

    def _article_states(self, ids: Sequence[str]) -> dict[str, tuple[str, bool]]:
        """For each stored article: (content hash, whether all its chunks are there)."""
        if not ids:
            return {}
        got = self.collection.get(where={"article_id": {"$in": list(ids)}}, include=["metadatas"])
        hashes: dict[str, set[str]] = {}
        counts: Counter[str] = Counter()
        expected: dict[str, int] = {}
        for meta in got["metadatas"] or []:
            aid = str(meta["article_id"])
            hashes.setdefault(aid, set()).add(str(meta.get("content_hash")))
            counts[aid] += 1
            expected[aid] = int(str(meta.get("n_chunks") or 0))
        return {
            aid: (next(iter(h)) if len(h) == 1 else "", counts[aid] == expected[aid])
            for aid, h in hashes.items()
        }

    def remove(self, key: str) -> int:
        """Remove one article by id or url; returns how many chunks went."""
        candidates = {key}
        if canonical_url(key):
            candidates.add(article_id(key, "", ""))
        got = self.collection.get(
            where={"$or": [{"article_id": {"$in": sorted(candidates)}}, {"url": key}]}, include=[]
        )
        ids = got["ids"]
        if not ids:
            raise NotFoundError(
                f"No article with id or url {key!r} is indexed. `newsqa stats` lists outlets; "
                "`newsqa ask --json` shows article ids."
            )
        self.collection.delete(ids=ids)
        self.keywords.remove_ids(ids)
        self.keywords.save()
        return len(ids)

    # -- reading -------------------------------------------------------------------------------

    def story_info(self, article_ids: Sequence[str]) -> dict[str, StoryInfo]:
        """For each article id: its story id and every outlet that carried that story."""
        return story_info(self.collection, article_ids)

    def count(self) -> int:
        """Number of chunks stored."""
        return int(self.collection.count())

    def article_rows(self) -> list[dict[str, Any]]:
        """Metadata of every article (its first chunk)."""
        got = self.collection.get(where={"chunk_index": 0}, include=["metadatas"])
        return [dict(m) for m in got["metadatas"] or []]

    def stats(self) -> IndexStats:
        """Articles, chunks, outlets, date range and size on disk."""
        rows = self.article_rows()
        dated = sorted(str(r["published_at"]) for r in rows if r.get("published_at"))
        outlets = Counter(str(r.get("source") or "unknown") for r in rows)
        size = None
        if not self.settings.chroma_url:
            size = sum(p.stat().st_size for p in Path(self.settings.index).rglob("*") if p.is_file())
        return IndexStats(
            articles=len(rows),
            chunks=self.count(),
            outlets=dict(outlets.most_common()),
            earliest=dated[0] if dated else None,
            latest=dated[-1] if dated else None,
            undated=len(rows) - len(dated),
            size_bytes=size,
            location=self.settings.chroma_url or str(self.settings.index),
        )
