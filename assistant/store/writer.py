"""Writing articles into the store: chunk, embed (with sentence vectors), group wire copies, journal the
keyword rows, then write Chroma, one locked batch at a time (see NewsIndex.writing)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, closing
from typing import NamedTuple, Protocol

import numpy as np
from llama_index.core.schema import BaseNode, MetadataMode, TextNode

from assistant.embedding import Embedder
from assistant.errors import InputError
from assistant.ingest.chunking import Chunker, embed_texts
from assistant.settings import Settings
from assistant.store.chunks import ChunkStore
from assistant.store.keywords import KeywordIndex
from assistant.store.known import article_states, superseded
from assistant.store.prefetch import Chunked, chunked
from assistant.store.rows import VECTOR_KEY, vector_text
from assistant.store.sentences import METADATA_KEY, pack, place_sentences
from assistant.store.stories import assign_stories
from assistant.store.wire import Entry, WireTable, origin_key, peek_stored, wire_path
from assistant.store.wiresync import catch_up
from assistant.types import Article, IngestReport, ProgressFn, ReadResult


class WritableIndex(Protocol):
    """What the writer needs of the store (store/chroma.py's NewsIndex)."""

    settings: Settings
    store: ChunkStore
    chunks_per_second: float
    outside_writes: int

    @property
    def keywords(self) -> KeywordIndex: ...

    @property
    def chunker(self) -> Chunker: ...

    @property
    def embedder(self) -> Embedder: ...

    def writing(self, save: bool = True) -> AbstractContextManager[None]: ...


BATCH_CHUNKS = 256  # chunks embedded and written together; each article is written whole in one call
FLUSH_ARTICLES = 16  # articles checked and written per locked batch

Piece = tuple[Article, list[TextNode]]  # an article and its chunks


class Batch(NamedTuple):
    """Articles decided on before the write lock: to write (their embedding under way), and unchanged."""

    todo: list[Piece]
    skipped: list[Piece]
    embedded: Future[dict[str, tuple[np.ndarray, str | None]]]
    states: dict[str, tuple[str, bool]]  # what the store held of them when checked
    outside: int  # the index's count of other processes' writes seen by then


class IndexWriter:
    """One ingest run into a NewsIndex."""

    def __init__(self, index: WritableIndex) -> None:
        self.index = index
        self.replaces: dict[str, list[str]] = {}  # new article id -> ids of the versions it replaces
        self._wire: WireTable | None = None

    def ingest(
        self, items: Iterable[ReadResult], progress: ProgressFn | None = None, reembed: bool = False
    ) -> IngestReport:
        """Add new articles, replace changed ones, skip unchanged ones (or, with `reembed`, write them again,
        which adds sentence vectors to an older index); report every failure.

        A pipeline of three threads: one reads and chunks ahead (store/prefetch.py), the model embeds batch
        k+1 while this one writes batch k under the write lock. Which articles to embed is decided from the
        store before the lock and checked again under it, so an article another writer stored meanwhile is
        not written twice."""
        report = IngestReport()
        started = time.perf_counter()
        seen: set[str] = set()
        pending: list[Chunked] = []
        written = 0
        index = self.index  # the chunker (and the model) load on the first article: nothing read, none loaded
        with (
            ThreadPoolExecutor(1, "newsqa-model") as model,
            closing(chunked(items, lambda a: index.chunker.chunk(a))) as stream,
            closing(self),  # the wire table's connection, kept across batches
        ):
            previous: Batch | None = None
            for entry in stream:
                item = entry.item
                if not isinstance(item, Article) or item.id in seen:  # a failure, or one read twice in a run
                    if isinstance(item, Article):
                        report.unchanged += 1
                    else:
                        report.failed.append(item)
                    if progress:
                        progress(1, 0)
                    continue
                seen.add(item.id)
                pending.append(entry)
                if len(pending) >= FLUSH_ARTICLES:
                    batch = self._prepare(pending, report, progress, reembed, model)
                    written += self._commit(previous, report, progress, reembed)
                    previous, pending = batch, []
            batch = self._prepare(pending, report, progress, reembed, model)
            written += self._commit(previous, report, progress, reembed)
            written += self._commit(batch, report, progress, reembed)
        with self.index.writing():  # fold this run's journal into a saved keyword index
            pass
        report.chunks = written
        report.seconds = time.perf_counter() - started
        return report

    def close(self) -> None:
        """Close the wire table's connection, if one is open."""
        if self._wire is not None:
            self._wire.close()
            self._wire = None

    def _wire_table(self) -> WireTable:
        """The wire table, its connection kept across batches (with its page cache: the bands index takes 64
        random inserts per article), opened again if a reindex replaced the file. Called under the lock."""
        if self._wire is not None and self._wire.replaced():
            self.close()
        if self._wire is None:
            self._wire = WireTable(wire_path(self.index.settings))
        return self._wire

    def _prepare(
        self,
        entries: list[Chunked],
        report: IngestReport,
        progress: ProgressFn | None,
        reembed: bool,
        model: ThreadPoolExecutor,
    ) -> Batch | None:
        """Decide from the store as it is now which articles to write, and start embedding them."""
        if not entries:
            return None
        articles = [(e.item, e) for e in entries if isinstance(e.item, Article)]
        states = self._article_states([a.id for a, _ in articles])
        todo: list[Piece] = []
        skipped: list[Piece] = []
        for article, entry in articles:
            if states.get(article.id) == (article.content_hash, True) and not reembed:
                skipped.append((article, entry.nodes))  # unchanged, unless another writer changes it first
                continue
            problem = self._over_budget(len(entry.nodes), entry.seconds)
            if problem:  # refused before the model spends the time on it
                report.failed.append(InputError(article.origin or article.title, problem))
                if progress:
                    progress(1, 0)
                continue
            todo.append((article, entry.nodes))
        embedded = model.submit(self._embed_all, todo)
        return Batch(todo, skipped, embedded, states, self.index.outside_writes)

    def _commit(
        self, batch: Batch | None, report: IngestReport, progress: ProgressFn | None, reembed: bool
    ) -> int:
        """Write a prepared batch under the write lock, once its embedding is done."""
        if batch is None:
            return 0
        made = batch.embedded.result()
        with self.index.writing(save=False):  # one batch at a time: other writers may go between batches
            wire = self._caught_up()  # from here on, this run asks the table which articles are stored
            existing = batch.states  # asked again only if another process wrote since
            if self.index.outside_writes != batch.outside:
                existing = self._article_states([a.id for a, _ in batch.todo + batch.skipped])

            def stored(article: Article) -> bool:
                return existing.get(article.id) == (article.content_hash, True)

            late = [p for p in batch.skipped if not stored(p[0])]  # changed by another writer since the check
            made |= self._embed_all(late)
            todo = [p for p in batch.todo + late if reembed or not stored(p[0])]
            for _ in range(len(batch.todo) + len(batch.skipped) - len(todo)):
                report.unchanged += 1
                if progress:
                    progress(1, 0)
            existing.update(self._superseded([a for a, _ in todo], wire))
            written = 0
            group: list[Piece] = []
            for piece in todo:
                group.append(piece)
                if sum(len(nodes) for _, nodes in group) >= BATCH_CHUNKS:
                    written += self._write(group, made, existing, wire, report, progress)
                    group = []
            return written + self._write(group, made, existing, wire, report, progress)

    def _over_budget(self, chunks: int, chunking: float) -> str | None:
        """Why one article would take longer than `max_article_seconds` to index (None when it fits):
        its chunking time plus its chunks at the model speed measured in this run."""
        budget = self.index.settings.max_article_seconds
        expected = chunking + chunks / self.index.chunks_per_second
        if expected <= budget:
            return None
        return (
            f"the article would take about {expected:.0f} s to index ({chunks} chunks), over the budget of "
            f"{budget:g} s per article (setting max_article_seconds): split it, or raise the budget"
        )

    def _embed_all(self, pieces: Sequence[Piece]) -> dict[str, tuple[np.ndarray, str | None]]:
        """Chunk id -> (vector, packed sentence vectors) for every chunk of these articles, in model-sized
        groups; each node gets its embedding."""
        made: dict[str, tuple[np.ndarray, str | None]] = {}
        nodes = [node for _, article_nodes in pieces for node in article_nodes]
        for start in range(0, len(nodes), BATCH_CHUNKS):
            group = nodes[start : start + BATCH_CHUNKS]
            texts = embed_texts(group)
            placed = [
                place_sentences(t, n.get_content(MetadataMode.NONE))
                for t, n in zip(texts, group, strict=True)
            ]
            started = time.perf_counter()
            vectors, pooled = self.index.embedder.embed_with_spans(
                texts, [[[s] for s in spans] for _, spans in placed]
            )
            if len(texts) >= 8:  # the model's speed in this run, for the per-article budget
                self.index.chunks_per_second = len(texts) / max(time.perf_counter() - started, 1e-3)
            for node, vector, (offset, spans), sentence_vectors in zip(
                group, vectors, placed, pooled, strict=True
            ):
                node.embedding = vector.tolist()
                made[node.node_id] = (
                    vector,
                    pack([(s - offset, e - offset) for s, e in spans], sentence_vectors),
                )
        return made

    def _write(
        self,
        group: list[Piece],
        made: dict[str, tuple[np.ndarray, str | None]],
        existing: dict[str, tuple[str, bool]],
        wire: WireTable,
        report: IngestReport,
        progress: ProgressFn | None,
    ) -> int:
        """Write one group of articles: keyword journal, Chroma and the wire table (caught up by _commit)."""
        if not group:
            return 0
        nodes = [node for _, article_nodes in group for node in article_nodes]
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
                    {
                        **n.metadata,
                        METADATA_KEY: made[n.node_id][1],
                        VECTOR_KEY: vector_text(made[n.node_id][0]),
                    },
                ]
                for n in nodes
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
                str(ns[0].metadata.get("story_id") or ""),
                origin_key(ns[0].metadata),
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

    def _superseded(self, articles: Sequence[Article], wire: WireTable) -> dict[str, tuple[str, bool]]:
        """Url-less articles whose file now holds a new version: marked as updates of the old one."""
        old = superseded(articles, wire, self.index.store)
        self.replaces.update(old)
        return dict.fromkeys(old, ("", False))

    def _caught_up(self) -> WireTable:
        """The wire table, holding the articles Chroma holds. Called under the lock."""
        wire = self._wire_table()
        # an index older than the table: filled in once (the keyword index is in step with Chroma here:
        # its length is Chroma's count without a scan)
        catch_up(wire, self.index.store, len(self.index.keywords))
        return wire

    def _article_states(self, ids: Sequence[str]) -> dict[str, tuple[str, bool]]:
        """For each stored article: (content hash, whether all its chunks are there); see known.py."""
        if self._wire is not None:
            return article_states(ids, self.index.store, self._wire.stored)
        path = wire_path(self.index.settings)
        return article_states(ids, self.index.store, lambda wanted: peek_stored(path, wanted))
