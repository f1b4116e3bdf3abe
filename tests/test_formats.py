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
from tests.conftest import SEED

Make = Callable[..., Assistant]


def _keyword_file(assistant: Assistant) -> Path:
    folder = keyword_folder(assistant.settings)
    return folder / (folder / "CURRENT").read_text().strip() / "chunks.gz"


def _rewrite(path: Path, change: Callable[[dict], dict]) -> None:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        data = json.load(fh)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump(change(data), fh)


def test_keyword_index_is_versioned_reads_format_1_and_refuses_a_newer_one(make_assistant: Make) -> None:
    assistant = make_assistant()
    assistant.ingest(assistant.read([str(SEED)]))
    path = _keyword_file(assistant)
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        saved = json.load(fh)
    assert saved["format"] == 2 and isinstance(saved["rows"][0], dict)  # rows under named fields
    rows = KeywordIndex(keyword_folder(assistant.settings))
    assert rows.load()
    # an index written before formats were named: rows as positional lists, no "format" key
    _rewrite(path, lambda d: {"rows": [list(r.values()) for r in d["rows"]], "tokens": d["tokens"]})
    old = KeywordIndex(keyword_folder(assistant.settings))
    assert old.load() and old.rows == rows.rows
    _rewrite(path, lambda d: {**d, "format": 99})
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
