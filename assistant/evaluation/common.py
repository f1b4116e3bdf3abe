"""What both evaluations share: the question type, its loader, the matching rule and the Markdown table."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from assistant.dates import parse_date
from assistant.errors import InputError

NULL_TYPE = "null_query"
ALL = "all"  # the group of every question, listed before the question types
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Query:
    """One benchmark question with its type, gold facts (none for a null question) and gold answer."""

    id: str
    text: str
    question_type: str
    facts: tuple[str, ...]
    answer: str = ""  # "" when the file gives none (retrieval does not need it)
    as_of: datetime | None = None  # the moment it is asked (`question_date` or `as_of`; None: now)

    @property
    def is_null(self) -> bool:
        """A question the corpus cannot answer (gold: 'Insufficient information.')."""
        return self.question_type == NULL_TYPE


def load_queries(path: str | Path, limit: int | None = None, *, need_answer: bool = False) -> list[Query]:
    """The first `limit` questions (all when None) of a MultiHop-RAG-format JSON list, checked as read."""
    try:
        rows = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(str(path), f"cannot read the questions file: {exc}") from None
    if not isinstance(rows, list):
        shape = (
            "{query, answer, question_type, evidence_list}"
            if need_answer
            else "{query, question_type, evidence_list} objects"
        )
        raise InputError(str(path), f"expected a JSON list of {shape}")
    queries = []
    for i, row in enumerate(rows[:limit] if limit else rows):
        if not isinstance(row, dict) or not row.get("query") or (need_answer and "answer" not in row):
            needs = "needs 'query' and 'answer' to score answers" if need_answer else "has no 'query'"
            raise InputError(str(path), f"item {i} {needs}")
        facts = tuple(str(e["fact"]) for e in row.get("evidence_list") or [] if e.get("fact"))
        kind = str(row.get("question_type") or "unknown")
        answer = str(row["answer"]) if "answer" in row else ""
        when = row.get("question_date") or row.get("as_of")
        as_of = parse_date(str(when).replace("/", "-")) if when else None
        if when and as_of is None:
            raise InputError(str(path), f"item {i}: question_date {when!r} is not a date (use YYYY-MM-DD)")
        if as_of is not None and len(str(when).strip()) <= 10:  # a bare day: as of its end
            as_of = as_of.replace(hour=23, minute=59, second=59)
        queries.append(Query(str(row.get("id", i)), str(row["query"]), kind, facts, answer, as_of))
    return queries


def squash(text: str) -> str:
    """Text with all whitespace removed (the benchmark's matching rule)."""
    return "".join(text.split())


def per_type(scored: Iterable[tuple[Query, T]]) -> dict[str, list[T]]:
    """Each question's score under 'all' and under its type; 'all' first, then the types by name."""
    groups: dict[str, list[T]] = {}
    for query, score in scored:
        for group in (ALL, query.question_type):
            groups.setdefault(group, []).append(score)
    return {
        group: groups[group] for group in [ALL, *sorted(g for g in groups if g != ALL)] if group in groups
    }


def markdown_table(
    metrics: Mapping[str, Mapping[str, float | None]], counts: Mapping[str, int], names: Sequence[str]
) -> str:
    """A Markdown table, one row a group: its count, then each named metric to 3 decimals ('-' for none)."""
    lines = ["| group | n | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 2)]
    for group, values in metrics.items():
        cells = " | ".join("-" if values[m] is None else f"{values[m]:.3f}" for m in names)
        lines.append(f"| {group} | {counts[group]} | {cells} |")
    return "\n".join(lines)


def attempt(query: Query, run: Callable[[Query], R], failed: list[str]) -> R | None:
    """`run(query)`, or None with the failure noted (an evaluation reports a failing question and goes
    on: one question never ends a run)."""
    try:
        return run(query)
    except Exception as exc:  # any failure of the system under test is a result, not a crash
        failed.append(f"{query.id}: {type(exc).__name__}: {str(exc)[:200]}")
        return None


def failure_lines(failed: Sequence[str]) -> list[str]:
    """The report's lines on failed questions (none when nothing failed)."""
    if not failed:
        return []
    return [f"failed questions (scored as misses): {len(failed)}", *(f"  {line}" for line in failed[:20])]
