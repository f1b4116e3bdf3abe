"""Ingest into a real Chroma store with the real embedder: answers, idempotency, updates, removal."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.assistant import Assistant
from assistant.errors import NotFoundError
from assistant.types import Filters
from tests.conftest import SEED

QUESTION = "How long did one of the Putin-Trump calls last?"
COMMENT_FORM = ["评论", "发表回复", "您的邮箱地址不会被公开", "必填项已用 * 标注"]

Make = Callable[..., Assistant]


def _all_chunks(assistant: Assistant) -> tuple[list[str], list[str], list[dict[str, object]]]:
    got = assistant.index.collection.get(include=["documents", "metadatas"])
    return got["ids"], list(got["documents"] or []), [dict(m) for m in got["metadatas"] or []]


def _write_articles(path: Path, articles: list[dict[str, str]]) -> Path:
    path.write_text(json.dumps(articles), encoding="utf-8")
    return path


def _news(tmp_path: Path) -> Path:
    return _write_articles(
        tmp_path / "news.json",
        [
            {
                "title": "Harbor bridge approved",
                "body": "The city council approved the harbor bridge on Tuesday. "
                "The bridge will cost 40 million euros and open in 2027.",
                "source": "Daily Port",
                "published_at": "2023-10-03T09:00:00Z",
                "url": "https://port.example/bridge",
            },
            {
                "title": "Robot wins chess title",
                "body": "A chess robot built by students won the national "
                "championship in Oslo. It beat the defending champion in 31 moves.",
                "source": "Tech Weekly",
                "published_at": "2023-11-20T12:00:00Z",
                "url": "https://tech.example/robot",
            },
        ],
    )


def test_seed_question_is_answered_with_a_cited_sentence(make_assistant: Make) -> None:
    assistant = make_assistant()
    report = assistant.ingest(assistant.read([str(SEED)]))
    assert (report.added, report.failed) == (1, [])
    answer = assistant.ask(QUESTION)
    assert not answer.abstained
    first_sentence, _, _ = answer.text.partition("[1]")
    assert "50 minutes" in first_sentence
    one = next(c for c in answer.citations if c.n == 1)
    assert one.passage.title == "Putin Praises Talks with Trump"
    assert "50 minutes" in one.sentence and one.sentence in one.passage.text
    assert one.passage.published_at is None
    payload = answer.to_dict()
    assert set(payload) >= {"answer", "citations", "abstained"}
    assert set(payload["citations"][0]) >= {
        "n",
        "article_id",
        "title",
        "source",
        "published_at",
        "url",
        "snippet",
        "sentence",
        "score",
    }


def test_every_answer_sentence_carries_a_citation_that_contains_it(make_assistant: Make) -> None:
    assistant = make_assistant()
    assistant.ingest(assistant.read([str(SEED)]))
    answer = assistant.ask("What did Putin and Trump discuss about Iran and Israel?")
    assert not answer.abstained
    by_n = {c.n: c for c in answer.citations}
    sentences = [s for s in answer.text.split("]") if s.strip()]
    assert sentences
    for part in sentences:
        body, _, n = part.rpartition("[")
        assert body.strip() in by_n[int(n)].passage.text


def test_no_stored_chunk_contains_the_comment_form(make_assistant: Make) -> None:
    assistant = make_assistant()
    assistant.ingest(assistant.read([str(SEED)]))
    _, documents, metadatas = _all_chunks(assistant)
    assert documents
    for doc in documents:
        for line in COMMENT_FORM:
            assert line not in doc
    assert {m["title"] for m in metadatas} == {"Putin Praises Talks with Trump"}


def test_chunks_fit_the_embedder_and_carry_article_metadata(make_assistant: Make, tmp_path: Path) -> None:
    assistant = make_assistant()
    assistant.ingest(assistant.read([str(SEED), str(_news(tmp_path))]))
    for article in assistant.read([str(SEED), str(_news(tmp_path))]):
        chunks = assistant.index.chunker.chunk(article)  # type: ignore[union-attr]
        for chunk in chunks:
            text = chunk.get_content(metadata_mode="embed")  # type: ignore[arg-type]
            assert assistant.embedder.count_tokens(text) + 2 <= assistant.embedder.max_tokens
    _, documents, metadatas = _all_chunks(assistant)
    seed_chunks = [d for d, m in zip(documents, metadatas, strict=True) if m["title"].startswith("Putin")]
    assert len(seed_chunks) > 1  # the seed is longer than one chunk, so overlap matters
    bridge = next(m for m in metadatas if m["title"] == "Harbor bridge approved")
    assert bridge["source"] == "Daily Port"
    assert bridge["url"] == "https://port.example/bridge"
    assert bridge["published_at"] == "2023-10-03T09:00:00Z"
    assert bridge["published_ts"] == 1696323600
    assert isinstance(bridge["article_id"], str) and bridge["article_id"]
    seed_meta = next(m for m in metadatas if m["title"].startswith("Putin"))
    assert "published_ts" not in seed_meta  # undated is kept, and shown as undated


def test_reingest_adds_nothing_and_duplicates_are_stored_once(make_assistant: Make, tmp_path: Path) -> None:
    assistant = make_assistant()
    copy = tmp_path / "copy.txt"
    copy.write_bytes(SEED.read_bytes())
    first = assistant.ingest(assistant.read([str(SEED), str(copy)]))
    assert (first.added, first.unchanged) == (1, 1)
    ids_before, _, _ = _all_chunks(assistant)
    again = assistant.ingest(assistant.read([str(SEED)]))
    assert (again.added, again.updated, again.unchanged) == (0, 0, 1)
    ids_after, _, _ = _all_chunks(assistant)
    assert sorted(ids_before) == sorted(ids_after)


def test_changed_article_replaces_its_chunks(make_assistant: Make, tmp_path: Path) -> None:
    assistant = make_assistant()
    news = _news(tmp_path)
    assistant.ingest(assistant.read([str(news)]))
    data = json.loads(news.read_text())
    data[0]["body"] = "The city council rejected the harbor bridge on Tuesday after a 5 to 4 vote."
    news.write_text(json.dumps(data))
    report = assistant.ingest(assistant.read([str(news)]))
    assert (report.added, report.updated, report.unchanged) == (0, 1, 1)
    _, documents, metadatas = _all_chunks(assistant)
    bridge_docs = [
        d for d, m in zip(documents, metadatas, strict=True) if m["title"] == "Harbor bridge approved"
    ]
    assert bridge_docs == ["The city council rejected the harbor bridge on Tuesday after a 5 to 4 vote."]
    answer = assistant.ask("What did the council decide about the harbor bridge?")
    assert "rejected" in answer.text and "approved" not in answer.text


def test_remove_by_url_and_by_id(make_assistant: Make, tmp_path: Path) -> None:
    assistant = make_assistant()
    assistant.ingest(assistant.read([str(_news(tmp_path)), str(SEED)]))
    assert assistant.remove("https://port.example/bridge") == 1
    seed_id = next(m for m in _all_chunks(assistant)[2] if m["title"].startswith("Putin"))["article_id"]
    assert assistant.remove(str(seed_id)) > 1
    _, _, metadatas = _all_chunks(assistant)
    assert {m["title"] for m in metadatas} == {"Robot wins chess title"}
    with pytest.raises(NotFoundError, match="No article"):
        assistant.remove("https://port.example/bridge")


def test_remove_many_in_one_write_and_the_missing_ones_named(make_assistant: Make, tmp_path: Path) -> None:
    assistant = make_assistant()
    assistant.ingest(assistant.read([str(_news(tmp_path)), str(SEED)]))
    seed_id = next(m for m in _all_chunks(assistant)[2] if m["title"].startswith("Putin"))["article_id"]
    removed = assistant.remove_many(
        ["https://port.example/bridge", "https://nowhere.example/x", str(seed_id)]
    )
    assert removed["https://port.example/bridge"] == 1 and (removed[str(seed_id)] or 0) > 1
    assert removed["https://nowhere.example/x"] is None  # named, and the others still went
    assert {m["title"] for m in _all_chunks(assistant)[2]} == {"Robot wins chess title"}
    assert "chess robot" in assistant.ask("Who won the chess title?").text  # the keyword index is in step


def test_filters_by_date_and_outlet(make_assistant: Make, tmp_path: Path) -> None:
    from assistant.dates import parse_date

    assistant = make_assistant()
    assistant.ingest(assistant.read([str(_news(tmp_path)), str(SEED)]))
    since = assistant.retrieve("news", k=10, filters=Filters(since=parse_date("2023-11-01")))
    assert {p.title for p in since} == {"Robot wins chess title"}
    until = assistant.retrieve("news", k=10, filters=Filters(until=parse_date("2023-10-31")))
    assert {p.title for p in until} == {"Harbor bridge approved"}
    outlet = assistant.retrieve("news", k=10, filters=Filters(sources=("daily port",)))
    assert {p.source for p in outlet} == {"Daily Port"}


def test_question_about_something_absent_abstains(make_assistant: Make, tmp_path: Path) -> None:
    assistant = make_assistant()
    assistant.ingest(assistant.read([str(SEED), str(_news(tmp_path))]))
    answer = assistant.ask("What was the score of the Champions League final in Madrid?")
    assert answer.abstained
    assert answer.citations == []
    assert "do not cover" in answer.text


def test_empty_index_abstains(make_assistant: Make) -> None:
    answer = make_assistant().ask(QUESTION)
    assert answer.abstained and answer.citations == []


def test_bad_input_in_a_batch_loses_nothing(make_assistant: Make, tmp_path: Path) -> None:
    assistant = make_assistant()
    assistant.ingest(assistant.read([str(SEED)]))
    ids_before = set(_all_chunks(assistant)[0])
    (tmp_path / "broken.json").write_text("{nope", encoding="utf-8")
    (tmp_path / "empty.md").write_text("", encoding="utf-8")
    news = _news(tmp_path)
    report = assistant.ingest(assistant.read([str(tmp_path), str(SEED)]))
    assert (report.added, report.unchanged, len(report.failed)) == (2, 1, 2)
    ids_after = set(_all_chunks(assistant)[0])
    assert ids_before < ids_after
    assert len(ids_after) == len(ids_before) + 2
    assert news.exists()
    per_article = Counter(str(m["article_id"]) for m in _all_chunks(assistant)[2])
    assert all(v >= 1 for v in per_article.values()) and len(per_article) == 3


def test_edited_text_file_without_url_replaces_its_old_version(make_assistant: Make, tmp_path: Path) -> None:
    assistant = make_assistant()
    path = tmp_path / "note.txt"
    path.write_text("Ferry strike ends\n\nThe ferry strike ended after 3 days of talks.\n", encoding="utf-8")
    assistant.ingest(assistant.read([str(path)]))
    path.write_text("Ferry strike ends\n\nThe ferry strike ended after 4 days of talks.\n", encoding="utf-8")
    report = assistant.ingest(assistant.read([str(path)]))
    assert (report.added, report.updated) == (0, 1)
    _, documents, _ = _all_chunks(assistant)
    assert documents == ["The ferry strike ended after 4 days of talks."]


def test_corpus_slice_keeps_its_metadata(make_assistant: Make, corpus_path: Path, tmp_path: Path) -> None:
    records = json.loads(corpus_path.read_text(encoding="utf-8"))[:3]
    for record in records:
        record["body"] = record["body"][:1500]  # keep the test quick: metadata is what is checked here
    sliced = _write_articles(tmp_path / "slice.json", records)
    assistant = make_assistant()
    report = assistant.ingest(assistant.read([str(sliced)]))
    assert (report.added, report.failed) == (3, [])
    rows = {r["title"]: r for r in assistant.index.article_rows()}
    for record in records:
        row = rows[record["title"]]
        assert (row["source"], row["url"], row["category"]) == (
            record["source"],
            record["url"],
            record["category"],
        )
        assert row["published_at"][:19] == record["published_at"][:19]
        assert isinstance(row["published_ts"], int)


def test_an_article_over_the_time_budget_is_a_named_failure(make_assistant: Make, tmp_path: Path) -> None:
    """The budget is checked before the model spends the time: a long article is refused, the rest go in."""
    assistant = make_assistant(max_article_seconds=2.0)
    long_body = " ".join(
        f"The council met for the {i}th time and agreed item {i} of the plan." for i in range(600)
    )
    path = _write_articles(
        tmp_path / "news.json",
        [
            {"title": "Short note", "body": "The bridge reopened on Monday after repairs to its deck."},
            {"title": "Endless minutes", "body": long_body},
        ],
    )
    report = assistant.ingest(assistant.read([str(path)]))
    assert report.added == 1 and len(report.failed) == 1
    assert "over the budget of 2 s per article (setting max_article_seconds)" in report.failed[0].reason


def test_nearest_asks_for_more_than_stored_and_an_empty_store(make_assistant: Make, tmp_path: Path) -> None:
    empty = make_assistant(index=tmp_path / "empty").index.store
    vector = make_assistant().embedder.embed(["ferry"])
    assert empty.nearest(vector, 10) == [[]]
    assistant = make_assistant()
    assistant.ingest(assistant.read([str(SEED)]))
    stored = assistant.index.store.ids()
    [found] = assistant.index.store.nearest(vector, 10 * len(stored))  # n over the count: all, no error
    assert sorted(found) == sorted(stored)
    assert assistant.index.store.nearest(vector, 0) == [[]]
