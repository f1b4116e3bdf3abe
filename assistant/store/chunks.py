"""`ChunkStore`: every call to the Chroma collection and every `where` clause, in one place. The rest of
the store (index, writer, keyword index, wire table, stories) asks it in the index's own terms."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.store.guard import StoreGuard

READ_BATCH = 2000  # chunks read per call
ADD_BATCH = 1000  # chunks written per call (Chroma's own limit is larger)


@dataclass(frozen=True)
class Chunks:
    """Chunks as read: ids, with texts, metadata and vectors when asked for (else empty lists)."""

    ids: list[str]
    texts: list[str]
    metas: list[dict[str, Any]]
    vectors: list[Any]


class ChunkStore:
    """The chunks of one Chroma collection: read, add, delete, and the few metadata lookups the index needs."""

    def __init__(self, collection: Any, guard: StoreGuard | None = None) -> None:
        self.collection = collection
        self.guard = guard or StoreGuard(None)  # a local store: readers and writers take turns (guard.py)

    def _call(self, writes: bool, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One call to the collection, holding the store guard (shared to read, exclusive to write)."""
        with self.guard.writing() if writes else self.guard.reading():
            return method(*args, **kwargs)

    def count(self) -> int:
        """Number of chunks stored."""
        return int(self._call(False, self.collection.count))

    def ids(self) -> list[str]:
        """Every chunk id."""
        return list(self._call(False, self.collection.get, include=[])["ids"])

    def has(self, ids: Sequence[str]) -> set[str]:
        """Which of these chunk ids are stored (a lookup by id, nothing read)."""
        return set(self._call(False, self.collection.get, ids=list(ids), include=[])["ids"])

    def read(
        self, ids: Sequence[str], texts: bool = True, vectors: bool = False, metas: bool = True
    ) -> Chunks:
        """The stored chunks among ids (one call: callers batch), with what is asked for."""
        include = [*(["documents"] if texts else []), *(["metadatas"] if metas else [])]
        include += ["embeddings"] if vectors else []
        return self._chunks(
            self._call(False, self.collection.get, ids=list(ids), include=include), texts, vectors, metas
        )

    def page(self, offset: int, limit: int) -> Chunks:
        """Ids and metadata of a run of chunks in the store's own order (for reading everything)."""
        return self._chunks(
            self._call(False, self.collection.get, include=["metadatas"], limit=limit, offset=offset),
            False,
            False,
        )

    def batches(self, ids: Sequence[str], texts: bool = True, vectors: bool = False) -> Iterator[Chunks]:
        """`read` in batches of READ_BATCH."""
        for start in range(0, len(ids), READ_BATCH):
            yield self.read(ids[start : start + READ_BATCH], texts, vectors)

    @staticmethod
    def _chunks(got: Mapping[str, Any], texts: bool, vectors: bool, metas: bool = True) -> Chunks:
        ids = list(got["ids"])
        return Chunks(
            ids,
            [d or "" for d in got["documents"] or []] if texts else [],
            [dict(m or {}) for m in got["metadatas"] or []] if metas else [],
            list(got["embeddings"]) if vectors else [],
        )

    def nearest(self, vectors: Any, n: int) -> list[list[str]]:
        """Ids of the n chunks nearest each vector, by Chroma's HNSW index (approximate); fewer when the
        collection holds fewer. No count first: it scans Chroma's table (27 ms a question at 210k chunks)."""
        if not len(vectors) or n < 1:
            return [[] for _ in range(len(vectors))]
        got = self._call(
            False, self.collection.query, query_embeddings=list(vectors), n_results=n, include=[]
        )
        return [list(ids) for ids in got["ids"]]

    # -- metadata lookups ---------------------------------------------------------------------

    def of_articles(self, article_ids: Iterable[str], first_only: bool = False) -> list[dict[str, Any]]:
        """Metadata of the chunks (or only the first chunks) of these articles."""
        wanted: dict[str, Any] = {"article_id": {"$in": sorted(set(article_ids))}}
        if not wanted["article_id"]["$in"]:
            return []
        where = {"$and": [{"chunk_index": 0}, wanted]} if first_only else wanted
        return [
            dict(m)
            for m in self._call(False, self.collection.get, where=where, include=["metadatas"])["metadatas"]
            or []
        ]

    def firsts_of_stories(self, story_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Metadata of the first chunks of every article in these wire stories."""
        where = {"$and": [{"chunk_index": 0}, {"story_id": {"$in": sorted(set(story_ids))}}]}
        return [
            dict(m)
            for m in self._call(False, self.collection.get, where=where, include=["metadatas"])["metadatas"]
            or []
        ]

    def firsts_from_origin(self, origin: str) -> list[dict[str, Any]]:
        """Metadata of the first chunks of the articles read from one file."""
        where = {"$and": [{"origin": origin[:500]}, {"chunk_index": 0}]}
        return [
            dict(m)
            for m in self._call(False, self.collection.get, where=where, include=["metadatas"])["metadatas"]
            or []
        ]

    def firsts(self) -> list[dict[str, Any]]:
        """Metadata of every article's first chunk."""
        got = self._call(False, self.collection.get, where={"chunk_index": 0}, include=["metadatas"])
        return [dict(m) for m in got["metadatas"] or []]

    def matching(self, article_ids: Iterable[str], url: str) -> Chunks:
        """Ids and metadata of the chunks of these articles or of the article at this url."""
        where = {"$or": [{"article_id": {"$in": sorted(set(article_ids))}}, {"url": url}]}
        return self._chunks(
            self._call(False, self.collection.get, where=where, include=["metadatas"]), False, False
        )

    # -- changes --------------------------------------------------------------------------------

    def add(self, nodes: Sequence[Any]) -> None:
        """Write embedded llama-index nodes (each article whole): id, vector, text and the chunk's own metadata.

        Not llama-index's `ChromaVectorStore.add`: it also stores each node serialised whole
        (`_node_content`, ~1.7 KB, a copy of the metadata) and four id keys, which Chroma indexes as strings;
        nothing here reads them back. Without them Chroma's SQLite file holds 7.5 KB per chunk, not 16.3 KB
        (`benchmarks/scale.py`, 11k chunks)."""
        from llama_index.core.schema import MetadataMode

        for start in range(0, len(nodes), ADD_BATCH):
            part = nodes[start : start + ADD_BATCH]
            self._call(
                True,
                self.collection.add,
                ids=[n.node_id for n in part],
                embeddings=[n.get_embedding() for n in part],
                metadatas=[{k: ("" if v is None else v) for k, v in n.metadata.items()} for n in part],
                documents=[n.get_content(metadata_mode=MetadataMode.NONE) for n in part],
            )

    def delete(self, ids: Sequence[str]) -> None:
        """Drop these chunks."""
        self._call(True, self.collection.delete, ids=list(ids))

    def delete_articles(self, article_ids: Sequence[str]) -> None:
        """Drop every chunk of these articles."""
        self._call(True, self.collection.delete, where={"article_id": {"$in": list(article_ids)}})
