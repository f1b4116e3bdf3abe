"""Hybrid retrieval over a real Chroma store: keywords help, hints steer, the keyword index stays in step."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from assistant.assistant import Assistant
from assistant.retrieval.hints import HintParser
from assistant.retrieval.retriever import Retriever
from assistant.retrieval.tuning import EXTRA, Tuning
from assistant.store.keywords import KeywordIndex, keyword_folder
from assistant.types import Filters, evidence_found

Make = Callable[..., Assistant]

FILLER = (
    "Officials said the plan had been discussed for months. Residents attended a meeting at the town "
    "hall, where several speakers asked about costs and timing. The mayor promised regular updates."
)


def _article(title: str, body: str, source: str, date: str, slug: str) -> dict[str, str]:
    return {
        "title": title,
        "body": f"{body} {FILLER}",
        "source": source,
        "published_at": date,
        "url": f"https://{source.lower().replace(' ', '')}.example/{slug}",
    }


ARTICLES = [
    _article(
        "Bridge parts ordered",
        "The harbor authority ordered replacement bearings with part number QX-4471 from Norrland Steel.",
        "Daily Port",
        "2023-10-03T09:00:00Z",
        "bearings",
    ),
    _article(
        "Who supplies bridge parts?",
        "Who supplies the parts for the bridge? Engineers named the companies that supply bridge parts "
        "and components.",
        "Daily Port",
        "2023-10-05T09:00:00Z",
        "suppliers",
    ),
    _article(
        "Chip maker opens plant",
        "A chip maker opened a plant that brings 900 jobs to the region, the company said.",
        "Tech Weekly",
        "2023-10-12T09:00:00Z",
        "plant-october",
    ),
    _article(
        "Chip maker expands plant",
        "The chip maker said its plant will add 400 jobs next year after strong demand.",
        "Tech Weekly",
        "2023-12-08T09:00:00Z",
        "plant-december",
    ),
    _article(
        "Chip plant jobs debated",
        "Economists debated whether the chip maker's plant jobs will last, citing demand.",
        "Business Daily",
        "2023-10-20T09:00:00Z",
        "plant-debate",
    ),
]


def _ingest(assistant: Assistant, path: Path, articles: list[dict[str, str]]) -> None:
    path.write_text(json.dumps(articles), encoding="utf-8")
    report = assistant.ingest(assistant.read([str(path)]))
    assert report.failed == []


def test_hybrid_finds_a_part_number_that_dense_alone_misses(make_assistant: Make, tmp_path: Path) -> None:
    assistant = make_assistant()
    _ingest(assistant, tmp_path / "news.json", ARTICLES)
    question = "Who supplies the parts for the bridge, number QX-4471?"
    dense = Retriever(
        assistant.index, assistant.embedder, Tuning(keyword_weight=0.0, use_clauses=False, learned_pool=0)
    )
    dense_top = dense.retrieve(question, k=1)[0]
    hybrid_top = assistant.retrieve(question, k=1)[0]
    assert dense_top.title == "Who supplies bridge parts?"  # semantically close, wrong article
    assert hybrid_top.title == "Bridge parts ordered"
    assert "QX-4471" in hybrid_top.text


def test_outlet_and_month_steer_to_that_outlets_article_from_that_month(
    make_assistant: Make, tmp_path: Path
) -> None:
    assistant = make_assistant()
    _ingest(assistant, tmp_path / "news.json", ARTICLES)
    december = assistant.retrieve("What did Tech Weekly report in December about the chip plant jobs?", k=3)
    assert december[0].title == "Chip maker expands plant"
    october = assistant.retrieve(
        "What did Tech Weekly report in October 2023 about the chip plant jobs?", k=3
    )
    assert october[0].title == "Chip maker opens plant"
    assert {p.source for p in october} >= {"Tech Weekly", "Business Daily"}  # a boost, not a filter
    latest = assistant.retrieve("What is the latest on the chip plant jobs?", k=3)
    assert latest[0].title == "Chip maker expands plant"
    hard = assistant.retrieve("chip plant jobs", k=5, filters=Filters(sources=("business daily",)))
    assert [p.source for p in hard] == ["Business Daily"]


def test_keyword_index_follows_reingest_and_remove_and_survives_restart(
    make_assistant: Make, tmp_path: Path
) -> None:
    assistant = make_assistant()
    _ingest(assistant, tmp_path / "news.json", ARTICLES)
    folder = keyword_folder(assistant.settings)
    on_disk = KeywordIndex(folder)
    assert on_disk.load() and len(on_disk) == assistant.index.count()
    changed = [dict(a) for a in ARTICLES]
    changed[0]["body"] = "The harbor authority cancelled the order for part ZK-9902 bearings. " + FILLER
    _ingest(assistant, tmp_path / "news.json", changed)
    assistant.remove(ARTICLES[4]["url"])
    restarted = make_assistant()  # a new process: reads the saved keyword index
    keywords = restarted.index.keywords
    assert len(keywords) == restarted.index.count()
    assert keywords.scores("QX-4471").max() == 0.0
    assert restarted.retrieve("ZK-9902 bearings order", k=1)[0].title == "Bridge parts ordered"
    assert "Chip plant jobs debated" not in {p.title for p in restarted.retrieve("economists debated", k=5)}


def test_missing_keyword_index_is_rebuilt_from_chroma_without_embedding(
    make_assistant: Make, tmp_path: Path
) -> None:
    assistant = make_assistant()
    _ingest(assistant, tmp_path / "news.json", ARTICLES[:2])
    for item in keyword_folder(assistant.settings).iterdir():
        if item.is_file():
            item.unlink()
    restarted = Assistant(assistant.settings, embedder=_NoModel())  # type: ignore[arg-type]
    keywords = restarted.index.keywords
    assert len(keywords) == restarted.index.count() > 0
    assert keywords.scores("QX-4471").argmax() == 0 or keywords.scores("QX-4471").max() > 0


class _NoModel:
    """Stands in for the embedder where nothing may be embedded: any use fails the test."""

    def __getattr__(self, name: str) -> None:
        raise AssertionError(f"the keyword backfill used the embedder ({name})")


def test_hints_find_outlets_dates_and_parts() -> None:
    parser = HintParser(
        ["TechCrunch", "The Verge", "The Independent - Sports", "The Age"],
        now=datetime(2024, 1, 5, tzinfo=UTC),
    )
    hints = parser.parse(
        "Did TechCrunch on October 12, 2023 agree with 'The Independent - Sports' and the Verge in December?"
    )
    assert set(hints.outlets) == {"TechCrunch", "The Independent - Sports", "The Verge"}
    first = hints.parts[0]
    assert first.outlets == ("TechCrunch",)
    assert first.periods[0].start <= datetime(2023, 10, 12, tzinfo=UTC) <= first.periods[0].end
    assert hints.parts[2].periods[0].start == datetime(2023, 12, 1, tzinfo=UTC)  # no year: the last December
    assert "TechCrunch" not in hints.stripped
    assert parser.parse("The age of AI: what may come next?").outlets == ()
    assert parser.parse("What is the latest on the strike?").latest


def test_evidence_signal_is_carried_on_passages(make_assistant: Make, tmp_path: Path) -> None:
    assistant = make_assistant()
    _ingest(assistant, tmp_path / "news.json", ARTICLES)
    found = assistant.retrieve("How many jobs will the chip maker's plant add?", k=3)
    assert evidence_found(found)
    assert not evidence_found([])


class _CountingCollection:
    """A real Chroma collection that records what each `get` call asked for."""

    def __init__(self, collection: Any) -> None:
        self.collection = collection
        self.gets: list[tuple[int, tuple[str, ...]]] = []  # (ids asked for, include)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        self.gets.append((len(kwargs.get("ids") or ()), tuple(kwargs.get("include") or ())))
        return self.collection.get(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.collection, name)


def test_start_up_reads_nothing_from_chroma_and_passages_read_only_their_chunks(
    make_assistant: Make, tmp_path: Path
) -> None:
    assistant = make_assistant()
    wire = "The port of Tilbury closed for two days after a storm, stranding 40 cargo ships at anchor."
    copies = [
        _article("Storm shuts Tilbury port", wire, "Daily Port", "2023-11-02T09:00:00Z", "storm"),
        _article("Tilbury closed by storm", wire, "Business Daily", "2023-11-02T10:00:00Z", "storm"),
    ]
    _ingest(assistant, tmp_path / "news.json", [*ARTICLES, *copies])
    questions = ["How many ships did the Tilbury storm strand?", "Who supplies the bridge parts?"]
    before = [assistant.retrieve(q, k=5) for q in questions]
    fresh = make_assistant()  # a new process over the same index
    counting = _CountingCollection(fresh.index.collection)
    fresh.index.store.parts = [counting]
    after = [fresh.retrieve(q, k=5) for q in questions]
    assert after == before
    storm = after[0][0]
    assert "40 cargo ships" in storm.text and len(storm.also_reported_by) == 1  # the copy, collapsed
    texts = [(n, include) for n, include in counting.gets if "documents" in include]
    assert not [n for n, include in counting.gets if "embeddings" in include]  # vectors: from the segments
    assert texts and all(0 < n <= 5 + EXTRA for n, _ in texts)  # texts: only the rows a question ranks
    assert all(n > 0 for n, _ in counting.gets)  # by id only: wire stories came from the rows in memory
    articles = sorted({r.article_id for r in fresh.index.keywords.rows})
    assert fresh.retriever.story_info(articles) == fresh.index.story_info(articles)


def test_segments_written_before_chunk_vectors_were_kept_read_them_from_chroma_once(
    make_assistant: Make, tmp_path: Path
) -> None:
    assistant = make_assistant()
    _ingest(assistant, tmp_path / "news.json", ARTICLES)
    questions = ["Who supplies the bridge parts?", "What did economists say about the chip plant jobs?"]
    before = [assistant.retrieve(q, k=5) for q in questions]
    for item in keyword_folder(assistant.settings).glob("*/vec*.npy"):
        item.unlink()  # as segments were written before they kept chunk vectors
    fresh = make_assistant()
    counting = _CountingCollection(fresh.index.collection)
    fresh.index.store.parts = [counting]
    assert fresh.retrieve(questions[0], k=5) == before[0]
    read = [n for n, include in counting.gets if "embeddings" in include]
    assert sum(read) == fresh.index.count()  # every vector once, from the store
    _ingest(
        fresh,
        tmp_path / "more.json",
        [
            _article(
                "Ferry strike ends", "The ferry strike ended.", "Port News", "2023-12-01T09:00:00Z", "ferry"
            )
        ],
    )
    assert fresh.retrieve(questions[1], k=5)[0].title == before[1][0].title
    again = [n for n, include in counting.gets if "embeddings" in include][len(read) :]
    assert sum(again) == 0  # the new article's vector came with its segment; the old ones were kept


def test_past_exact_search_dense_scores_come_from_hnsw_candidates(
    make_assistant: Make, tmp_path: Path
) -> None:
    assistant = make_assistant()
    _ingest(assistant, tmp_path / "news.json", ARTICLES)
    asked: list[int] = []
    nearest = assistant.index.nearest

    def counted(vectors: Any, n: int) -> list[list[str]]:
        asked.append(n)
        return nearest(vectors, n)

    assistant.index.nearest = counted  # type: ignore[method-assign]
    exact = Retriever(assistant.index, assistant.embedder)
    approximate = Retriever(
        assistant.index, assistant.embedder, Tuning(exact_dense_max=0, approximate_candidates=3)
    )
    questions = ["Who supplies the bridge parts?", "What did economists say about the chip plant jobs?"]
    for question in questions:
        assert [p.chunk_id for p in approximate.retrieve(question, k=1)] == [
            p.chunk_id for p in exact.retrieve(question, k=1)
        ]
    assert asked and set(asked) == {3}  # HNSW was asked, for 3 per query vector
    assert (
        exact.retrieve(questions[0]) and len(asked) == 2
    )  # the default (exact below 150k chunks) never asks
    snap = approximate.snapshot
    query = assistant.embedder.embed([questions[0]])
    rows = snap.vectors.rows_of(nearest(query, 3))[0]
    scores = snap.vectors.approximate(query, [rows])[:, 0]
    full = snap.vectors.scores(query)[:, 0]
    assert np.allclose(scores[rows], full[rows], atol=1e-6)  # the candidates: exact cosines
    others = np.setdiff1d(np.arange(len(full)), rows)
    assert len(others) and np.all(scores[others] == full[rows].min())  # the rest: below every candidate


def test_questions_with_season_ranges_and_calendar_edges_parse() -> None:
    parser = HintParser(["BBC"], now=datetime(9999, 12, 31, tzinfo=UTC))
    assert not parser.parse("Who led the league in the 2023-24 season?").periods
    assert parser.parse("What happened on December 31?").periods  # no OverflowError at the calendar's end
    assert parser.parse("What did BBC report on 2023-10-05?").periods[0].start.day == 4
