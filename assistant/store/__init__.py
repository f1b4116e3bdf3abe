"""Store: what is kept on disk and how it is read back.

`chroma.NewsIndex` is the one boundary that speaks Chroma (chunks, embeddings, metadata, filters as `where`
clauses); beside it `keywords` (the BM25 index with each chunk's sentence token counts), `sentences`
(per-sentence vectors packed beside the keyword rows), `stories` (wire copies of one story grouped). Every file they write
carries a format version (`assistant.formats`). Retrieval reads through these
classes and never calls Chroma itself.
"""
