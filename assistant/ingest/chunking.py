"""Sentence-aware chunks sized in the embedder's own word pieces, each carrying its article's metadata."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from llama_index.core import Document
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import MetadataMode, NodeRelationship, RelatedNodeInfo, TextNode

from assistant.dates import epoch
from assistant.types import Article, day, iso

# What the embedder sees in front of each chunk, so "TechCrunch in October" can match; never shown as text.
HEADER_KEYS = ("title", "source", "date")


def article_metadata(article: Article, n_chunks: int = 0) -> dict[str, Any]:
    """Chroma metadata for every chunk of an article (no None values: Chroma refuses them)."""
    meta: dict[str, Any] = {
        "article_id": article.id,
        "title": article.title,
        "source": article.source,
        "date": day(article.published_at) if article.published_at else None,
        "published_at": iso(article.published_at),
        "published_ts": epoch(article.published_at),
        "url": article.url,
        "author": article.author,
        "category": article.category,
        "origin": article.origin[:500],
        "partial": article.partial,
        "content_hash": article.content_hash,
        "n_chunks": n_chunks,
    }
    return {k: v for k, v in meta.items() if v is not None}


class Chunker:
    """Splits articles into overlapping, sentence-aware chunks that the embedder reads whole."""

    def __init__(self, tokenize: Callable[[str], list[str]], chunk_size: int, chunk_overlap: int) -> None:
        self.splitter = SentenceSplitter(
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            tokenizer=tokenize,
            paragraph_separator="\n\n",
            include_prev_next_rel=False,
        )

    def chunk(self, article: Article) -> list[TextNode]:
        """The article's chunks, ids stable for a given article version."""
        meta = article_metadata(article)
        excluded = [k for k in meta if k not in HEADER_KEYS]
        doc = Document(
            id_=article.id,
            text=article.body,
            metadata=meta,
            excluded_embed_metadata_keys=excluded,
            excluded_llm_metadata_keys=excluded,
            metadata_separator=" | ",
            metadata_template="{value}",
            text_template="{metadata_str}\n\n{content}",
        )
        nodes = self.splitter.get_nodes_from_documents([doc])
        chunks: list[TextNode] = []
        for i, node in enumerate(nodes):
            metadata = {**node.metadata, "n_chunks": len(nodes), "chunk_index": i}
            chunk = TextNode(
                id_=f"{article.id}-{article.content_hash[:8]}-{i:04d}",
                text=node.get_content(metadata_mode=MetadataMode.NONE),
                metadata=metadata,
                excluded_embed_metadata_keys=[*excluded, "n_chunks", "chunk_index"],
                excluded_llm_metadata_keys=[*excluded, "n_chunks", "chunk_index"],
                metadata_separator=" | ",
                metadata_template="{value}",
                text_template="{metadata_str}\n\n{content}",
                relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=article.id)},
            )
            chunks.append(chunk)
        return chunks


def embed_texts(chunks: Sequence[TextNode]) -> list[str]:
    """What the embedder reads for each chunk: a short header (title | outlet | date) and the text."""
    return [c.get_content(metadata_mode=MetadataMode.EMBED) for c in chunks]
