"""Store: what is kept on disk and how it is read back.

`chroma.NewsIndex` is the one boundary that speaks Chroma (chunks, embeddings, metadata, filters as `where`
clauses); beside it `keywords` (the BM25 index with each chunk's sentence token counts), `sentences`
(per-sentence vectors packed beside the keyword rows), `stories` (wire copies of one story grouped) and
`formats` (the format version stamped on every file the index writes). Retrieval reads through these
classes and never calls Chroma itself.
"""
