"""Benchmark scoring (`newsqa eval`): MultiHop-RAG retrieval metrics, abstention and latency."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import InputError
from assistant.types import Passage

NULL_TYPE = "null_query"
TOP = 10  # the benchmark scores the top 10 chunks
METRICS = ("hits@4", "hits@10", "mrr@10", "map@10", "recall@10", "all@10")


@dataclass(frozen=True)
class Query:
    """One benchmark question and its gold facts (none for a null question)."""

    id: str
    text: str
    kind: str
    facts: tuple[str, ...]

    @property
    def is_null(self) -> bool:
        """A question the corpus cannot answer."""
        return self.kind == NULL_TYPE or not self.facts


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


def squash(text: str) -> str:
    """Text with all whitespace removed (the benchmark's matching rule)."""
    return "".join(text.split())


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


def load_queries(path: str | Path) -> list[Query]:
    """Questions from a MultiHop-RAG-format JSON file."""
    try:
        rows = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(str(path), f"cannot read the questions file: {exc}") from None
    if not isinstance(rows, list):
        raise InputError(str(path), "expected a JSON list of {query, question_type, evidence_list} objects")
    queries = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not row.get("query"):
            raise InputError(str(path), f"item {i} has no 'query'")
        facts = tuple(str(e["fact"]) for e in row.get("evidence_list") or [] if e.get("fact"))
        kind = str(row.get("question_type") or "unknown")
        queries.append(Query(str(row.get("id", i)), str(row["query"]), kind, facts))
    return queries


@dataclass
class EvalReport:
    """Aggregated metrics, overall and per question type."""

    questions: int = 0
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # group -> metric -> mean
    counts: dict[str, int] = field(default_factory=dict)  # group -> answerable questions
    null_abstention: float | None = None
    false_abstention: float | None = None
    latency_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able numbers."""
        return {
            "questions": self.questions,
            "metrics": self.metrics,
            "counts": self.counts,
            "null_abstention": self.null_abstention,
            "false_abstention": self.false_abstention,
            "latency_ms": self.latency_ms,
        }

    def table(self) -> str:
        """The report as a Markdown table plus abstention and latency lines."""
        head = "| group | n | " + " | ".join(METRICS) + " |"
        lines = [head, "|" + "---|" * (len(METRICS) + 2)]
        for group, values in self.metrics.items():
            cells = " | ".join(f"{values[m]:.3f}" for m in METRICS)
            lines.append(f"| {group} | {self.counts[group]} | {cells} |")
        if self.null_abstention is not None:
            lines.append(f"null questions abstained: {self.null_abstention:.3f}")
        if self.false_abstention is not None:
            lines.append(f"answerable questions abstained (false abstention): {self.false_abstention:.3f}")
        if self.latency_ms:
            lat = self.latency_ms
            lines.append(f"retrieval latency: median {lat['median']:.1f} ms, p95 {lat['p95']:.1f} ms")
        return "\n".join(lines)


Retrieve = Callable[[str], tuple[list[Passage], bool]]  # question -> (top passages, abstained)


def evaluate(
    queries: Sequence[Query], retrieve: Retrieve, progress: Callable[[], None] | None = None
) -> EvalReport:
    """Run every question through `retrieve` and aggregate the benchmark's metrics."""
    per_group: dict[str, list[Ranking]] = {}
    abstained_null: list[bool] = []
    abstained_answerable: list[bool] = []
    latencies: list[float] = []
    for query in queries:
        started = time.perf_counter()
        passages, abstained = retrieve(query.text)
        latencies.append((time.perf_counter() - started) * 1000)
        if progress:
            progress()
        if query.is_null:
            abstained_null.append(abstained)
            continue
        abstained_answerable.append(abstained)
        ranking = score_ranking([p.text for p in passages], query.facts)
        per_group.setdefault("all", []).append(ranking)
        per_group.setdefault(query.kind, []).append(ranking)
    report = EvalReport(questions=len(queries))
    for group in ["all", *sorted(g for g in per_group if g != "all")]:
        rankings = per_group[group]
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
