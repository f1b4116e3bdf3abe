"""Store: what is kept on disk and how it is read back.

`chroma.NewsIndex` is the one boundary that speaks Chroma (chunks, embeddings, metadata); beside it
`keywords` (the keyword index: immutable `segments` of rows (as columns: `rowtable`), term ids, BM25
postings, sentence encodings, sentence vectors and chunk vectors, a `vocab`, a manifest and a journal;
`bm25` scores it, `dense` scores its chunk vectors), `sentences` (per-sentence vectors), `stories` (wire
copies of one story grouped) and `wire` (their MinHash table in SQLite: `minhash` signatures and bands,
`bands` kept as SQLite rows plus sorted runs, `wiresync` keeping it in step with Chroma). `writer` is the ingest pipeline
(`prefetch` reads and chunks ahead of the model); `chunks.ChunkStore` makes every Chroma call. Every file they write carries a format version
(`assistant.formats`). Retrieval reads through these classes and never calls Chroma itself.
"""
