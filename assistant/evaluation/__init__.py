"""Evaluation: MultiHop-RAG-format question files scored end to end.

`common` loads questions and prints tables (one loader, one null type, one squash for both);
`retrieval` scores ranked chunks (hits, MRR, MAP, evidence recall) for `newsqa eval`; `answers` scores
whole answers (accuracy, refusal, citation precision) for `newsqa eval --answers`.
"""
