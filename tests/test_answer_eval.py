"""`eval --answers` scoring on a tiny MultiHop-RAG-format file, for the extractive default and an LLM."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistant.embedding import Embedder
from assistant.evaluation.answers import (
    benchmark_correct,
    run_answer_eval,
    strict_correct,
    verified_sentences,
)
from assistant.types import Answer, Citation, Passage
from tests.llm_servers import ScriptedLLM, source_with
from tests.test_llm import CALL_Q, OFF_TOPIC_Q, index_dir, llm_assistant, new_assistant

__all__ = ["index_dir"]
FACT = "Within a single month, reports surfaced of three separate telephone calls, with one lasting approximately 50 minutes."
QUESTIONS = [
    {
        "id": 1,
        "query": CALL_Q,
        "answer": "50 minutes",
        "question_type": "inference_query",
        "evidence_list": [{"fact": FACT}],
    },
    {"id": 2, "query": OFF_TOPIC_Q, "answer": "Insufficient information.", "question_type": "null_query"},
]


@pytest.fixture
def questions(tmp_path: Path) -> Path:
    path = tmp_path / "queries.json"
    path.write_text(json.dumps(QUESTIONS), encoding="utf-8")
    return path


def test_rules() -> None:
    passage = Passage("c", "a", "t", "x")
    answer = Answer("q", "It lasted 50 minutes [1]. Unsure [unsupported].", [Citation(1, passage, "x", True)])
    assert benchmark_correct('The answer to the question is "Yes"', "yes")
    assert not benchmark_correct("Nope", "yes") and benchmark_correct(answer.text, "about 50")
    assert verified_sentences(answer) == (1, 2)
    query = type("Q", (), {"is_null": False, "answer": "50 minutes."})()
    assert strict_correct(answer, query) and not strict_correct(Answer("q", "150 minutes"), query)  # type: ignore[arg-type]


def test_eval_answers_with_the_extractive_default(
    index_dir: Path, embedder: Embedder, questions: Path
) -> None:
    report = run_answer_eval(new_assistant(index_dir, embedder), questions)
    values = report.metrics["all"]
    assert report.backend == "extractive" and report.questions == 2 and report.counts["null_query"] == 1
    assert values["refusal"] == 1.0 and values["verified_sentences"] == 1.0
    assert 0.0 < (values["cite_precision"] or 0.0) <= 1.0  # the extractive answer may cite a second passage
    assert values["strict"] == 1.0  # '50 minutes' is in the extracted sentence; the null question abstained
    assert "| all | 2 |" in report.table()


def test_eval_answers_with_an_llm(index_dir: Path, embedder: Embedder, questions: Path) -> None:
    def reply(body: dict[str, Any]) -> str:
        right, other = source_with(body, "50 minutes"), source_with(body, "50 minutes", without=True)
        return f"One call lasted approximately 50 minutes [{right}]. The Fed raised rates to 9% [{other}]."

    with ScriptedLLM("openai", reply) as server:
        report = run_answer_eval(llm_assistant(index_dir, embedder, server), questions)
    assert len(server.requests) == 1  # the null question was declined without a call
    values = report.metrics["all"]
    assert report.backend == "openai:test-model" and report.fallbacks == 0
    assert values["accuracy"] == 0.5 and values["strict"] == 1.0 and values["refusal"] == 1.0
    assert values["cite_precision"] == 1.0 and values["verified_sentences"] == 0.5


def test_eval_answers_says_why_llm_answers_fell_back(
    index_dir: Path, embedder: Embedder, questions: Path
) -> None:
    with ScriptedLLM("openai", lambda body: "Nothing I can say about that.") as server:  # no citation at all
        unverifiable = run_answer_eval(llm_assistant(index_dir, embedder, server), questions)
    with ScriptedLLM("openai", lambda body: "Late.", delay=3.0) as server:
        slow = run_answer_eval(llm_assistant(index_dir, embedder, server, llm_timeout=0.5), questions)
    assert unverifiable.fallback_reasons == {"unverifiable": 1} and slow.fallback_reasons == {"timeout": 1}
    assert "LLM failures answered extractively: 1 (timeout 1)" in slow.table()


def test_cli_eval_answers(index_dir: Path, questions: Path) -> None:
    from click.testing import CliRunner

    from assistant.cli.main import cli

    result = CliRunner().invoke(
        cli, ["--index", str(index_dir), "eval", str(questions), "--answers", "--json", "-q"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["answers"]["backend"] == "extractive" and data["answers"]["questions"] == 2
    assert data["answers"]["metrics"]["null_query"]["refusal"] == 1.0 and "metrics" in data["retrieval"]
