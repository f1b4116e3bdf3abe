"""newsqa: question answering over news with cited answers.

Rooms, in the order data flows: `ingest/` (sources -> Articles -> chunks), `store/` (the one boundary that
speaks Chroma, with the keyword index, sentence vectors and wire-story groups beside it), `retrieval/`
(question -> ranked Passages), `answer/` (Passages -> a cited Answer), `evaluation/` (benchmark scoring),
and the front ends `cli/` and `web/`, which use only the `Assistant` facade (assistant.py) and the shared
types (types.py). Importing the package loads nothing heavy.
"""
