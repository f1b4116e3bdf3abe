"""Every file the index writes carries a format version: older ones still read, newer ones are refused with
the command that fixes it, and `reindex-keywords` replaces an unreadable keyword index."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.assistant import Assistant
from assistant.cli.main import cli
from assistant.errors import IndexFormatError
from assistant.ingest.watch import STATE_FILE, StateStore
from assistant.store.keywords import KeywordIndex, keyword_folder
from assistant.store.rowtable import COLUMNS, LEGACY_ROWS, NAMES, RowTable
from assistant.store.segments import Segment
from tests.conftest import SEED

Make = Callable[..., Assistant]


def _manifest(assistant: Assistant) -> Path:
    folder = keyword_folder(assistant.settings)
    return folder / f"{(folder / 'CURRENT').read_text().strip()}.manifest"


def _legacy(assistant: Assistant, data: dict) -> None:
    """Point the keyword index at a version folder as newsqa wrote them before segments (gzip JSON)."""
    folder = keyword_folder(assistant.settings)
    (folder / "old").mkdir()
    with gzip.open(folder / "old" / "chunks.gz", "wt", encoding="utf-8") as fh:
        json.dump(data, fh)
    (folder / "CURRENT").write_text("old")
    for journal in folder.glob("journal-*"):
        journal.unlink()


def _fields(index: KeywordIndex) -> list[tuple[object, ...]]:
    """The rows as old versions stored them (no wire story: a legacy row's story is asked of Chroma)."""
    return [(r.id, r.article_id, r.source, r.ts, r.title, r.chunk_index) for r in index.rows]


def test_keyword_index_is_versioned_reads_formats_1_and_2_and_refuses_a_newer_one(
    make_assistant: Make,
) -> None:
    assistant = make_assistant()
    assistant.ingest(assistant.read([str(SEED)]))
    saved = json.loads(_manifest(assistant).read_text())
    assert saved["format"] == 4 and saved["segments"]  # segments named by a manifest
    rows = KeywordIndex(keyword_folder(assistant.settings))
    assert rows.load()
    blobs = rows.blobs()
    fields = ["id", "article_id", "source", "ts", "title", "chunk_index"]
    named = [
        {**{f: getattr(r, f) for f in fields}, "sentences": blobs[r.id], "term_counts": s.term_counts(int(i))}
        for s, live in rows.parts()
        for i, r in zip(live, (s.rows[j] for j in live), strict=True)
    ]
    tokens = [[rows.terms[t] for t in s.terms(int(i))] for s, live in rows.parts() for i in live]
    _legacy(assistant, {"format": 2, "rows": named, "tokens": tokens})  # rows under named fields
    old = KeywordIndex(keyword_folder(assistant.settings))
    assert old.load() and _fields(old) == _fields(rows) and old.blobs() == blobs
    assert [s.term_counts(int(i)) for s, live in old.parts() for i in live] == [
        r["term_counts"] for r in named
    ]
    # an index written before formats were named: rows as positional lists, no "format" key
    positional = [[r[f] for f in [*fields, "sentences", "term_counts"]] for r in named]
    (keyword_folder(assistant.settings) / "old" / "chunks.gz").unlink()
    (keyword_folder(assistant.settings) / "old").rmdir()
    _legacy(assistant, {"rows": positional, "tokens": tokens})
    older = KeywordIndex(keyword_folder(assistant.settings))
    assert older.load() and _fields(older) == _fields(rows) and older.blobs() == blobs
    assert assistant.reindex_keywords() == len(rows)  # saved again as segments, vectors kept
    again = KeywordIndex(keyword_folder(assistant.settings))
    assert again.load() and again.rows == rows.rows and again.blobs() == blobs
    manifest = _manifest(assistant)
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "format": 99}))
    with pytest.raises(IndexFormatError) as err:
        KeywordIndex(keyword_folder(assistant.settings)).load()
    assert "format 99" in str(err.value) and "newsqa reindex-keywords" in str(err.value)
    runner = CliRunner()
    index = str(assistant.settings.index)
    refused = runner.invoke(cli, ["--index", index, "ask", "Who called whom?"])
    assert refused.exit_code != 0 and "newsqa reindex-keywords" in refused.output
    fixed = runner.invoke(cli, ["--index", index, "reindex-keywords"])
    assert fixed.exit_code == 0, fixed.output
    assert KeywordIndex(keyword_folder(assistant.settings)).load()


def _as_format_3(assistant: Assistant) -> None:
    """Rewrite the saved segments as format 3 wrote them: rows as JSON lists, no row columns."""
    folder = keyword_folder(assistant.settings)
    manifest = _manifest(assistant)
    saved = json.loads(manifest.read_text())
    for name in saved["segments"]:
        segment = Segment.open(folder, name)
        fields = [
            [r.id, r.article_id, r.source, r.ts, r.title, r.chunk_index, r.story, r.outlet]
            for r in segment.rows
        ]
        (folder / name / LEGACY_ROWS).write_text(json.dumps({"format": 3, "rows": fields}), encoding="utf-8")
        for column in (*COLUMNS, NAMES):
            (folder / name / (column if column == NAMES else f"{column}.npy")).unlink()
    manifest.write_text(json.dumps({**saved, "format": 3}))


def test_format_3_segments_are_read_and_get_row_columns_at_the_next_save(make_assistant: Make) -> None:
    assistant = make_assistant()
    assistant.ingest(assistant.read([str(SEED)]))
    before = KeywordIndex(keyword_folder(assistant.settings))
    assert before.load()
    rows, blobs = before.rows, before.blobs()
    _as_format_3(assistant)
    old = KeywordIndex(keyword_folder(assistant.settings))
    assert old.load() and old.rows == rows and old.blobs() == blobs  # rows read from their JSON
    assert not any(RowTable.written(old.folder / s.name) for s in old.segments)
    answer = make_assistant().ask("How long did one of the Putin-Trump calls last?")
    assert answer.citations  # retrieval runs on rows read from JSON
    old.remove_ids([rows[0].id])
    old.save()  # the next save writes the columns of every segment it keeps
    assert all(RowTable.written(old.folder / s.name) for s in old.segments)
    again = KeywordIndex(keyword_folder(assistant.settings))
    assert again.load() and again.rows == rows[1:]
    assert json.loads(_manifest(assistant).read_text())["format"] == 4


def test_collection_and_feed_state_refuse_newer_formats(make_assistant: Make, tmp_path: Path) -> None:
    assistant = make_assistant()
    assistant.ingest(assistant.read([str(SEED)]))
    collection = assistant.index.collection
    assert collection.metadata["newsqa_format"] == 1
    collection.modify(metadata={"newsqa_format": 7})  # as a newer newsqa would have stamped it
    with pytest.raises(IndexFormatError) as err:
        _ = make_assistant().index
    assert "Chroma collection" in str(err.value) and "format 7" in str(err.value)
    state = tmp_path / STATE_FILE
    StateStore(state).save()
    assert json.loads(state.read_text())["format"] == 1
    state.write_text(json.dumps({"format": 3, "feeds": {}}))
    with pytest.raises(IndexFormatError) as err:
        StateStore(state)
    assert "delete feeds.json" in str(err.value)
