"""An index split over several Chroma collections (parts, store/chunks.py): adds go to the last part once
the others are full; every read, lookup, removal and update sees them all, and answers do not change."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.assistant import Assistant
from assistant.store.client import part_numbers

Make = Callable[..., Assistant]
TOWNS = ["Harlow", "Tenby", "Ossory", "Marden", "Quill", "Brackley", "Fenwick", "Yarrow", "Lisk"]
QUESTIONS = [
    "What did the Tenby council approve?",
    "How much money is set aside for the Yarrow library?",
    "Which vote ended 9 to 5?",
]


def _batches(tmp_path: Path) -> list[Path]:
    """Three files of three one-chunk articles, each with facts no other states."""
    paths = []
    for batch in range(3):
        articles = []
        for i, town in enumerate(TOWNS[batch * 3 : batch * 3 + 3]):
            n = batch * 3 + i
            articles.append(
                {
                    "title": f"{town} council approves plan {n}",
                    "body": f"The {town} council approved a new ferry pier on Tuesday. The plan sets aside "
                    f"{n + 2} million pounds for the {town} library. The vote ended {n + 5} to {n}.",
                    "source": f"{town} Post",
                    "published_at": f"2024-03-1{n}T09:00:00Z",
                    "url": f"https://{town.lower()}.example/plan",
                }
            )
        paths.append(tmp_path / f"batch{batch}.json")
        paths[-1].write_text(json.dumps(articles), encoding="utf-8")
    return paths


def _build(make: Make, index: Path, paths: list[Path], part_chunks: int) -> Assistant:
    assistant = make(index=index, part_chunks=part_chunks)
    for path in paths:  # one write each: a part fills up between them
        report = assistant.ingest(assistant.read([str(path)]))
        assert (report.added, report.failed) == (3, [])
    return assistant


def _answers(assistant: Assistant) -> list[list[tuple[str, str, str]]]:
    return [[(p.chunk_id, p.title, p.text) for p in assistant.retrieve(q, k=4)] for q in QUESTIONS]


def test_chunks_past_part_chunks_go_to_new_collections_and_answers_do_not_change(
    make_assistant: Make, tmp_path: Path
) -> None:
    paths = _batches(tmp_path)
    split = _build(make_assistant, tmp_path / "split", paths, part_chunks=3)
    whole = _build(make_assistant, tmp_path / "whole", paths, part_chunks=0)
    store = split.index.store
    assert part_numbers(split.index.client, "news") == [1, 2, 3]
    assert [part.name for part in store.parts] == ["news", "news.part2", "news.part3"]
    assert [part.count() for part in store.parts] == [3, 3, 3]
    assert len(whole.index.store.parts) == 1 and split.index.count() == whole.index.count() == 9
    assert sorted(store.ids()) == sorted(whole.index.store.ids())
    assert _answers(split) == _answers(whole)
    assert split.index.stats().articles == 9
    # nearest across parts: the same chunks, closest first, as one collection's HNSW gives
    vectors = split.embedder.embed(QUESTIONS)
    assert store.nearest(vectors, 5) == whole.index.store.nearest(vectors, 5)
    # the store's order, page by page across the parts, is every chunk once
    paged = [cid for offset in range(0, 9, 2) for cid in store.page(offset, 2).ids]
    assert sorted(paged) == sorted(store.ids()) and len(paged) == 9

    # another process finds them too, also with the default setting (no parts for new chunks)
    fresh = make_assistant(index=tmp_path / "split")
    assert len(fresh.index.store.parts) == 3 and _answers(fresh) == _answers(whole)


def test_removing_and_updating_articles_in_older_parts(make_assistant: Make, tmp_path: Path) -> None:
    paths = _batches(tmp_path)
    assistant = _build(make_assistant, tmp_path / "index", paths, part_chunks=3)
    store = assistant.index.store
    again = assistant.ingest(assistant.read([str(p) for p in paths]))
    assert (again.added, again.unchanged) == (0, 9)  # nothing written twice, whichever part holds it
    assert assistant.index.remove("https://tenby.example/plan") == 1  # in the first part
    assert [part.count() for part in store.parts] == [2, 3, 3]
    tenby = assistant.retrieve("What did the Tenby council approve?", k=4)
    assert "Tenby" not in " ".join(p.title for p in tenby)
    changed = json.loads(paths[1].read_text())  # Marden's article (second part) corrected
    changed[0]["body"] = changed[0]["body"].replace("ferry pier", "swimming pool")
    paths[1].write_text(json.dumps(changed), encoding="utf-8")
    report = assistant.ingest(assistant.read([str(paths[1])]))
    assert (report.added, report.updated, report.unchanged) == (0, 1, 2)
    assert [part.count() for part in store.parts] == [2, 2, 3, 1]  # the new version in a new last part
    [best, *_] = assistant.retrieve("Which council approved a swimming pool?", k=4)
    assert best.title.startswith("Marden") and "swimming pool" in best.text
    assert sum(1 for p in assistant.retrieve("Marden council plan", k=9) if p.title.startswith("Marden")) == 1


class _Asked:
    """A part that records which ids each `get` asks it for (and otherwise is the part itself)."""

    def __init__(self, part: Any, asked: list[tuple[str, list[str]]]) -> None:
        self.part, self.asked = part, asked

    def get(self, **kwargs: Any) -> Any:
        self.asked.append((self.part.name, list(kwargs.get("ids") or [])))
        return self.part.get(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.part, name)


def test_lookups_by_id_ask_the_newest_part_first_and_older_ones_only_for_what_is_missing(
    make_assistant: Make, tmp_path: Path
) -> None:
    assistant = _build(make_assistant, tmp_path / "index", _batches(tmp_path), part_chunks=3)
    store = assistant.index.store
    first, _, last = [sorted(part.get(include=[])["ids"]) for part in store.parts]
    asked: list[tuple[str, list[str]]] = []
    store.parts = [_Asked(part, asked) for part in store.parts]

    assert store.has(last[:2]) == set(last[:2])
    assert asked == [("news.part3", last[:2])]  # found in the newest part: no other is asked
    asked.clear()
    got = store.read([first[0], last[0]])
    assert sorted(got.ids) == sorted([first[0], last[0]]) and all(got.texts) and len(got.metas) == 2
    assert asked == [
        ("news.part3", [first[0], last[0]]),
        ("news.part2", [first[0]]),
        ("news", [first[0]]),
    ]
    asked.clear()
    assert store.has(["no-such-chunk"]) == set()
    assert [name for name, _ in asked] == ["news.part3", "news.part2", "news"]  # a missing id: every part
