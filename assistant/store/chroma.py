"""The Chroma store: upsert articles as embedded chunks, remove them, and report what is there."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.embedding import Embedder
from assistant.errors import (
    IndexFormatError,
    IndexUnavailableError,
    NewsqaError,
    NotFoundError,
    StoreReadError,
)
from assistant.settings import Settings
from assistant.store.chunks import Chunks, ChunkStore
from assistant.store.client import (
    COLLECTION_METADATA,
    NewsqaEmbeddingFunction,
    check_collection_format,
    forget_local_client,
    open_client,
    part_name,
    part_numbers,
)
from assistant.store.guard import StoreGuard
from assistant.store.keywords import SEGMENT_ROWS, KeywordIndex, keyword_folder
from assistant.store.lock import WriteLock
from assistant.store.stories import StoryInfo, story_info
from assistant.types import (
    UNKNOWN_OUTLET,
    IndexStats,
    IngestReport,
    ProgressFn,
    ReadResult,
    article_id,
    canonical_url,
)

if TYPE_CHECKING:
    from assistant.ingest.chunking import Chunker

log = logging.getLogger(__name__)

READ_BATCH = 2000  # chunks read from Chroma per call
COUNT_SECONDS = 2.0  # readers count Chroma's chunks at most this often, unless the keyword index changed


class NewsIndex:
    """Articles as chunks in one Chroma collection, with their metadata for filters and display."""

    def __init__(self, settings: Settings, embedder: Callable[[], Embedder]) -> None:
        self.settings = settings
        self._get_embedder = embedder
        self._mutex = threading.RLock()  # held by this process's writer; readers never wait on it
        self.guard = StoreGuard(None if settings.chroma_url else Path(settings.index))  # store/guard.py
        self.waiting: Callable[[str], None] | None = None  # told when a writer waits (default: a warning)
        self._open()
        self._counted: tuple[tuple[str, int], float, int] | None = None  # (keyword stamp, when, count)
        self._in_step = False  # this process's last write left the keyword index and Chroma in step
        self.outside_writes = 0  # times the write lock could not vouch that only this process wrote since
        self.chunks_per_second = 5.0  # until measured: a slow CPU's speed (2 cores: ~8 chunks/s)

    def _open(self) -> None:
        settings = self.settings
        with self.guard.writing():  # opening a local store reads (and may create) its files
            self.client = open_client(settings)
            parts = self._parts()
        # every Chroma call goes through the store; new chunks go to a new part past part_chunks
        self.store = ChunkStore(parts, self.guard, self._part, settings.part_chunks, self._part_numbers)
        self.collection = parts[0]  # the first part (tests look at it)

    def _part(self, number: int) -> Any:
        """Part `number` of the index's collections (store/chunks.py), opened or created."""
        name = part_name(self.settings.collection, number)
        try:
            collection = self.client.get_or_create_collection(
                name,
                embedding_function=NewsqaEmbeddingFunction(self._get_embedder),
                metadata=COLLECTION_METADATA,
            )
        except Exception as exc:  # chromadb reports server and store problems as plain exceptions
            raise IndexUnavailableError(f"Cannot open the Chroma collection {name!r}: {exc}") from None
        check_collection_format(collection, self.settings)
        return collection

    def _part_numbers(self) -> list[int]:
        """The numbers of the index's parts in the store now."""
        try:
            return part_numbers(self.client, self.settings.collection)
        except Exception as exc:  # as above: a server gone, a store unreadable
            raise IndexUnavailableError(
                f"Cannot list the collections of {self.settings.chroma_url or self.settings.index}: {exc}"
            ) from None

    def _parts(self) -> list[Any]:
        """Every part of the index's collections, in order."""
        return [self._part(number) for number in self._part_numbers()]

    def reopen(self) -> None:
        """Open the local store afresh after another process wrote to it: a local Chroma client keeps its
        vector segment in memory and would not find rows written since ("Error finding id"). A server
        sees every client's writes: only parts it started since are looked up."""
        if self.settings.chroma_url:
            self.store.refresh()
        else:
            forget_local_client(self.settings)
            self._open()

    @contextmanager
    def writing(self, save: bool = True) -> Iterator[None]:
        """Hold the index's write lock; catch up with what other processes wrote before it was ours; at
        the end fold the keyword journal into a saved version (`save`), or leave it for a later batch."""
        lock = WriteLock(keyword_folder(self.settings).with_suffix(".lock"), self.settings.lock_timeout)
        lock.waiting = self.waiting
        with self._mutex, lock:
            keywords = self.keywords
            stale = keywords.stamp != keywords.disk_stamp()  # another process wrote: read its rows
            if stale or not self._in_step:  # what was checked before the lock may have changed
                self.outside_writes += 1
            if stale:
                self.reopen()
                keywords.load()
            # Chroma's count only when this process cannot vouch for the two being in step (its first batch,
            # or one that failed midway): a count grows with the index, and every batch used to pay it.
            if (stale or not self._in_step) and len(keywords) != self.count():
                if not stale:
                    self.reopen()
                keywords.sync(self.store)
            self._in_step = False  # until this batch has written both the keyword journal and Chroma
            try:
                yield
                big = len(self.keywords.pending) >= SEGMENT_ROWS  # a segment's worth waits in the journal
                if (save or big) and self.keywords.dirty:
                    self.keywords.save()
                self._in_step = True
            except NewsqaError:
                raise
            except Exception as exc:  # a full disk, a Chroma server gone: say so, never a traceback
                raise IndexUnavailableError(
                    f"Writing to the index at {self.settings.chroma_url or self.settings.index} failed "
                    f"({type(exc).__name__}: {str(exc)[:300]}). What was written before is kept and nothing "
                    "is half-written: fix the cause (free disk space, start the Chroma server again) and run "
                    "the same command again; unfinished articles are redone."
                ) from exc

    @property
    def embedder(self) -> Embedder:
        """The embedding model (loaded on first use, so stats and remove never load it)."""
        return self._get_embedder()

    @cached_property
    def chunker(self) -> Chunker:
        """Splits articles in the embedder's own word pieces."""
        from assistant.ingest.chunking import Chunker

        return Chunker(self.embedder.tokenize, self.settings.chunk_size, self.settings.chunk_overlap)

    @cached_property
    def keywords(self) -> KeywordIndex:
        """The BM25 index beside the store: loaded from disk, backfilled from Chroma when out of step."""
        keywords = KeywordIndex(keyword_folder(self.settings))
        keywords.load()
        if len(keywords) != self.count():  # reads only the chunks it lacks; never re-embeds; a reader
            self._backfill(keywords)  # keeps them in memory: only writers save
        return keywords

    def _backfill(self, keywords: KeywordIndex) -> bool:
        """For readers: read from Chroma the chunks the keyword files lack (an index written before they
        kept everything); True if it ran. Not while a writer is mid-batch: its journal, read on the next
        question, is ahead of Chroma, and Chroma's new rows are not visible to this local client yet."""
        if keywords.stamp != keywords.disk_stamp():
            return False
        try:
            keywords.sync(self.store, save=False)
        except Exception as exc:  # chromadb's InternalError ("Error finding id"): rows another process
            log.warning("keyword rows not read from the store yet: %s", exc)  # is writing; next time
            return False
        return True

    def sync_keywords(self, stored: int | None = None) -> bool:
        """For readers: take in what other processes wrote (their saved or journaled keyword rows, and
        chunks a writer has not journaled); True unless this process is writing right now (then readers
        keep the rows they have until it is done). `stored`: the chunk count, when the caller just asked."""
        if not self._mutex.acquire(blocking=False):
            return False
        try:
            keywords = self.keywords
            outside = keywords.stamp != keywords.disk_stamp()
            if outside:  # see what the other process wrote (its rows, a part it started) before counting
                keywords.load()
                self.reopen()
                stored = None
            if len(keywords) != (self.count() if stored is None else stored) and self._backfill(keywords):
                self.reopen()  # the chunks' vectors are read next
            keywords.view()  # the BM25 model rebuilt here, not while a question reads it
            return True
        finally:
            self._mutex.release()

    # -- writing -------------------------------------------------------------------------------

    def ingest(
        self, items: Iterable[ReadResult], progress: ProgressFn | None = None, reembed: bool = False
    ) -> IngestReport:
        """Add new articles, replace changed ones, skip unchanged ones (or, with `reembed`, write them again,
        which adds sentence vectors to an older index); report every failure (store/writer.py)."""
        from assistant.store.writer import IndexWriter  # llama-index's node types: writers only

        return IndexWriter(self).ingest(items, progress, reembed)

    def reindex_keywords(self) -> int:
        """Rebuild the keyword index from the chunks in Chroma (no re-embedding); returns the chunk count.
        Old keyword files are read only for their sentence vectors, so ones of an unreadable format are
        replaced too."""
        with (
            self._mutex,
            WriteLock(keyword_folder(self.settings).with_suffix(".lock"), self.settings.lock_timeout),
        ):
            self.reopen()
            keywords = KeywordIndex(keyword_folder(self.settings))
            # read only for its sentence vectors (Chroma does not keep them); one of an unreadable format is
            # rebuilt from Chroma alone, and `ingest --reembed` restores the vectors
            with suppress(IndexFormatError):
                keywords.load()
            keywords.sync(self.store, full=True)
            self.__dict__["keywords"] = keywords  # the cached property now holds the rebuilt index
            from assistant.store.wire import wire_path
            from assistant.store.wiresync import rebuild

            rebuild(wire_path(self.settings), self.store)  # the wire-copy table too
            return len(keywords)

    def remove(self, key: str) -> int:
        """Remove one article by id or url; returns how many chunks went."""
        with self.writing():
            return self._remove(key)

    def remove_many(self, keys: Sequence[str]) -> dict[str, int | None]:
        """Remove articles by id or url in one write (one keyword-index save for all); chunks removed per
        key, None for a key that matches no article (the others still go)."""
        removed: dict[str, int | None] = {}
        with self.writing():
            for key in dict.fromkeys(keys):
                try:
                    removed[key] = self._remove(key)
                except NotFoundError:
                    removed[key] = None
        return removed

    def _remove(self, key: str) -> int:
        candidates = {key}
        if canonical_url(key):
            candidates.add(article_id(key, "", ""))
        got = self.store.matching(candidates, key)
        ids = got.ids
        if not ids:
            raise NotFoundError(
                f"No article with id or url {key!r} is indexed. `newsqa stats` lists outlets; "
                "`newsqa ask --json` shows article ids."
            )
        self.keywords.log("remove_ids", list(ids))
        self.store.delete(ids)
        from assistant.store.wire import WireTable, wire_path  # deleting needs no MinHash: no datasketch

        with WireTable(wire_path(self.settings)) as wire:  # after Chroma: a kill between leaves extra rows
            wire.remove({str(m["article_id"]) for m in got.metas})
        return len(ids)

    # -- reading -------------------------------------------------------------------------------

    def story_info(self, article_ids: Sequence[str]) -> dict[str, StoryInfo]:
        """For each article id: its story id and every outlet that carried that story."""
        return story_info(self.store, article_ids)

    def chunks(
        self, ids: Sequence[str], vectors: bool = False
    ) -> Iterable[tuple[str, str, dict[str, Any], Any]]:
        """(id, text, metadata, embedding or None) of the stored chunks among ids, read in batches."""
        for start in range(0, len(ids), READ_BATCH):
            got = self._get(list(ids[start : start + READ_BATCH]), texts=True, vectors=vectors)
            embeddings = got.vectors if vectors else [None] * len(got.ids)
            yield from zip(got.ids, got.texts, got.metas, embeddings, strict=True)

    def vectors(self, ids: Sequence[str]) -> Iterable[tuple[str, Any]]:
        """(id, embedding) of the stored chunks among ids, read in batches (no texts: 10x faster)."""
        for start in range(0, len(ids), READ_BATCH):
            got = self._get(list(ids[start : start + READ_BATCH]), texts=False, vectors=True, metas=False)
            yield from zip(got.ids, got.vectors, strict=True)

    def _get(self, ids: list[str], texts: bool, vectors: bool, metas: bool = True) -> Chunks:
        """`ChunkStore.read`, opening the local store afresh once when another process's rows are not
        visible to this client yet; StoreReadError when they still are not (readers keep their snapshot)."""
        for attempt in range(2):
            try:
                return self.store.read(ids, texts=texts, vectors=vectors, metas=metas)
            except Exception as exc:  # chromadb's InternalError ("Error finding id", "Nothing found on disk")
                if attempt or self.settings.chroma_url:
                    raise StoreReadError(
                        f"chunks written by another process are not readable yet: {exc}"
                    ) from exc
                self.reopen()
        raise AssertionError("unreachable")

    def count(self) -> int:
        """Number of chunks stored."""
        return self.store.count()

    def nearest(self, vectors: Any, n: int) -> list[list[str]]:
        """Ids of the n chunks nearest each vector, by Chroma's HNSW index (approximate)."""
        return self.store.nearest(vectors, n)

    def recent_count(self) -> int:
        """For readers: the chunk count, counted again when the keyword index changed on disk or
        COUNT_SECONDS have passed (a count scans Chroma's table: 10 ms at 98k chunks, 0.3 s cold; writes
        made through newsqa change the keyword index first, other writes are seen within COUNT_SECONDS)."""
        stamp, now = (self.keywords.disk_stamp(), self.keywords.generation), time.monotonic()
        last = self._counted
        if last is None or last[0] != stamp or now - last[1] >= COUNT_SECONDS:
            last = self._counted = (stamp, now, self.count())
        return last[2]

    def article_rows(self) -> list[dict[str, Any]]:
        """Metadata of every article (its first chunk)."""
        return self.store.firsts()

    def stats(self) -> IndexStats:
        """Articles, chunks, outlets, date range and size on disk."""
        rows = self.article_rows()
        dated = sorted(str(r["published_at"]) for r in rows if r.get("published_at"))
        outlets = Counter(str(r.get("source") or UNKNOWN_OUTLET) for r in rows)
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
