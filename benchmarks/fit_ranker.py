"""Fit the learned ranker's weights (assistant/retrieval/ranker.py) on MultiHop-RAG dev and print their 5-fold score.

    newsqa --index /tmp/mhr-index ingest ../shared/data/multihop-rag/corpus.json   # once
    python benchmarks/fit_ranker.py --index /tmp/mhr-index [--queries FILE] [--folds 5] [--l2 1.0]

Runs every non-null question through the real `Retriever.retrieve`, records the features of each
candidate and whether its text holds a gold fact (the benchmark's rule), fits an L2 logistic regression
(Newton steps, numpy only), and prints: the rule-based order's metrics, the cross-validated metrics of the
learned order (each fold scored by weights fit on the other folds), and the weights fit on all questions,
ready to paste into `ranker.WEIGHTS`.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.assistant import build_assistant
from assistant.evaluation.common import load_queries, squash
from assistant.evaluation.retrieval import METRICS, TOP, score_ranking
from assistant.retrieval.ranker import FEATURES, RECENCY, Candidates, LearnedRanker, features
from assistant.retrieval.retriever import Retriever
from assistant.retrieval.terms import SentenceTerms
from assistant.settings import Settings

DEFAULT_QUERIES = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "multihop-rag" / "dev-queries.json"
)


def fit(x: np.ndarray, y: np.ndarray, offset: np.ndarray, l2: float, steps: int = 30) -> np.ndarray:
    """Logistic-regression weights around a fixed offset per row (the intercept is dropped: it does not
    change an order)."""
    mean, std = x.mean(0), x.std(0) + 1e-9
    z = np.column_stack([(x - mean) / std, np.ones(len(x))])
    w = np.zeros(z.shape[1])
    ridge = l2 * np.diag(np.r_[np.ones(z.shape[1] - 1), 0.0])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w + offset)))
        gradient = z.T @ (p - y) + ridge @ w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + ridge
        w -= np.linalg.solve(hessian, gradient)
    return w[:-1] / std


def collect(index: str, queries: Path) -> list[dict[str, Any]]:
    """Per non-null question: candidate features, labels, chunk texts and the rule-based order."""
    assistant = build_assistant(dataclasses.replace(Settings(), index=Path(index)))
    seen: dict[str, Any] = {}

    class Recording(LearnedRanker):
        """The shipped ranker, recording each question's candidates and features on the way."""

        def order(self, c: Candidates, texts: Sequence[str], terms: SentenceTerms) -> list[int]:
            offset = RECENCY * c.newest
            seen.update(
                x=features(c, texts, terms),
                offset=offset,
                rows=[int(r) for r in c.rows],
                picked=list(c.picked),
            )
            return super().order(c, texts, terms)

    retriever = Retriever(assistant.index, assistant.embedder, ranker=Recording())
    out = []
    for query in load_queries(queries):
        if query.is_null:
            continue
        seen.clear()
        retriever.retrieve(query.text, k=TOP)
        if not seen:
            continue
        ids = retriever.snapshot.rows.ids(seen["rows"])  # texts are read from the store, not held
        found = {cid: text for cid, text, _, _ in assistant.index.chunks(ids)}
        texts = [found.get(cid, "") for cid in ids]
        gold = [squash(f) for f in query.facts]
        labels = np.array([any(g in squash(t) for g in gold) for t in texts], dtype=float)
        picked = [seen["rows"].index(r) for r in seen["picked"] if r in seen["rows"]]
        out.append(dict(seen, y=labels, texts=texts, facts=query.facts, picked_at=picked))
    return out


def stack(items: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and offsets of all candidates of these questions."""
    return (
        np.vstack([it["x"] for it in items]),
        np.concatenate([it["y"] for it in items]),
        np.concatenate([it["offset"] for it in items]),
    )


def metrics(items: Sequence[dict[str, Any]], orders: Sequence[Sequence[int]]) -> dict[str, float]:
    """Mean benchmark metrics of the given candidate orders."""
    values = [
        score_ranking([it["texts"][i] for i in o[:TOP]], it["facts"]).values()
        for it, o in zip(items, orders, strict=True)
    ]
    return {m: float(np.mean([v[m] for v in values])) for m in METRICS}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--index", required=True, help="an index holding the MultiHop-RAG corpus")
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--l2", type=float, default=1.0)
    args = parser.parse_args()
    items = collect(args.index, args.queries)
    rng = np.random.default_rng(0)
    folds = np.array_split(rng.permutation(len(items)), args.folds)
    learned: list[list[int]] = [[] for _ in items]
    for test in folds:
        held = set(test.tolist())
        train = [it for i, it in enumerate(items) if i not in held]
        w = fit(*stack(train), args.l2)
        for i in test:
            learned[i] = list(np.argsort(-(items[i]["x"] @ w + items[i]["offset"]), kind="stable"))
    rules = [it["picked_at"] for it in items]
    print(f"{len(items)} questions, {len(FEATURES)} features\n")
    print("| order | " + " | ".join(METRICS) + " |")
    print("|" + "---|" * (len(METRICS) + 1))
    for name, orders in (("rules (hybrid.rank)", rules), (f"learned, {args.folds}-fold CV", learned)):
        row = metrics(items, orders)
        print(f"| {name} | " + " | ".join(f"{row[m]:.3f}" for m in METRICS) + " |")
    w = fit(*stack(items), args.l2)
    print("\nWEIGHTS = (" + ", ".join(f"{v:.3f}" for v in w) + ")")
    for name, v in zip(FEATURES, w, strict=True):
        print(f"  {name:28s} {v:+.3f}")


if __name__ == "__main__":
    main()
