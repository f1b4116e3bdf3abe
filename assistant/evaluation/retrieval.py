"""Benchmark scoring (`newsqa eval`): MultiHop-RAG retrieval metrics, abstention and latency."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.evaluation.common import Query, attempt, failure_lines, markdown_table, per_type, squash
from assistant.types import Passage

TOP = 10  # the benchmark scores the top 10 chunks
METRICS = ("hits@4", "hits@10", "mrr@10", "map@10", "recall@10", "all@10")


@dataclass(frozen=True)
class Ranking:
    """The scores of one question's retrieved chunks."""

    hits4: float
    hits10: float
    rr: float
    ap: float
    recall: float
    all_found: float

    def values(self) -> dict[str, float]:
        """Metric name -> value."""
        return dict(
            zip(
                METRICS,
                (self.hits4, self.hits10, self.rr, self.ap, self.recall, self.all_found),
                strict=False,
            )
        )


def score_ranking(chunks: Sequence[str], facts: Sequence[str]) -> Ranking:
    """Benchmark metrics for one ranked list of chunk texts against the question's gold facts."""
    gold = [squash(f) for f in facts]
    top = [squash(c) for c in chunks[:TOP]]
    covered: set[int] = set()
    first_relevant = 0
    ap = 0.0
    for rank, chunk in enumerate(top, start=1):
        found = {i for i, fact in enumerate(gold) if fact in chunk}
        if found and not first_relevant:
            first_relevant = rank
        ap += len(found - covered) / rank
        covered |= found
    n = len(gold)
    return Ranking(
        hits4=float(0 < first_relevant <= 4),
        hits10=float(first_relevant > 0),
        rr=1.0 / first_relevant if first_relevant else 0.0,
        ap=ap / min(n, TOP) if n else 0.0,
        recall=len(covered) / n if n else 0.0,
        all_found=float(n > 0 and len(covered) == n),
    )


@dataclass
class EvalReport:
    """Aggregated metrics, overall and per question type."""

    questions: int = 0
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # group -> metric -> mean
    counts: dict[str, int] = field(default_factory=dict)  # group -> answerable questions
    null_abstention: float | None = None
    false_abstention: float | None = None
    latency_ms: dict[str, float] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)  # "id: error" of questions retrieval failed on

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able numbers."""
        return {
            "questions": self.questions,
            "metrics": self.metrics,
            "counts": self.counts,
            "null_abstention": self.null_abstention,
            "false_abstention": self.false_abstention,
            "latency_ms": self.latency_ms,
            "failed": self.failed,
        }

    def table(self) -> str:
        """The report as a Markdown table plus abstention and latency lines."""
        lines = [markdown_table(self.metrics, self.counts, METRICS)]
        if self.null_abstention is not None:
            lines.append(f"null questions abstained: {self.null_abstention:.3f}")
        if self.false_abstention is not None:
            lines.append(f"answerable questions abstained (false abstention): {self.false_abstention:.3f}")
        if self.latency_ms:
            lat = self.latency_ms
            lines.append(f"retrieval latency: median {lat['median']:.1f} ms, p95 {lat['p95']:.1f} ms")
        return "\n".join(lines + failure_lines(self.failed))


Retrieve = Callable[[Query], tuple[list[Passage], bool]]  # question -> (top passages, abstained)


def evaluate(
    queries: Sequence[Query], retrieve: Retrieve, progress: Callable[[], None] | None = None
) -> EvalReport:
    """Run every question through `retrieve` and aggregate the benchmark's metrics."""
    scored: list[tuple[Query, Ranking]] = []
    abstained_null: list[bool] = []
    abstained_answerable: list[bool] = []
    latencies: list[float] = []
    failed: list[str] = []
    for query in queries:
        started = time.perf_counter()
        result: tuple[list[Passage], bool] = attempt(query, retrieve, failed) or ([], False)
        passages, abstained = result
        latencies.append((time.perf_counter() - started) * 1000)
        if progress:
            progress()
        if query.is_null or not query.facts:  # no gold fact to rank against: scored as a null question
            abstained_null.append(abstained)
            continue
        abstained_answerable.append(abstained)
        scored.append((query, score_ranking([p.text for p in passages], query.facts)))
    report = EvalReport(questions=len(queries), failed=failed)
    for group, rankings in per_type(scored).items():
        rows = [r.values() for r in rankings]
        report.metrics[group] = {m: statistics.fmean(row[m] for row in rows) for m in METRICS}
        report.counts[group] = len(rankings)
    if abstained_null:
        report.null_abstention = statistics.fmean(abstained_null)
    if abstained_answerable:
        report.false_abstention = statistics.fmean(abstained_answerable)
    if latencies:
        ordered = sorted(latencies)
        report.latency_ms = {
            "median": statistics.median(ordered),
            "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
            "mean": statistics.fmean(ordered),
        }
    return report
