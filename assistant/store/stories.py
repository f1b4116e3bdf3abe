"""Wire copies: articles whose text is nearly the same are one story, carried by several outlets."""

from __future__ import annotations

import dataclasses
import re
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import numpy as np

from assistant.types import UNKNOWN_OUTLET, Article

if TYPE_CHECKING:
    from llama_index.core.schema import TextNode

    from assistant.store.chunks import ChunkStore
    from assistant.types import Passage


class CopyFinder(Protocol):
    """What `assign_stories` asks of the wire-copy table (store/wire.py's WireTable, which imports this
    module for its shingles): stored articles likely to be copies, each with `article_id`, `chunk_ids`, its
    first chunk's `vector` and, for rows written with them, its shingles (`held`, `shingles`) and `story`."""

    def candidates(self, own: frozenset[int], exclude: str = "", limit: int = 32) -> Sequence[Any]: ...


SHINGLE_WORDS = 5
THRESHOLD = 0.9  # share of the shorter text's shingles found in the longer one
MIN_LENGTH_RATIO = 0.5  # a short excerpt of a long article is not the same story
CANDIDATE_SIMILARITY = 0.75  # first-chunk cosine similarity worth a shingle comparison
CANDIDATES = 32  # likeliest copies (MinHash estimate) read from Chroma per article: a bounded cost
_WORD = re.compile(r"[^\W_]+", re.UNICODE)

StoryInfo = tuple[str, tuple[str, ...]]  # (story id, outlets that carried it)


def shingles(text: str, size: int = SHINGLE_WORDS) -> frozenset[int]:
    """Hashed runs of `size` words (lower-cased, punctuation ignored)."""
    words = _WORD.findall(text.lower())
    if len(words) < size:
        return frozenset({zlib.crc32(" ".join(words).encode("utf-8"))}) if words else frozenset()
    return frozenset(
        zlib.crc32(" ".join(words[i : i + size]).encode("utf-8")) for i in range(len(words) - size + 1)
    )


def overlap(a: frozenset[int], b: frozenset[int]) -> float:
    """Shingle overlap of two texts: shared shingles over the shorter text's, 0 if lengths differ >2x."""
    if not a or not b or min(len(a), len(b)) < MIN_LENGTH_RATIO * max(len(a), len(b)):
        return 0.0
    return len(a & b) / min(len(a), len(b))


def same_story(a: frozenset[int], b: frozenset[int]) -> bool:
    """True when two texts are copies of one story (overlap >= THRESHOLD)."""
    return overlap(a, b) >= THRESHOLD


def outlet(meta: Mapping[str, Any]) -> str:
    """The outlet named by a chunk's metadata: its source, else its url's host."""
    host = urlsplit(str(meta.get("url") or "")).hostname or ""
    return str(meta.get("source") or host.removeprefix("www.") or UNKNOWN_OUTLET)


def assign_stories(
    store: ChunkStore, group: Sequence[tuple[Article, list[TextNode]]], wire: CopyFinder
) -> None:
    """Set `story_id` on every chunk: an earlier near-copy's story (stored or in this group), else its own."""
    seen: list[tuple[frozenset[int], str]] = []
    for article, nodes in group:
        if not nodes:
            continue
        own = shingles(article.body)
        story = next((sid for other, sid in seen if same_story(own, other)), None)
        if story is None and nodes[0].embedding is not None:
            story = _stored_story(store, wire, article.id, nodes[0].embedding, own)
        story = story or article.id
        seen.append((own, story))
        for node in nodes:
            node.metadata["story_id"] = story
            for excluded in (node.excluded_embed_metadata_keys, node.excluded_llm_metadata_keys):
                if "story_id" not in excluded:
                    excluded.append("story_id")


def _stored_story(
    store: ChunkStore, wire: CopyFinder, article_id: str, vector: list[float], own: frozenset[int]
) -> str | None:
    """The story of the most similar stored article that is a near-copy of this text, if any."""
    found = wire.candidates(own, exclude=article_id, limit=CANDIDATES)  # MinHash bands: indexed SQLite reads
    query = np.asarray(vector, dtype=np.float32)
    # As when candidates came from a vector query over first chunks: the most similar first chunk that is a
    # copy, of those at least CANDIDATE_SIMILARITY alike, so the same articles end up in the same stories
    # (a text can be a copy of two stories: a long original, and a short excerpt of it). The vectors come
    # from the table: reading them from Chroma would be one more call per article.
    ranked = sorted(((_cosine(query, c.vector), c.article_id, c) for c in found), reverse=True)
    alike = [c for similarity, _, c in ranked if similarity >= CANDIDATE_SIMILARITY]
    # Rows the table wrote with their shingles and story are compared as they are; older rows are read from
    # Chroma (one call). The table holds what Chroma holds: the writer's catch_up runs first.
    older = [c for c in alike if c.held is None]
    stored = stored_articles(store, [cid for c in older for cid in c.chunk_ids]) if older else {}
    for c in alike:
        if c.held is not None:
            # a copy found; Chroma is asked only whether it holds it (a table and a store out of step)
            if same_story(own, c.shingles or frozenset()) and c.chunk_ids and store.has(c.chunk_ids[:1]):
                return c.story or c.article_id
            continue
        article = stored.get(c.article_id)  # absent: its bands were written, the writer killed before Chroma
        if article and article.first is not None and same_story(own, shingles("\n".join(article.texts))):
            return str(article.first.get("story_id") or c.article_id)
    return None


@dataclasses.dataclass(frozen=True)
class Stored:
    """One stored article as Chroma holds it: its chunks' ids and texts in order, its first chunk's metadata
    and vector (None when that chunk is missing)."""

    ids: list[str]
    texts: list[str]
    first: Mapping[str, Any] | None
    vector: Any


def stored_articles(store: ChunkStore, chunk_ids: Sequence[str], vectors: bool = False) -> dict[str, Stored]:
    """The stored articles of these chunks, by article id (chunks Chroma lacks left out), read in one call."""
    if not chunk_ids:
        return {}
    got = store.read(chunk_ids, texts=True, vectors=vectors)
    docs, metas = got.texts, got.metas
    embeddings = got.vectors if vectors else [None] * len(docs)
    parts: dict[str, list[tuple[int, str, str, Mapping[str, Any], Any]]] = {}
    for cid, text, meta, vector in zip(got.ids, docs, metas, embeddings, strict=True):
        index = int(str(meta.get("chunk_index", 0)))
        parts.setdefault(str(meta["article_id"]), []).append((index, cid, text or "", meta, vector))
    out: dict[str, Stored] = {}
    for aid, chunks in parts.items():
        chunks.sort(key=lambda c: c[0])
        first = chunks[0] if chunks[0][0] == 0 else None
        ids, texts = [c[1] for c in chunks], [c[2] for c in chunks]
        out[aid] = Stored(ids, texts, first[3] if first else None, first[4] if first else None)
    return out


def _cosine(a: np.ndarray, b: np.ndarray | None) -> float:
    if b is None or a.shape != b.shape:
        return -1.0  # no first chunk stored: not a candidate, as with the vector query
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norms if norms else 0.0


def story_info(store: ChunkStore, article_ids: Sequence[str]) -> dict[str, StoryInfo]:
    """For each article id: its story id and every outlet that carried the story (sorted)."""
    if not article_ids:
        return {}
    firsts = {str(m["article_id"]): m for m in store.of_articles(article_ids, first_only=True)}
    stories = {str(m.get("story_id") or aid) for aid, m in firsts.items()}
    return group_stories(firsts, store.firsts_of_stories(stories))


def group_stories(
    firsts: Mapping[str, Mapping[str, Any]], members: Iterable[Mapping[str, Any]]
) -> dict[str, StoryInfo]:
    """Story id and outlets per article, from the articles' first-chunk metadata and their stories' members."""
    story_of = {aid: str(m.get("story_id") or aid) for aid, m in firsts.items()}
    outlets: dict[str, set[str]] = {sid: set() for sid in story_of.values()}
    for meta in members:
        if str(meta.get("story_id")) in outlets:
            outlets[str(meta["story_id"])].add(outlet(meta))
    for aid, meta in firsts.items():  # articles stored before stories existed have no story_id
        outlets[story_of[aid]].add(outlet(meta))
    return {aid: (sid, tuple(sorted(outlets[sid]))) for aid, sid in story_of.items()}


def collapse_stories(
    passages: Sequence[Passage], stories: Callable[[Sequence[str]], Mapping[str, StoryInfo]]
) -> list[Passage]:
    """Each story once: passages of its best-ranked article only, with the other outlets attached."""
    info = stories(sorted({p.article_id for p in passages}))
    chosen: dict[str, str] = {}
    kept: list[Passage] = []
    for passage in passages:
        story, carried = info.get(passage.article_id, (passage.article_id, ()))
        if chosen.setdefault(story, passage.article_id) != passage.article_id:
            continue  # a copy of a story already returned
        own = outlet({"source": passage.source, "url": passage.url})
        others = tuple(o for o in carried if o != own)
        kept.append(dataclasses.replace(passage, rank=len(kept) + 1, story_id=story, also_reported_by=others))
    return kept
