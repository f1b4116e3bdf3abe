"""Benchmark scoring on hand-checkable rankings, the eval report, and `newsqa eval` on a tiny real index."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.assistant import Assistant
from assistant.cli.main import cli
from assistant.errors import InputError
from assistant.evaluation.common import Query, load_queries
from assistant.evaluation.retrieval import evaluate, score_ranking
from assistant.types import Passage

FACTS = ["The bridge opens in 2027.", "It cost 40 million euros."]


def test_known_ranking_gives_known_scores() -> None:
    chunks = [
        "Unrelated text.",
        "Officials said: The bridge\nopens in   2027. More text.",  # whitespace differs: still relevant
        "Nothing here.",
        "Again: The bridge opens in 2027.",  # a fact already covered adds nothing
        "Unrelated.",
        "It cost 40 million euros.",
    ]
    r = score_ranking(chunks, FACTS)
    assert (r.hits4, r.hits10, r.rr) == (1.0, 1.0, 0.5)
    assert r.ap == pytest.approx((1 / 2 + 1 / 6) / 2)
    assert (r.recall, r.all_found) == (1.0, 1.0)
    late = score_ranking(["x"] * 4 + ["It cost 40 million euros."], FACTS)
    assert (late.hits4, late.hits10, late.rr, late.recall, late.all_found) == (0.0, 1.0, 0.2, 0.5, 0.0)
    assert late.ap == pytest.approx(0.2 / 2)
    beyond = score_ranking(["x"] * 10 + ["It cost 40 million euros."], FACTS)  # rank 11 does not count
    assert (beyond.hits10, beyond.rr, beyond.recall) == (0.0, 0.0, 0.0)
    assert score_ranking(["the bridge opens in 2027."], FACTS).hits4 == 0.0  # case matters, as in the paper


def test_one_chunk_covering_two_facts_counts_both_at_its_rank() -> None:
    r = score_ranking(["x", "The bridge opens in 2027. It cost 40 million euros."], FACTS)
    assert r.ap == pytest.approx((2 / 2) / 2)
    assert r.all_found == 1.0


def test_one_loader_reads_retrieval_and_answer_questions(tmp_path: Path) -> None:
    rows = [
        {
            "id": "a",
            "query": "When does the bridge open?",
            "answer": "2027",
            "question_type": "temporal_query",
            "evidence_list": [{"fact": FACTS[0]}, {"source": "no fact"}],
        },
        {
            "query": "What did the merger cost?",
            "question_type": "null_query",
            "answer": "Insufficient information.",
        },
        {"query": "Retrieval only: no answer, no type, no evidence"},
    ]
    path = tmp_path / "queries.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    first, null, bare = load_queries(path)
    assert (first.id, first.question_type, first.facts) == ("a", "temporal_query", (FACTS[0],))
    assert (first.answer, first.is_null) == ("2027", False)
    assert (null.id, null.question_type, null.facts, null.is_null) == ("1", "null_query", (), True)
    assert (bare.id, bare.question_type, bare.facts, bare.answer) == ("2", "unknown", (), "")
    assert load_queries(path, 2, need_answer=True) == [first, null]  # the limit stops before the bare one
    with pytest.raises(InputError, match=r"item 2 needs 'query' and 'answer'"):
        load_queries(path, need_answer=True)
    for bad in ("{not json", json.dumps({"query": "not a list"}), json.dumps([{"answer": "no query"}])):
        path.write_text(bad, encoding="utf-8")
        for need_answer in (False, True):
            with pytest.raises(InputError) as caught:
                load_queries(path, need_answer=need_answer)
            assert caught.value.origin == str(path) and str(caught.value).startswith(f"{path}: ")


def _passage(text: str) -> Passage:
    return Passage(chunk_id=text[:8], article_id="a", title="t", text=text)


def test_report_groups_types_and_counts_abstentions() -> None:
    queries = [
        Query("1", "q1", "inference_query", (FACTS[0],)),
        Query("2", "q2", "comparison_query", (FACTS[1],)),
        Query("3", "q3", "null_query", ()),
        Query("4", "q4", "null_query", ()),
    ]
    answers = {
        "q1": ([_passage(FACTS[0])], False),
        "q2": ([_passage("nothing")], True),
        "q3": ([], True),
        "q4": ([_passage("x")], False),
    }
    report = evaluate(queries, lambda q: answers[q.text])
    assert report.counts == {"all": 2, "comparison_query": 1, "inference_query": 1}
    assert report.metrics["all"]["hits@4"] == 0.5
    assert report.metrics["inference_query"]["mrr@10"] == 1.0
    assert (report.null_abstention, report.false_abstention) == (0.5, 0.5)
    assert report.latency_ms["median"] >= 0.0
    assert "| all | 2 |" in report.table()


def test_eval_command_prints_json_over_a_real_index(
    make_assistant: Callable[..., Assistant], tmp_path: Path
) -> None:
    assistant = make_assistant()
    articles = [
        {
            "title": "Harbor bridge approved",
            "source": "Daily Port",
            "published_at": "2023-10-03T09:00:00Z",
            "body": "The city council approved the harbor bridge on Tuesday. " + " ".join(FACTS),
        },
        {
            "title": "Robot wins chess title",
            "source": "Tech Weekly",
            "published_at": "2023-11-20T12:00:00Z",
            "body": "A chess robot built by students won the national championship in Oslo.",
        },
    ]
    (tmp_path / "news.json").write_text(json.dumps(articles), encoding="utf-8")
    assistant.ingest(assistant.read([str(tmp_path / "news.json")]))
    evidence = [{"fact": f, "source": "Daily Port"} for f in FACTS]
    queries = [
        {
            "id": "a",
            "query": "When does the harbor bridge open and what did it cost?",
            "answer": "2027",
            "question_type": "inference_query",
            "evidence_list": evidence,
        },
        {
            "id": "b",
            "query": "What did a Bloomberg article say about the Zorblax merger?",
            "answer": "x",
            "question_type": "null_query",
            "evidence_list": [],
        },
    ]
    path = tmp_path / "queries.json"
    path.write_text(json.dumps(queries), encoding="utf-8")
    assert [q.question_type for q in load_queries(path)] == ["inference_query", "null_query"]
    result = CliRunner().invoke(
        cli, ["--index", str(assistant.settings.index), "eval", "--json", "-q", str(path)]
    )
    assert result.exit_code == 0, result.output
    numbers = json.loads(result.output)
    assert numbers["metrics"]["all"]["hits@4"] == 1.0
    assert numbers["metrics"]["all"]["recall@10"] == 1.0
    assert numbers["null_abstention"] == 1.0
    assert numbers["false_abstention"] == 0.0


def test_a_question_that_fails_is_reported_and_the_run_goes_on() -> None:
    queries = [
        Query("1", "fine question", "inference_query", ("fact one",)),
        Query("2", "question that breaks retrieval", "inference_query", ("fact two",)),
    ]

    def retrieve(query: Query) -> tuple[list[Passage], bool]:
        if "breaks" in query.text:
            raise ValueError("month must be in 1..12")
        return [Passage("c", "a", "t", "this holds fact one")], False

    report = evaluate(queries, retrieve)
    assert report.failed == ["2: ValueError: month must be in 1..12"]
    assert report.metrics["all"]["hits@10"] == 0.5  # the failed question counts as a miss
    assert "failed questions (scored as misses): 1" in report.table()
