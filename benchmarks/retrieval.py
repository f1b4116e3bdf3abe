"""Retrieval on MultiHop-RAG dev, one row per step of the hybrid retriever (what each step buys).

    NEWSQA_INDEX=/tmp/mhr-index newsqa ingest ../shared/data/multihop-rag/corpus.json   # once
    NEWSQA_INDEX=/tmp/mhr-index python benchmarks/retrieval.py [--queries FILE] [--steps a,b] [--limit N]

Every step runs the same `Retriever.retrieve` the chat uses, with the tuning of that step; the scoring is
`newsqa eval`'s (the benchmark's rule). Prints a Markdown table over the non-null questions, the
abstention rates and the retrieval latency.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.assistant import Assistant
from assistant.embedding import Embedder
from assistant.evaluation.common import Query, load_queries
from assistant.evaluation.retrieval import METRICS, TOP, EvalReport, evaluate
from assistant.retrieval.retriever import Retriever
from assistant.retrieval.tuning import Tuning
from assistant.settings import Settings
from assistant.types import Filters, Passage, evidence_found

DEFAULT_QUERIES = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "multihop-rag" / "dev-queries.json"
)
PLAIN = Tuning(use_hints=False, use_parts=False, use_clauses=False, learned_pool=0)
STEPS: dict[str, Tuning] = {
    "dense": dataclasses.replace(PLAIN, keyword_weight=0.0),
    "bm25": dataclasses.replace(PLAIN, dense_weight=0.0),
    "rrf": dataclasses.replace(PLAIN, fusion="rrf"),
    "fusion": PLAIN,
    "+hints": dataclasses.replace(PLAIN, use_hints=True),
    "+parts": dataclasses.replace(PLAIN, use_hints=True, use_parts=True),
    "+clauses": Tuning(lead_boost=0.0, sentence_weight=0.0, learned_pool=0),
    "+lead/apart": Tuning(one_pass=False, sentence_weight=0.0, learned_pool=0),  # pieces embedded apart
    "+lead": Tuning(sentence_weight=0.0, learned_pool=0),  # question pieces pooled from one forward pass
    "+sentences": Tuning(learned_pool=0),  # the rule-based order (hybrid.rank) alone
    "+learned": Tuning(),  # the defaults: what `newsqa ask` and `newsqa eval` use (assistant/retrieval/ranker.py)
}


class CachedEmbedder:
    """The real embedder, remembering query vectors across steps (for tuning runs; latency is then wrong)."""

    def __init__(self, embedder: Embedder, path: Path | None = None) -> None:
        self.embedder = embedder
        self.dimension = embedder.dimension
        self.memo: dict[str, np.ndarray] = {}
        self.path = path
        if path and path.is_file():
            with np.load(path) as data:
                self.memo = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))

    def save(self) -> None:
        """Write the remembered vectors to the cache file, if one was given."""
        if self.path and self.memo:
            np.savez(self.path, texts=np.array(list(self.memo)), vectors=np.stack(list(self.memo.values())))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Rows for texts, embedding only those not seen before."""
        new = [t for t in dict.fromkeys(texts) if t not in self.memo]
        for text, vector in zip(new, self.embedder.embed(new), strict=True):
            self.memo[text] = vector
        return np.stack([self.memo[t] for t in texts]) if texts else self.embedder.embed([])

    embed_cached = embed

    def embed_question(self, question: str, regions: Sequence[Any]) -> tuple[np.ndarray, list[Any]]:
        """One pass with pooled regions (not remembered: the pooled vectors depend on the regions)."""
        return self.embedder.embed_question(question, regions)


def run(assistant: Assistant, tuning: Tuning, queries: Path, limit: int | None, embedder: Any) -> EvalReport:
    """Evaluate one tuning."""
    retriever = Retriever(assistant.index, embedder, tuning)
    retriever.retrieve("warm up")
    if isinstance(embedder, Embedder):
        embedder.clear_cache()  # each step times questions it has not seen

    def retrieve(query: Query) -> tuple[list[Passage], bool]:
        passages = retriever.retrieve(query.text, k=TOP, filters=Filters(as_of=query.as_of))
        return passages, not evidence_found(passages)

    return evaluate(load_queries(queries)[:limit], retrieve)


def main() -> None:
    """Run the steps and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES)
    parser.add_argument("--steps", default=",".join(STEPS), help=f"comma-separated, of: {', '.join(STEPS)}")
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument("--tuning", default="{}", help="JSON of Tuning fields applied to every step")
    parser.add_argument("--cache", action="store_true", help="reuse query vectors across steps (no latency)")
    parser.add_argument("--cache-file", type=Path, help="keep the reused vectors in this .npz between runs")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    args = parser.parse_args()
    if not args.queries.is_file():
        raise SystemExit(
            f"queries not found: {args.queries} (MultiHop-RAG dev-queries.json from ../shared/data)"
        )
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    assistant = Assistant(Settings.load())
    if assistant.index.count() == 0:
        raise SystemExit("the index is empty: ingest the MultiHop-RAG corpus first (see the docstring)")
    extra = json.loads(args.tuning)
    cached = args.cache or args.cache_file
    embedder = CachedEmbedder(assistant.embedder, args.cache_file) if cached else assistant.embedder
    print(f"| step | {' | '.join(METRICS)} | null abstained | false abstention | median ms | p95 ms |")
    print("|" + "---|" * (len(METRICS) + 5))
    for name in args.steps.split(","):
        report = run(assistant, dataclasses.replace(STEPS[name], **extra), args.queries, args.limit, embedder)
        cells = " | ".join(f"{report.metrics['all'][m]:.3f}" for m in METRICS)
        lat = report.latency_ms
        print(
            f"| {name} | {cells} | {report.null_abstention or 0:.3f} | {report.false_abstention or 0:.3f} "
            f"| {lat['median']:.1f} | {lat['p95']:.1f} |",
            flush=True,
        )
        if isinstance(embedder, CachedEmbedder):
            embedder.save()


if __name__ == "__main__":
    main()
