"""The ingest pipeline: reading and chunking run ahead in a thread, the model embeds the next batch while
the writer stores the last one, and what to write is checked again under the write lock."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.assistant import Assistant
from assistant.store.prefetch import chunked
from assistant.store.writer import IndexWriter
from assistant.types import Article
from tests.test_processes import _articles

Make = Callable[..., Assistant]


def _article(i: int) -> Article:
    return Article(
        title=f"Story {i}", body=f"Body of story {i}. " * 3, source="Post", url=f"https://p.example/{i}"
    )


def test_chunking_runs_ahead_in_order_and_hands_over_errors_in_place() -> None:
    calls: list[str] = []

    def chunk(article: Article) -> list[Any]:
        calls.append(threading.current_thread().name)
        return [article.title]

    got = list(chunked([_article(i) for i in range(5)], chunk, ahead=2))
    assert [e.item.title for e in got] == [f"Story {i}" for i in range(5)]  # order kept
    assert [e.nodes for e in got] == [[f"Story {i}"] for i in range(5)] and all(e.seconds >= 0 for e in got)
    assert set(calls) == {"newsqa-chunking"}  # chunked in the background thread, not the caller's

    def broken() -> Iterator[Article]:
        yield _article(0)
        raise OSError("disk gone")

    stream = chunked(broken(), chunk)
    assert next(stream).item.title == "Story 0"  # what came before the error is handed over first
    with pytest.raises(OSError, match="disk gone"):
        next(stream)


def test_closing_the_stream_stops_the_chunking_thread() -> None:
    def endless() -> Iterator[Article]:
        i = 0
        while True:
            yield _article(i)
            i += 1

    stream = chunked(endless(), lambda a: [a.title], ahead=4)
    next(stream)
    stream.close()
    deadline = time.monotonic() + 5
    while any(t.name == "newsqa-chunking" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name == "newsqa-chunking" for t in threading.enumerate())


def _between_check_and_lock(monkeypatch: pytest.MonkeyPatch, action: Callable[[], object]) -> list[object]:
    """Run `action` (another writer) once, after the first batch was checked and embedded, before its lock."""
    done: list[object] = []
    original = IndexWriter._commit

    def commit(self: IndexWriter, batch: Any, *args: Any) -> int:
        if batch is not None and not done:
            done.append("started")
            done.append(action())
        return original(self, batch, *args)

    monkeypatch.setattr(IndexWriter, "_commit", commit)
    return done


def test_articles_another_writer_stored_after_the_check_are_not_written_twice(
    make_assistant: Make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "news.json"
    path.write_text(json.dumps(_articles(0)[:3]), encoding="utf-8")
    first, other = make_assistant(), make_assistant()
    done = _between_check_and_lock(monkeypatch, lambda: other.ingest(other.read([str(path)])))
    report = first.ingest(first.read([str(path)]))
    assert done[1].added == 3  # type: ignore[attr-defined]
    assert report.added == 0 and report.unchanged == 3 and report.chunks == 0
    stored = first.index.collection.get(include=[])["ids"]
    assert len(stored) == len(set(stored)) == done[1].chunks  # type: ignore[attr-defined]
    assert len(first.index.keywords) == len(stored)


def test_an_article_removed_after_the_check_is_written_again(
    make_assistant: Make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "news.json"
    articles = _articles(0)[:3]
    path.write_text(json.dumps(articles), encoding="utf-8")
    first, other = make_assistant(), make_assistant()
    assert first.ingest(first.read([str(path)])).added == 3
    before = sorted(first.index.collection.get(include=[])["ids"])
    _between_check_and_lock(monkeypatch, lambda: other.remove(articles[1]["url"]))
    report = first.ingest(first.read([str(path)]))  # all three looked unchanged when checked
    assert report.added == 1 and report.unchanged == 2  # the removed one is embedded and written again
    assert sorted(first.index.collection.get(include=[])["ids"]) == before
    assert first.search("library roof Tenby plan 1") and len(first.index.keywords) == len(before)
