"""The keyword (BM25) index beside Chroma: bm25s over chunk texts, persisted, kept in step with the store.

Its rows also carry what retrieval and answering need per chunk without asking Chroma, including the
sentence vectors computed at ingest (chunks backfilled from Chroma have none: the answerer embeds those).

On disk: a version folder named by `CURRENT`, plus a journal of the changes made since (one JSON line per
change, flushed and fsynced before the matching Chroma write). A writer killed mid-ingest leaves its rows
in the journal, so the next load has every chunk Chroma holds with its sentence vectors; `save` folds the
journal into a new version. Only a writer holding the index's write lock changes either.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
from bm25s.tokenization import Tokenized

from assistant.formats import KEYWORDS, check_format
from assistant.settings import Settings
from assistant.store.sentences import METADATA_KEY
from assistant.text import sentence_starts, tokenize, tokenize_pieces

FETCH_BATCH = 2000  # rows read from Chroma per call while backfilling
# bm25s's files, named so that ingesting a folder that holds the index never reads them as articles
BM25_FILES = {"vocab_name": "vocab.bm25s", "params_name": "params.bm25s"}


def keyword_folder(settings: Settings) -> Path:
    """Where the keyword index of the configured collection lives (always on local disk)."""
    return Path(settings.index) / "keywords" / settings.collection


@dataclass(frozen=True)
class Row:
    """What retrieval needs to know about a chunk without asking Chroma."""

    id: str
    article_id: str
    source: str
    ts: int | None  # publication time, epoch seconds
    title: str
    chunk_index: int
    sentences: str | None = None  # sentence vectors pooled at ingest (store/sentences.py)
    term_counts: Sequence[int] | None = None  # tokens of the title, then of each sentence of the text

    @classmethod
    def from_meta(cls, chunk_id: str, meta: Mapping[str, Any]) -> Row:
        """From a chunk's Chroma metadata."""
        ts = meta.get("published_ts")
        return cls(
            id=chunk_id,
            article_id=str(meta.get("article_id", "")),
            source=str(meta.get("source") or ""),
            ts=int(ts) if isinstance(ts, int | float) else None,
            title=str(meta.get("title") or ""),
            chunk_index=int(meta.get("chunk_index") or 0),
            sentences=meta.get(METADATA_KEY) or None,
        )


ROW_FIELDS = tuple(f.name for f in dataclasses.fields(Row))


class KeywordIndex:
    """BM25 over every chunk (title + text), with a row table of chunk metadata, saved in a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.rows: list[Row] = []
        self.tokens: list[list[str]] = []
        self.bm25: bm25s.BM25 | None = None
        self.stamp = ""  # what is on disk as last read or written; readers reload when the disk's differs
        self.generation = 0  # counts changes in memory (snapshots of the rows are keyed by it)
        self.dirty = False  # changed since the last save
        self._stale = False  # changed since the BM25 model was last built
        self._position: dict[str, int] = {}

    # -- persistence --------------------------------------------------------------------------

    def _version(self) -> str:
        try:
            return (self.folder / "CURRENT").read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def _journal(self, version: str) -> Path:
        return self.folder / f"journal-{version or 'none'}.jsonl"

    def disk_stamp(self) -> str:
        """The stamp of what is on disk: the saved version and how far its journal has grown."""
        version = self._version()
        try:
            size = self._journal(version).stat().st_size
        except OSError:
            size = 0
        return f"{version}:{size}" if version or size else ""

    def load(self) -> bool:
        """Read the saved version and replay its journal; False when there is neither (or it is unreadable)."""
        stamp, version = self.disk_stamp(), self._version()
        if not stamp:
            return False
        if not version:  # nothing saved yet, only a journal (a first ingest was interrupted)
            self.rows, self.tokens, self._position, self.bm25 = [], [], {}, None
            self._replay(self._journal(version))
            self.stamp, self.dirty = stamp, False
            self.generation += 1
            return True
        try:
            with gzip.open(self.folder / version / "chunks.gz", "rt", encoding="utf-8") as fh:
                data = json.load(fh)
            bm25 = bm25s.BM25.load(str(self.folder / version / "bm25"), **BM25_FILES)
        except (OSError, ValueError, KeyError):
            return False
        check_format(KEYWORDS, data.get("format", 1), str(self.folder))
        if data.get("format", 1) == 1:  # rows as positional lists, written before formats were named
            self.rows = [Row(*r) for r in data["rows"]]
        else:
            self.rows = [Row(**{f: r.get(f) for f in ROW_FIELDS}) for r in data["rows"]]
        self.tokens = data["tokens"]
        self.bm25 = bm25 if self.rows else None
        self._position = {r.id: i for i, r in enumerate(self.rows)}
        self._stale = False
        self._replay(self._journal(version))
        self.stamp, self.dirty = stamp, False
        self.generation += 1
        return True

    def _replay(self, journal: Path) -> None:
        """Apply the journal's changes (a torn last line, from a writer killed mid-append, is skipped)."""
        try:
            lines = journal.read_text(encoding="utf-8").splitlines()
        except OSError:
            return
        for line in lines:
            try:
                change = json.loads(line)
            except ValueError:
                continue
            if change.get("op") == "add":
                self.add((c, t, m) for c, t, m in change["items"])
            elif change.get("op") == "remove_articles":
                self.remove_articles(change["ids"])
            elif change.get("op") == "remove_ids":
                self.remove_ids(change["ids"])

    def log(self, op: str, payload: list[Any]) -> None:
        """Append one change to the journal and make it durable (then apply it in memory): called by the
        writer before the matching Chroma write, so a crash between the two loses nothing."""
        key = "items" if op == "add" else "ids"
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._journal(self._version()).open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"op": op, key: payload}, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        if op == "add":
            self.add((c, t, m) for c, t, m in payload)
        elif op == "remove_articles":
            self.remove_articles(payload)
        else:
            self.remove_ids(payload)
        self.stamp = self.disk_stamp()

    def save(self) -> None:
        """Write a new version beside the old one, then switch to it atomically."""
        if self._stale or self.bm25 is None:
            self._rebuild()
        stamp = uuid.uuid4().hex[:12]
        target = self.folder / stamp
        target.mkdir(parents=True, exist_ok=True)
        data = {"format": KEYWORDS.version, "rows": [r.__dict__ for r in self.rows], "tokens": self.tokens}
        with gzip.open(target / "chunks.gz", "wt", encoding="utf-8", compresslevel=3) as fh:
            json.dump(data, fh)
        model = self.bm25 or bm25s.BM25()
        if self.bm25 is None:
            model.index(Tokenized(ids=[[0]], vocab={"": 0}), show_progress=False)
        model.save(str(target / "bm25"), show_progress=False, **BM25_FILES)
        pointer = self.folder / f"CURRENT.{stamp}"
        pointer.write_text(stamp, encoding="utf-8")
        previous = self._version()
        pointer.replace(self.folder / "CURRENT")  # the switch: readers see the old version or the new one
        for old in self.folder.iterdir():  # the journal is folded in; the previous version stays a while
            if old.is_dir() and old.name not in (stamp, previous):  # for readers that just opened it
                shutil.rmtree(old, ignore_errors=True)
            elif old.name.startswith("journal-") and old.name != self._journal(stamp).name:
                old.unlink(missing_ok=True)
        self.stamp, self.dirty = self.disk_stamp(), False

    # -- changes ------------------------------------------------------------------------------

    def add(self, items: Iterable[tuple[str, str, Mapping[str, Any]]]) -> None:
        """Add or replace chunks given as (chunk id, text, Chroma metadata)."""
        for chunk_id, text, meta in items:
            row = Row.from_meta(chunk_id, meta)
            heading = tokenize(row.title)  # title tokens, then the text's
            pieces = tokenize_pieces(text, sentence_starts(text))
            tokens = heading + [t for piece in pieces for t in piece]
            row = dataclasses.replace(row, term_counts=(len(heading), *map(len, pieces)))
            at = self._position.get(chunk_id)
            if at is None:
                self._position[chunk_id] = len(self.rows)
                self.rows.append(row)
                self.tokens.append(tokens)
            else:
                self.rows[at], self.tokens[at] = row, tokens
            self.dirty = self._stale = True
        self.generation += 1

    def remove_articles(self, article_ids: Iterable[str]) -> None:
        """Drop every chunk of these articles."""
        gone = set(article_ids)
        self._keep([i for i, r in enumerate(self.rows) if r.article_id not in gone])

    def remove_ids(self, chunk_ids: Iterable[str]) -> None:
        """Drop these chunks."""
        gone = set(chunk_ids)
        self._keep([i for i, r in enumerate(self.rows) if r.id not in gone])

    def _keep(self, keep: list[int]) -> None:
        if len(keep) == len(self.rows):
            return
        self.rows = [self.rows[i] for i in keep]
        self.tokens = [self.tokens[i] for i in keep]
        self._position = {r.id: i for i, r in enumerate(self.rows)}
        self.dirty = self._stale = True
        self.generation += 1

    def _rebuild(self) -> None:
        self._stale = False
        if not self.rows:
            self.bm25 = None
            return
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(t, len(vocab)) for t in tokens] for tokens in self.tokens]
        if not vocab:
            vocab[""] = 0
        model = bm25s.BM25()
        model.index(Tokenized(ids=ids, vocab=vocab), show_progress=False)
        self.bm25 = model

    def sync(self, collection: Any, full: bool = False, save: bool = True) -> bool:
        """Bring the index in step with a Chroma collection, reading only chunks it lacks; True if changed
        (`save`: write the result; readers keep it in memory, only a writer holding the lock saves)."""
        kept = {r.id: r.sentences for r in self.rows if r.sentences}  # Chroma does not hold these
        if full:
            self.rows, self.tokens, self._position = [], [], {}
            self.dirty = self._stale = True
        stored = list(collection.get(include=[])["ids"])
        wanted = set(stored)
        self.remove_ids([r.id for r in self.rows if r.id not in wanted])
        missing = [i for i in stored if i not in self._position]
        for start in range(0, len(missing), FETCH_BATCH):
            got = collection.get(ids=missing[start : start + FETCH_BATCH], include=["documents", "metadatas"])
            docs, metas = got["documents"] or [], got["metadatas"] or []
            metas = [{**m, METADATA_KEY: kept.get(i)} for i, m in zip(got["ids"], metas, strict=True)]
            self.add(zip(got["ids"], (d or "" for d in docs), metas, strict=True))
        changed = self.dirty
        if changed and save:
            self.save()
        return changed

    # -- reading ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.rows)

    def view(self) -> KeywordView:
        """The BM25 model as it is now, for one snapshot of the rows (later changes build a new model)."""
        if self._stale:
            self._rebuild()
        return KeywordView(self.bm25, len(self.rows))

    def scores(self, query: str | Sequence[str]) -> np.ndarray:
        """BM25 score of every row for a query (text, or tokens already made by `tokenize`)."""
        return self.view().scores(query)

    def knows(self, token: str) -> bool:
        """Whether any chunk contains this (stemmed) token."""
        return self.view().knows(token)


@dataclass(frozen=True)
class KeywordView:
    """A BM25 model with the number of rows it was built over: what one snapshot of retrieval scores with,
    unchanged while a writer in the same process adds rows (a new model is built, this one stays)."""

    bm25: bm25s.BM25 | None
    rows: int

    def scores(self, query: str | Sequence[str]) -> np.ndarray:
        """BM25 score of every row for a query (text, or tokens already made by `tokenize`)."""
        if self.bm25 is None:
            return np.zeros(0, dtype=np.float32)
        tokens = tokenize(query) if isinstance(query, str) else list(query)
        known = [t for t in tokens if t in self.bm25.vocab_dict]
        if not known:
            return np.zeros(self.rows, dtype=np.float32)
        return np.asarray(self.bm25.get_scores(known), dtype=np.float32)

    def knows(self, token: str) -> bool:
        """Whether any chunk contains this (stemmed) token."""
        return self.bm25 is not None and token in self.bm25.vocab_dict
