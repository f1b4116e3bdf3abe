"""Answer scoring for `newsqa eval --answers` on a MultiHop-RAG-format file (any backend, `none` included)."""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.answer.citations import is_refusal, marker_numbers, normalize_markers, strip_markers
from assistant.answer.compose import unresolved
from assistant.evaluation.common import (
    Query,
    attempt,
    failure_lines,
    load_queries,
    markdown_table,
    per_type,
    squash,
)
from assistant.text import split_sentences
from assistant.types import NOT_COVERED, Answer, Filters, Passage

if TYPE_CHECKING:
    from assistant.assistant import Assistant

METRICS = (
    "accuracy",
    "strict",
    "refusal",
    "false_refusal",
    "cite_precision",
    "verified_sentences",
    "dangling",
)
_ANSWER_LINE = re.compile(r'The answer to the question is "(.*?)"')


def benchmark_correct(answer_text: str, gold: str) -> bool:
    """MultiHop-RAG's qa_evaluate rule: any whitespace token shared by the (extracted) answer and the gold."""
    match = _ANSWER_LINE.search(answer_text)
    prediction = match.group(1) if match else answer_text
    return bool(set(prediction.lower().split()) & set(gold.lower().split()))


def strict_correct(answer: Answer, query: Query) -> bool:
    """Stricter: the gold answer string appears (as whole words) in the answer; a null question must abstain."""
    if query.is_null:
        return answer.abstained
    gold = " ".join(query.answer.lower().split()).rstrip(".")
    text = " ".join(strip_markers(answer.text).lower().split())
    return bool(gold) and re.search(rf"(?<!\w){re.escape(gold)}(?!\w)", text) is not None


def cited_with_fact(answer: Answer, facts: Sequence[str]) -> tuple[int, int]:
    """(citations whose passage contains a gold fact, all citations); facts match with whitespace removed."""
    gold = [squash(f) for f in facts]
    good = sum(1 for c in answer.citations if any(f in squash(c.passage.text) for f in gold))
    return good, len(answer.citations)


def verified_sentences(answer: Answer) -> tuple[int, int]:
    """(sentences carrying at least one verified citation, all sentences) of an answer that did not abstain;
    a sentence saying no article covers a part ("None of the indexed articles from X covers this.") is no
    claim and is not counted."""
    verified = {c.n for c in answer.citations if c.verified}
    sentences = [s for s in split_sentences(normalize_markers(answer.text)) if not is_refusal(s, NOT_COVERED)]
    return sum(1 for s in sentences if set(marker_numbers(s)) & verified), len(sentences)


@dataclass(frozen=True)
class _Scores:
    """One answer's scores; a null question has a refusal and no citation or sentence counts."""

    correct: bool
    strict: bool
    refused: bool | None = None  # a null question declined
    false_refusal: bool | None = None  # an answerable question declined
    cites: tuple[int, int] = (0, 0)  # (citing a gold fact, all)
    sentences: tuple[int, int] = (0, 0)  # (with a verified citation, all)
    dangling: tuple[int, int] = (0, 0)  # (opening with a reference nothing before resolves, all)


def _values(scores: Sequence[_Scores]) -> dict[str, float | None]:
    """The metrics of one group of answers (None where the group has nothing to measure)."""

    def mean(xs: list[bool]) -> float | None:
        return statistics.fmean(xs) if xs else None

    def ratio(pairs: list[tuple[int, int]]) -> float | None:
        total = sum(n for _, n in pairs)
        return sum(k for k, _ in pairs) / total if total else None

    return {
        "accuracy": mean([s.correct for s in scores]),
        "strict": mean([s.strict for s in scores]),
        "refusal": mean([s.refused for s in scores if s.refused is not None]),
        "false_refusal": mean([s.false_refusal for s in scores if s.false_refusal is not None]),
        "cite_precision": ratio([s.cites for s in scores]),
        "verified_sentences": ratio([s.sentences for s in scores]),
        "dangling": ratio([s.dangling for s in scores]),
    }


def cited_passages(answer: Answer) -> list[Passage]:
    """Every passage an answer cites."""
    return [p for c in answer.citations for p, _ in c.cited]


def _score(answer: Answer, query: Query) -> _Scores:
    """Score one answer against its question's gold answer and gold facts."""
    correct, strict = benchmark_correct(answer.text, query.answer), strict_correct(answer, query)
    if query.is_null:
        return _Scores(correct, strict, refused=answer.abstained)
    sentences = (0, 0) if answer.abstained else verified_sentences(answer)
    return _Scores(
        correct,
        strict,
        false_refusal=answer.abstained,
        cites=cited_with_fact(answer, query.facts),
        sentences=sentences,
        dangling=(0, 0) if answer.abstained else unresolved(answer.text, cited_passages(answer)),
    )


@dataclass
class AnswerReport:
    """Answer metrics overall and per question type, with the backend and the time per answer."""

    backend: str = "extractive"
    questions: int = 0
    metrics: dict[str, dict[str, float | None]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    fallbacks: int = 0  # answers where the LLM failed and the extractive answer was used
    fallback_reasons: dict[str, int] = field(default_factory=dict)  # unverifiable / timeout / error
    seconds_per_answer: float = 0.0
    failed: list[str] = field(default_factory=list)  # "id: error" of questions answering failed on

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able numbers."""
        return dict(self.__dict__)

    def table(self) -> str:
        """A Markdown table plus the definitions of the columns."""
        lines = [
            f"answers by {self.backend}: {self.questions} questions, {self.seconds_per_answer:.2f} s/answer",
            markdown_table(self.metrics, self.counts, METRICS),
        ]
        if self.fallbacks:
            why = ", ".join(f"{reason} {n}" for reason, n in sorted(self.fallback_reasons.items()))
            lines.append(f"LLM failures answered extractively: {self.fallbacks} ({why})")
        lines += failure_lines(self.failed)
        lines.append(
            "accuracy: the benchmark's rule (a shared word with the gold answer); strict: the gold answer in the "
            "answer (null: abstained); refusal: null questions declined; false_refusal: answerable ones declined; "
            "cite_precision: citations whose passage "
            "holds a gold fact; verified_sentences: sentences with a verified citation; dangling: sentences opening "
            "with a reference ('They', 'The company') that nothing before them resolves."
        )
        return "\n".join(lines)


def fallback_reason(answer: Answer) -> str:
    """Why an LLM answer was shown extractively, from its last notice: unverifiable, timeout or error."""
    note = answer.notices[-1] if answer.notices else ""
    if "could not be verified" in note:
        return "unverifiable"
    return "timeout" if "did not answer within" in note else "error"


def evaluate_answers(
    queries: Sequence[Query],
    ask: Callable[[Query], Answer],
    backend: str = "extractive",
    progress: Callable[[], None] | None = None,
) -> AnswerReport:
    """Answer every question with `ask` and score the answers."""
    scored: list[tuple[Query, _Scores]] = []
    started = time.perf_counter()
    reasons: Counter[str] = Counter()
    failed: list[str] = []
    for query in queries:
        answer = attempt(query, ask, failed) or Answer(question=query.text, text="")
        if progress:
            progress()
        if backend != "extractive" and answer.backend == "extractive" and not answer.abstained:
            reasons[fallback_reason(answer)] += 1
        scored.append((query, _score(answer, query)))
    report = AnswerReport(
        backend=backend,
        questions=len(queries),
        fallbacks=sum(reasons.values()),
        fallback_reasons=dict(reasons),
        failed=failed,
    )
    report.seconds_per_answer = (time.perf_counter() - started) / len(queries) if queries else 0.0
    for group, scores in per_type(scored).items():
        report.metrics[group] = _values(scores)
        report.counts[group] = len(scores)
    return report


def run_answer_eval(
    assistant: Assistant,
    path: str | Path,
    limit: int | None = None,
    k: int | None = None,
    progress: Callable[[], None] | None = None,
) -> AnswerReport:
    """The `eval --answers` hook: answer the file's questions with the configured backend and score them."""
    queries = load_queries(path, limit, need_answer=True)
    backend = assistant.llm.spec.label if assistant.llm is not None else "extractive"
    return evaluate_answers(
        queries, lambda q: assistant.ask(q.text, k=k, filters=Filters(as_of=q.as_of)), backend, progress
    )
