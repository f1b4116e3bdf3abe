"""`ChunkStore`: every call to the Chroma collections and every `where` clause, in one place. The rest of
the store (index, writer, keyword index, wire table, stories) asks it in the index's own terms.

With `Settings.part_chunks` set, the chunks live in one collection until it holds that many, then in a new
one (a *part*: `news`, `news.part2`, ...). Reads, lookups and deletes ask every part; adds go to the last.
Chroma alone costs more per chunk added as one collection grows (1.19 -> 2.29 ms of CPU from 20k to 190k
chunks, ~1.5 ms when every 50k go to a new collection; `benchmarks/chroma_growth.py`), but newsqa's whole
ingest did not gain from parts of 100k up to 390k chunks, and a search asks every part: so one collection
is the default (docs/SCALING.md, "Parts")."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.store.guard import StoreGuard

READ_BATCH = 2000  # chunks read per call
ADD_BATCH = 1000  # chunks written per call (Chroma's own limit is larger)
PART_NEAREST = 100  # nearest chunks asked of each part at least, when there are several (below)


@dataclass(frozen=True)
class Chunks:
    """Chunks as read: ids, with texts, metadata and vectors when asked for (else empty lists)."""

    ids: list[str]
    texts: list[str]
    metas: list[dict[str, Any]]
    vectors: list[Any]


class ChunkStore:
    """The chunks of an index's Chroma collections (its parts): read, add, delete, and the few metadata
    lookups the index needs."""

    def __init__(
        self,
        parts: Sequence[Any],
        guard: StoreGuard | None = None,
        new_part: Callable[[int], Any] | None = None,
        part_chunks: int = 0,
        find_parts: Callable[[], list[int]] | None = None,
    ) -> None:
        self.parts = list(parts)  # the first collection first; new chunks go to the last
        self.guard = guard or StoreGuard(None)  # a local store: readers and writers take turns (guard.py)
        self.new_part = new_part  # opens (creating) part number n, counted from 1
        self.part_chunks = part_chunks  # chunks a part takes before the next one starts; 0: one part
        self.find_parts = find_parts  # the numbers of the parts in the store now
        self._opening = threading.Lock()  # one thread at a time opens parts: none is appended twice

    def refresh(self) -> None:
        """Open the parts another process started since this store was opened. Before any count or list
        of every chunk: a part missed there would make the keyword index drop that part's rows."""
        if self.find_parts is None or self.new_part is None:
            return
        with self._opening:
            numbers = self.find_parts()[len(self.parts) :]
            if numbers:
                with self.guard.writing():  # opening a collection reads the store's files
                    self.parts.extend(self.new_part(number) for number in numbers)

    def _call(self, writes: bool, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One call to a collection, holding the store guard (shared to read, exclusive to write)."""
        with self.guard.writing() if writes else self.guard.reading():
            return method(*args, **kwargs)

    def _get(self, **kwargs: Any) -> dict[str, list[Any]]:
        """Chroma's `get` on every part, the answers joined. A get by ids asks the newest part first and
        each older one only for the ids not found yet: the chunks looked up while ingesting (wire copies,
        an article's own chunks) are mostly recent, so most lookups cost one call whatever the parts."""
        joined: dict[str, list[Any]] = {"ids": [], "documents": [], "metadatas": [], "embeddings": []}
        parts = list(self.parts)  # another thread may open a new part meanwhile
        if "ids" not in kwargs:
            for part in parts:
                self._join(joined, self._call(False, part.get, **kwargs))
            return joined
        missing = list(kwargs.pop("ids"))
        for part in reversed(parts):
            if not missing:
                break
            got = self._call(False, part.get, ids=missing, **kwargs)
            self._join(joined, got)
            found = set(got["ids"])
            missing = [cid for cid in missing if cid not in found]
        return joined

    @staticmethod
    def _join(joined: dict[str, list[Any]], got: Mapping[str, Any]) -> None:
        for key, values in joined.items():
            more = got.get(key)
            values.extend([] if more is None else more)

    def count(self) -> int:
        """Number of chunks stored."""
        self.refresh()
        return sum(int(self._call(False, part.count)) for part in self.parts)

    def ids(self) -> list[str]:
        """Every chunk id."""
        self.refresh()
        return list(self._get(include=[])["ids"])

    def has(self, ids: Sequence[str]) -> set[str]:
        """Which of these chunk ids are stored (a lookup by id, nothing read)."""
        return set(self._get(ids=list(ids), include=[])["ids"])

    def read(
        self, ids: Sequence[str], texts: bool = True, vectors: bool = False, metas: bool = True
    ) -> Chunks:
        """The stored chunks among ids (one call: callers batch), with what is asked for."""
        include = [*(["documents"] if texts else []), *(["metadatas"] if metas else [])]
        include += ["embeddings"] if vectors else []
        return self._chunks(self._get(ids=list(ids), include=include), texts, vectors, metas)

    def page(self, offset: int, limit: int) -> Chunks:
        """Ids and metadata of a run of chunks in the store's own order, part after part (for reading
        everything)."""
        joined = Chunks([], [], [], [])
        for part in self.parts:
            if len(joined.ids) >= limit:
                break
            held = int(self._call(False, part.count))
            if offset >= held:
                offset -= held
                continue
            want = limit - len(joined.ids)
            got = self._call(False, part.get, include=["metadatas"], limit=want, offset=offset)
            joined.ids.extend(got["ids"])
            joined.metas.extend(dict(m or {}) for m in got["metadatas"] or [])
            offset = 0
        return joined

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
        store holds fewer. No count first: it scans Chroma's table (27 ms a question at 210k chunks).

        With several parts, each is asked for its nearest max(PART_NEAREST, n / parts), and the closest n
        of them all are kept: the overall nearest PART_NEAREST are among them whichever parts hold them,
        and a part's query costs with what it is asked for (100k chunks: 1.7 ms for 100, 3.9 ms for 500)."""
        if not len(vectors) or n < 1:
            return [[] for _ in range(len(vectors))]
        if len(self.parts) == 1:
            got = self._call(
                False, self.parts[0].query, query_embeddings=list(vectors), n_results=n, include=[]
            )
            return [list(ids) for ids in got["ids"]]
        each = min(n, max(PART_NEAREST, -(-n // len(self.parts))))
        found: list[list[tuple[float, str]]] = [[] for _ in range(len(vectors))]
        for part in self.parts:
            got = self._call(
                False, part.query, query_embeddings=list(vectors), n_results=each, include=["distances"]
            )
            for near, ids, distances in zip(found, got["ids"], got["distances"], strict=True):
                near.extend(zip(distances, ids, strict=True))
        return [[cid for _, cid in sorted(near)[:n]] for near in found]

    # -- metadata lookups ---------------------------------------------------------------------

    def _metas(self, where: dict[str, Any]) -> list[dict[str, Any]]:
        return [dict(m or {}) for m in self._get(where=where, include=["metadatas"])["metadatas"]]

    def of_articles(self, article_ids: Iterable[str], first_only: bool = False) -> list[dict[str, Any]]:
        """Metadata of the chunks (or only the first chunks) of these articles."""
        wanted: dict[str, Any] = {"article_id": {"$in": sorted(set(article_ids))}}
        if not wanted["article_id"]["$in"]:
            return []
        return self._metas({"$and": [{"chunk_index": 0}, wanted]} if first_only else wanted)

    def firsts_of_stories(self, story_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Metadata of the first chunks of every article in these wire stories."""
        return self._metas({"$and": [{"chunk_index": 0}, {"story_id": {"$in": sorted(set(story_ids))}}]})

    def firsts_from_origin(self, origin: str) -> list[dict[str, Any]]:
        """Metadata of the first chunks of the articles read from one file."""
        return self._metas({"$and": [{"origin": origin[:500]}, {"chunk_index": 0}]})

    def firsts(self) -> list[dict[str, Any]]:
        """Metadata of every article's first chunk."""
        return self._metas({"chunk_index": 0})

    def matching(self, article_ids: Iterable[str], url: str) -> Chunks:
        """Ids and metadata of the chunks of these articles or of the article at this url."""
        where = {"$or": [{"article_id": {"$in": sorted(set(article_ids))}}, {"url": url}]}
        return self._chunks(self._get(where=where, include=["metadatas"]), False, False)

    # -- changes --------------------------------------------------------------------------------

    def add(self, nodes: Sequence[Any]) -> None:
        """Write embedded llama-index nodes (each article whole): id, vector, text and the chunk's own metadata.

        Not llama-index's `ChromaVectorStore.add`: it also stores each node serialised whole
        (`_node_content`, ~1.7 KB, a copy of the metadata) and four id keys, which Chroma indexes as strings;
        nothing here reads them back. Without them Chroma's SQLite file holds 7.5 KB per chunk, not 16.3 KB
        (`benchmarks/scale.py`, 11k chunks)."""
        from llama_index.core.schema import MetadataMode

        for start in range(0, len(nodes), ADD_BATCH):
            batch = nodes[start : start + ADD_BATCH]
            self._call(
                True,
                self._last(len(batch)).add,
                ids=[n.node_id for n in batch],
                embeddings=[n.get_embedding() for n in batch],
                metadatas=[{k: ("" if v is None else v) for k, v in n.metadata.items()} for n in batch],
                documents=[n.get_content(metadata_mode=MetadataMode.NONE) for n in batch],
            )

    def _last(self, adding: int) -> Any:
        """The part new chunks go to: the last, or a new one when the last is full (counting it costs
        with its own size, never the index's)."""
        if self.part_chunks > 0 and self.new_part is not None:
            held = int(self._call(False, self.parts[-1].count))
            if held and held + adding > self.part_chunks:
                with self._opening, self.guard.writing():
                    self.parts.append(self.new_part(len(self.parts) + 1))
        return self.parts[-1]

    def delete(self, ids: Sequence[str]) -> None:
        """Drop these chunks."""
        for part in self.parts:
            self._call(True, part.delete, ids=list(ids))

    def delete_articles(self, article_ids: Sequence[str]) -> None:
        """Drop every chunk of these articles."""
        for part in self.parts:
            self._call(True, part.delete, where={"article_id": {"$in": list(article_ids)}})
