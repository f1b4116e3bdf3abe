"""Retrieval: a question (+ filters) -> ranked, diversified `Passage`s, as one straight pipeline.

`retriever.Retriever.retrieve` runs the steps in order, each in its own module: `query` parses the question
(outlets, periods, parts and clauses via `hints`), `candidates` scores every chunk by keyword (BM25) and
dense similarity for each text of the question, `fusion` fuses those scores with the hint boosts,
`rules` picks per part and clause, `ranker` orders the candidates with the learned linear model (sentence
term matches from `terms`), `passages` turns rows into Passages, one per wire story, and `support` checks
that they hold the question's names, numbers, years and event (else retrieval judges it not covered). `rerank` is the
optional CrossEncoder. Tokenizing is the shared `assistant.text`; Chroma is reached only through the store.
"""
