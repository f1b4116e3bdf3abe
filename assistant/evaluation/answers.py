"""Answer scoring for `newsqa eval --answers` on a MultiHop-RAG-format file (any backend, `none` included)."""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.answer.citations import marker_numbers, normalize_markers, strip_markers
from assistant.errors import InputError
from assistant.text import split_sentences
from assistant.types import Answer

if TYPE_CHECKING:
    from assistant.assistant import Assistant

NULL_TYPE = "null_query"
METRICS = ("accuracy", "strict", "refusal", "cite_precision", "verified_sentences")
_ANSWER_LINE = re.compile(r'The answer to the question is "(.*?)"')


@dataclass(frozen=True)
class AnswerQuery:
    """One benchmark question with its gold answer and gold facts."""

    id: str
    text: str
    kind: str
    gold: str
    facts: tuple[str, ...]

    @property
    def is_null(self) -> bool:
        """A question the corpus cannot answer (gold: 'Insufficient information.')."""
        return self.kind == NULL_TYPE


def load_answer_queries(path: str | Path, limit: int | None = None) -> list[AnswerQuery]:
    """Questions with gold answers from a MultiHop-RAG-format JSON list."""
    try:
        rows = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(str(path), f"cannot read the questions file: {exc}") from None
    if not isinstance(rows, list):
        raise InputError(str(path), "expected a JSON list of {query, answer, question_type, evidence_list}")
    queries = []
    for i, row in enumerate(rows[:limit] if limit else rows):
        if not isinstance(row, dict) or not row.get("query") or "answer" not in row:
            raise InputError(str(path), f"item {i} needs 'query' and 'answer' to score answers")
        facts = tuple(str(e["fact"]) for e in row.get("evidence_list") or [] if e.get("fact"))
        kind = str(row.get("question_type") or "unknown")
        queries.append(AnswerQuery(str(row.get("id", i)), str(row["query"]), kind, str(row["answer"]), facts))
    return queries


def benchmark_correct(answer_text: str, gold: str) -> bool:
    """MultiHop-RAG's qa_evaluate rule: any whitespace token shared by the (extracted) answer and the gold."""
    match = _ANSWER_LINE.search(answer_text)
    prediction = match.group(1) if match else answer_text
    return bool(set(prediction.lower().split()) & set(gold.lower().split()))


def strict_correct(answer: Answer, query: AnswerQuery) -> bool:
    """Stricter: the gold answer string appears (as whole words) in the answer; a null question must abstain."""
    if query.is_null:
        return answer.abstained
    gold = " ".join(query.gold.lower().split()).rstrip(".")
    text = " ".join(strip_markers(answer.text).lower().split())
    return bool(gold) and re.search(rf"(?<!\w){re.escape(gold)}(?!\w)", text) is not None


def _squash(text: str) -> str:
    return "".join(text.split())


def cited_with_fact(answer: Answer, facts: Sequence[str]) -> tuple[int, int]:
    """(citations whose passage contains a gold fact, all citations); facts match with whitespace removed."""
    gold = [_squash(f) for f in facts]
    good = sum(1 for c in answer.citations if any(f in _squash(c.passage.text) for f in gold))
    return good, len(answer.citations)


def verified_sentences(answer: Answer) -> tuple[int, int]:
    """(sentences carrying at least one verified citation, all sentences) of an answer that did not abstain."""
    verified = {c.n for c in answer.citations if c.verified}
    sentences = split_sentences(normalize_markers(answer.text))
    return sum(1 for s in sentences if set(marker_numbers(s)) & verified), len(sentences)


@dataclass
class _Tally:
    benchmark: list[bool] = field(default_factory=list)
    strict: list[bool] = field(default_factory=list)
    refusals: list[bool] = field(default_factory=list)
    cites: list[int] = field(default_factory=lambda: [0, 0])
    sentences: list[int] = field(default_factory=lambda: [0, 0])

    def values(self) -> dict[str, float | None]:
        def mean(xs: list[bool]) -> float | None:
            return statistics.fmean(xs) if xs else None

        return {
            "accuracy": mean(self.benchmark),
            "strict": mean(self.strict),
            "refusal": mean(self.refusals),
            "cite_precision": self.cites[0] / self.cites[1] if self.cites[1] else None,
            "verified_sentences": self.sentences[0] / self.sentences[1] if self.sentences[1] else None,
        }


@dataclass
class AnswerReport:
    """Answer metrics overall and per question type, with the backend and the time per answer."""

    backend: str = "extractive"
    questions: int = 0
    metrics: dict[str, dict[str, float | None]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    fallbacks: int = 0  # answers where the LLM failed and the extractive answer was used
    seconds_per_answer: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able numbers."""
        return dict(self.__dict__)

    def table(self) -> str:
        """A Markdown table plus the definitions of the columns."""
        lines = [
            f"answers by {self.backend}: {self.questions} questions, {self.seconds_per_answer:.2f} s/answer"
        ]
        lines += ["| group | n | " + " | ".join(METRICS) + " |", "|" + "---|" * (len(METRICS) + 2)]
        for group, values in self.metrics.items():
            cells = " | ".join("-" if values[m] is None else f"{values[m]:.3f}" for m in METRICS)
            lines.append(f"| {group} | {self.counts[group]} | {cells} |")
        if self.fallbacks:
            lines.append(f"LLM failures answered extractively: {self.fallbacks}")
        lines.append(
            "accuracy: the benchmark's rule (a shared word with the gold answer); strict: the gold answer in the "
            "answer (null: abstained); refusal: null questions declined; cite_precision: citations whose passage "
            "holds a gold fact; verified_sentences: sentences with a verified citation."
        )
        return "\n".join(lines)


def evaluate_answers(
    queries: Sequence[AnswerQuery],
    ask: Callable[[str], Answer],
    backend: str = "extractive",
    progress: Callable[[], None] | None = None,
) -> AnswerReport:
    """Answer every question with `ask` and score the answers."""
    tallies: dict[str, _Tally] = {}
    started = time.perf_counter()
    fallbacks = 0
    for query in queries:
        answer = ask(query.text)
        if progress:
            progress()
        fallbacks += int(backend != "extractive" and answer.backend == "extractive" and not answer.abstained)
        for group in ("all", query.kind):
            tally = tallies.setdefault(group, _Tally())
            tally.benchmark.append(benchmark_correct(answer.text, query.gold))
            tally.strict.append(strict_correct(answer, query))
            if query.is_null:
                tally.refusals.append(answer.abstained)
                continue
            good, total = cited_with_fact(answer, query.facts)
            tally.cites[0] += good
            tally.cites[1] += total
            if not answer.abstained:
                verified, sentences = verified_sentences(answer)
                tally.sentences[0] += verified
                tally.sentences[1] += sentences
    report = AnswerReport(backend=backend, questions=len(queries), fallbacks=fallbacks)
    report.seconds_per_answer = (time.perf_counter() - started) / len(queries) if queries else 0.0
    for group in ["all", *sorted(g for g in tallies if g != "all")]:
        report.metrics[group] = tallies[group].values()
        report.counts[group] = len(tallies[group].benchmark)
    return report


def run_answer_eval(
    assistant: Assistant,
    path: str | Path,
    limit: int | None = None,
    k: int | None = None,
    progress: Callable[[], None] | None = None,
) -> AnswerReport:
    """The `eval --answers` hook: answer the file's questions with the configured backend and score them."""
    queries = load_answer_queries(path, limit)
    backend = assistant.llm.spec.label if assistant.llm is not None else "extractive"
    return evaluate_answers(queries, lambda q: assistant.ask(q, k=k), backend, progress)
