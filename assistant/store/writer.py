"""Writing articles into the store: chunk, embed (with sentence vectors), group wire copies, journal the
keyword rows, then write Chroma, one locked batch at a time (see NewsIndex.writing)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from llama_index.core.schema import BaseNode, MetadataMode, TextNode

from assistant.embedding import Embedder
from assistant.errors import InputError
from assistant.ingest.chunking import Chunker, embed_texts
from assistant.settings import Settings
from assistant.store.chunks import ChunkStore
from assistant.store.keywords import KeywordIndex
from assistant.store.rows import VECTOR_KEY, vector_text
from assistant.store.sentences import METADATA_KEY, pack, place_sentences
from assistant.store.stories import assign_stories
from assistant.store.wire import Entry, WireTable, wire_path
from assistant.types import Article, IngestReport, ProgressFn, ReadResult


class WritableIndex(Protocol):
    """What the writer needs of the store (store/chroma.py's NewsIndex)."""

    settings: Settings
    store: ChunkStore
    chunks_per_second: float

    @property
    def keywords(self) -> KeywordIndex: ...

    @property
    def chunker(self) -> Chunker: ...

    @property
    def embedder(self) -> Embedder: ...

    def writing(self, save: bool = True) -> AbstractContextManager[None]: ...


BATCH_CHUNKS = 256  # chunks embedded and written together; each article is written whole in one call
FLUSH_ARTICLES = 16  # articles checked, chunked and written per locked batch


class IndexWriter:
    """One ingest run into a NewsIndex."""

    def __init__(self, index: WritableIndex) -> None:
        self.index = index
        self.replaces: dict[str, list[str]] = {}  # new article id -> ids of the versions it replaces

    def ingest(
        self, items: Iterable[ReadResult], progress: ProgressFn | None = None, reembed: bool = False
    ) -> IngestReport:
        """Add new articles, replace changed ones, skip unchanged ones (or, with `reembed`, write them again,
        which adds sentence vectors to an older index); report every failure."""
        report = IngestReport()
        started = time.perf_counter()
        seen: set[str] = set()
        pending: list[Article] = []
        written = 0
        for item in items:
            if not isinstance(item, Article):
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
            if len(pending) >= FLUSH_ARTICLES:
                written += self._flush(pending, report, progress, reembed)
                pending = []
        written += self._flush(pending, report, progress, reembed)
        with self.index.writing():  # fold this run's journal into a saved keyword index
            pass
        report.chunks = written
        report.seconds = time.perf_counter() - started
        return report

    def _flush(
        self, batch: list[Article], report: IngestReport, progress: ProgressFn | None, reembed: bool
    ) -> int:
        if not batch:
            return 0
        with self.index.writing(save=False):  # one batch at a time: other writers may go between batches
            return self._flush_locked(batch, report, progress, reembed)

    def _flush_locked(
        self, batch: list[Article], report: IngestReport, progress: ProgressFn | None, reembed: bool
    ) -> int:
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
            started = time.perf_counter()
            nodes = self.index.chunker.chunk(article)
            problem = self._over_budget(len(nodes), time.perf_counter() - started)
            if problem:  # refused before the model spends the time on it
                report.failed.append(InputError(article.origin or article.title, problem))
                if progress:
                    progress(1, 0)
                continue
            group.append((article, nodes))
            if sum(len(nodes) for _, nodes in group) >= BATCH_CHUNKS:
                written += self._write(group, existing, report, progress)
                group = []
        written += self._write(group, existing, report, progress)
        return written

    def _over_budget(self, chunks: int, chunking: float) -> str | None:
        """Why one article would take longer than `max_article_seconds` to index (None when it fits):
        its chunking time so far plus its chunks at the model speed measured in this run."""
        budget = self.index.settings.max_article_seconds
        expected = chunking + chunks / self.index.chunks_per_second
        if expected <= budget:
            return None
        return (
            f"the article would take about {expected:.0f} s to index ({chunks} chunks), over the budget of "
            f"{budget:g} s per article (setting max_article_seconds): split it, or raise the budget"
        )

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
        started = time.perf_counter()
        vectors, pooled = self.index.embedder.embed_with_spans(
            texts, [[[s] for s in spans] for _, spans in placed]
        )
        if len(texts) >= 8:  # the model's speed in this run, for the per-article budget
            self.index.chunks_per_second = len(texts) / max(time.perf_counter() - started, 1e-3)
        blobs: dict[str, str | None] = {}
        for node, vector, (offset, spans), sentence_vectors in zip(
            nodes, vectors, placed, pooled, strict=True
        ):
            node.embedding = vector.tolist()
            blobs[node.node_id] = pack([(s - offset, e - offset) for s, e in spans], sentence_vectors)
        with WireTable(wire_path(self.index.settings)) as wire:  # store/wire.py: one connection per batch
            wire.catch_up(self.index.store)  # an index older than the table: filled in once
            assign_stories(self.index.store, group, wire)  # copies share a story_id (stories.py)
            stale = [a.id for a, _ in group if a.id in existing]
            stale += [old for a, _ in group for old in self.replaces.get(a.id, ())]
            # The keyword journal first, durable, then Chroma: killed between the two, the next load drops
            # journal rows Chroma lacks; killed after, the rows (with their sentence vectors) are all there.
            if stale:
                self.index.keywords.log("remove_articles", stale)
            # sentence vectors live beside BM25, not in Chroma's metadata (its size x2)
            self.index.keywords.log(
                "add",
                [
                    [
                        n.node_id,
                        n.get_content(MetadataMode.NONE),
                        {**n.metadata, METADATA_KEY: blobs[n.node_id], VECTOR_KEY: vector_text(vector)},
                    ]
                    for n, vector in zip(nodes, vectors, strict=True)
                ],
            )
            if stale:  # a changed article: drop all its old chunks first, then write the new ones whole
                self.index.store.delete_articles(stale)
            # The wire table after Chroma dropped the old versions and before it gets the new ones: killed at
            # any point, the table holds every article Chroma holds (lookups skip the others, catch_up drops
            # them).
            entries = [
                Entry(
                    a.id,
                    [n.node_id for n in ns],
                    [n.get_content(MetadataMode.NONE) for n in ns],
                    ns[0].embedding,
                )
                for a, ns in group
                if ns
            ]
            wire.write(entries, remove=stale)
        self.index.store.add(list[BaseNode](nodes))
        for article, _ in group:
            if article.id in existing:
                report.updated += 1
            else:
                report.added += 1
            if not article.source:
                report.no_outlet.append(article.title[:80])
            if article.published_at is None:
                report.undated.append(article.title[:80])
        if progress:
            progress(len(group), len(nodes))
        return len(nodes)

    def _superseded(self, articles: Sequence[Article]) -> dict[str, tuple[str, bool]]:
        """Url-less articles whose file now holds a new version: mark them as updates of the old one."""
        found: dict[str, tuple[str, bool]] = {}
        for article in articles:
            if article.url or not article.origin or not Path(article.origin).is_file():
                continue  # only a single-article file identifies "the same article" without a url
            firsts = self.index.store.firsts_from_origin(article.origin)
            old = [str(m["article_id"]) for m in firsts if not m.get("url")]
            old = [aid for aid in old if aid != article.id]
            if old:
                self.replaces[article.id] = old
                found[article.id] = ("", False)
        return found

    def _article_states(self, ids: Sequence[str]) -> dict[str, tuple[str, bool]]:
        """For each stored article: (content hash, whether all its chunks are there)."""
        if not ids:
            return {}
        hashes: dict[str, set[str]] = {}
        counts: Counter[str] = Counter()
        expected: dict[str, int] = {}
        for meta in self.index.store.of_articles(ids):
            aid = str(meta["article_id"])
            hashes.setdefault(aid, set()).add(str(meta.get("content_hash")))
            counts[aid] += 1
            expected[aid] = int(str(meta.get("n_chunks") or 0))
        return {
            aid: (next(iter(h)) if len(h) == 1 else "", counts[aid] == expected[aid])
            for aid, h in hashes.items()
        }
