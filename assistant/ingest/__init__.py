"""Ingest: everything between a source and the chunks the store writes.

Readers per source kind (files, JSON/CSV/JSONL dumps, HTML pages, RSS/Atom feeds, OPML and url lists) turn
sources into `Article`s or per-item `InputError`s (`sources.read_sources` is the entry point); `fetch`
downloads pages safely (per-hop address checks, limits, retries); `clean` strips page furniture;
`chunking` splits an article into sentence-aware chunks that fit the embedder; `watch` polls feeds.
Nothing here knows about Chroma, retrieval, LLMs or Gradio.
"""
