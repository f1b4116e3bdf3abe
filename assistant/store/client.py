"""Opening Chroma (local or a server), our embedding function, `where` clauses and the stored row format."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import chromadb
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.config import Settings as ChromaSettings

from assistant.embedding import Embedder
from assistant.errors import IndexUnavailableError
from assistant.formats import COLLECTION, check_format
from assistant.settings import Settings
from assistant.types import Passage

COLLECTION_METADATA = {"hnsw:space": "cosine", "newsqa_format": COLLECTION.version}


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


def part_name(collection: str, number: int) -> str:
    """The Chroma collection holding part `number` (from 1) of an index's chunks: `news`, `news.part2`..."""
    return collection if number == 1 else f"{collection}.part{number}"


def part_numbers(client: Any, collection: str) -> list[int]:
    """The part numbers of an index's collections found in the store, 1 (created if missing) first."""
    found = {1}
    for item in client.list_collections():  # Collection objects (names only in some chromadb versions)
        name = str(getattr(item, "name", item))
        rest = name.removeprefix(f"{collection}.part")
        if rest != name and rest.isdigit():
            found.add(int(rest))
    return sorted(found)


def forget_local_client(settings: Settings) -> None:
    """Drop chromadb's cached client of a local store, so the next one reads it from disk afresh (clients
    already handed out keep working on their own copy)."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient._identifier_to_system.pop(str(settings.index), None)  # its cache: path -> system


def check_collection_format(collection: Any, settings: Settings) -> None:
    """Refuse a collection written by an incompatible newsqa (one without a stamp is format 1)."""
    found = (collection.metadata or {}).get("newsqa_format", 1)
    check_format(COLLECTION, found, settings.chroma_url or str(settings.index))


def passage_from_row(
    chunk_id: str, text: str, meta: Mapping[str, Any], score: float, rank: int, sentences: str | None = None
) -> Passage:
    """A Passage from a stored chunk (its metadata as written by ingest/chunking.py)."""

    def opt(key: str) -> str | None:
        value = meta.get(key)
        return str(value) if value not in (None, "") else None

    return Passage(
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
