"""The keyword index beside Chroma: BM25 over chunk texts, with each chunk's row, search terms and sentence
vectors (Chroma does not hold these), kept in step with the store and never rewritten whole.

On disk (one folder per collection):
- `vocab.terms`: every search term, one per line, append-only; a term's line number is its id;
- segments (store/segments.py): immutable batches of chunks as .npy files, read memory-mapped;
- `<version>.manifest`: the manifest naming the segments, their removed rows and how much of `vocab.terms`
  counts; `CURRENT` names the manifest and is switched atomically;
- `journal-<version>.jsonl`: the changes since (one JSON line per change, fsynced before the matching
  Chroma write), so a writer killed mid-ingest loses nothing.
A save writes only the rows added since the last one as a new segment (merging the newest segments while
the one before is no bigger, up to MERGED_ROWS rows, so there are O(log n) of them, plus one per MERGED_ROWS,
and a row is rewritten O(log n) times).
Only a writer holding the index's write lock saves.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.formats import KEYWORDS, check_format
from assistant.settings import Settings
from assistant.store.bm25 import KeywordView
from assistant.store.chunks import ChunkStore
from assistant.store.legacy import legacy_rows
from assistant.store.rows import (
    VECTOR_KEY,
    Pending,
    alive,
    columns,
    live_count,
    row_from_meta,
    vector_of,
    write_durably,
)
from assistant.store.segments import RowInfo, RowTable, Segment
from assistant.store.sentences import METADATA_KEY, decode, encode
from assistant.store.vocab import Vocabulary
from assistant.text import sentence_starts, tokenize, tokenize_pieces

SEGMENT_ROWS = 2048  # a writer saves a segment once this many rows wait in the journal
MERGED_ROWS = 1 << 18  # no merge makes a segment larger: a bigger merge would stall one batch for long and
# hold gigabytes while it runs; a million chunks are then about a dozen segments
MANIFEST = ".manifest"

Row = RowInfo  # what retrieval reads per chunk


def _mergeable(before: int, last: int) -> bool:
    """Whether the newest segment is merged into the one before (binary counter, up to MERGED_ROWS)."""
    return before <= last and before + last <= MERGED_ROWS


def keyword_folder(settings: Settings) -> Path:
    """Where the keyword index of the configured collection lives (always on local disk)."""
    return Path(settings.index) / "keywords" / settings.collection


class KeywordIndex:
    """BM25 over every chunk (title + text), its rows and sentence data, saved as segments in a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.words = Vocabulary(folder)
        self.segments: list[Segment] = []
        self.dead: dict[str, set[int]] = {}  # segment name -> its removed rows
        self.pending: dict[str, Pending] = {}  # rows added since the last save, by chunk id
        self.stamp = ""  # what is on disk as last read or written; readers reload when the disk's differs
        self.generation = 0  # counts changes in memory (snapshots of the rows are keyed by it)
        self.dirty = False  # changed since the last save
        self._cache: tuple[int, list[tuple[Segment, np.ndarray]], KeywordView | None] = (-1, [], None)

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
        """Read the saved version and replay its journal; False when there is neither (or it is unreadable).
        Segments already open stay open: a reload reads only what is new."""
        stamp, version = self.disk_stamp(), self._version()
        if not stamp:
            return False
        if version and not (self.folder / f"{version}{MANIFEST}").is_file():
            legacy = legacy_rows(self.folder / version)  # a version folder written before segments
            if legacy is None:
                return False
            self._reset()
            self.add(
                Pending(row, self.words.encode(words), counts, block) for row, words, counts, block in legacy
            )
        elif version:
            try:
                manifest = json.loads((self.folder / f"{version}{MANIFEST}").read_text(encoding="utf-8"))
                check_format(KEYWORDS, manifest.get("format"), str(self.folder))
                self.words.read(int(manifest["vocab_terms"]), int(manifest["vocab_bytes"]))
                known = {s.name: s for s in self.segments}
                self.segments = [known.get(n) or Segment.open(self.folder, n) for n in manifest["segments"]]
            except (OSError, ValueError, KeyError):
                return False
            self.dead = {n: set(rows) for n, rows in manifest.get("dead", {}).items()}
            self.pending = {}
        else:  # nothing saved yet, only a journal (a first ingest was interrupted)
            self._reset()
        self._replay(self._journal(version))
        self.stamp, self.dirty = (
            stamp,
            bool(self.pending) and not (self.folder / f"{version}{MANIFEST}").is_file(),
        )
        self.generation += 1
        return True

    def _reset(self) -> None:
        self.words.reset()
        self.segments, self.dead, self.pending = [], {}, {}
        self.generation += 1  # snapshots of the rows before are stale

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
        """Write the rows added since the last save as a segment (merging the newest ones while the one
        before is no bigger), then a manifest, and switch to it atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.words.write()
        segments = list(self.segments)
        written: list[Segment] = []
        if self.pending:
            written.append(self._write(Segment.build(*columns(self.pending.values()))))
            segments.append(written[-1])
        dead = self.dead
        while len(segments) >= 2 and _mergeable(
            live_count(segments[-2], dead), live_count(segments[-1], dead)
        ):
            written.append(Segment.merge(self.folder, [(s, alive(s, dead)) for s in segments[-2:]]))
            segments[-2:] = [written[-1]]
        for i, segment in enumerate(segments):  # a segment mostly removed is rewritten alone
            if 2 * len(dead.get(segment.name, ())) > len(segment):
                written.append(Segment.merge(self.folder, [(segment, alive(segment, dead))]))
                segments[i] = written[-1]
        names = {s.name for s in segments}
        self.dead = {n: r for n, r in dead.items() if n in names and r}
        for segment in segments:  # one written before row columns (format 3): its columns, once
            if not RowTable.written(self.folder / segment.name):
                segment.rows.write(self.folder / segment.name)
        stamp = uuid.uuid4().hex[:12]
        manifest = {
            "format": KEYWORDS.version,
            "segments": [s.name for s in segments],
            "dead": {n: sorted(r) for n, r in self.dead.items()},
            "vocab_terms": self.words.saved,
            "vocab_bytes": self.words.saved_bytes,
        }
        write_durably(self.folder / f"{stamp}{MANIFEST}", json.dumps(manifest))
        previous = self._version()
        pointer = self.folder / f"CURRENT.{stamp}"
        pointer.write_text(stamp, encoding="utf-8")
        pointer.replace(self.folder / "CURRENT")  # the switch: readers see the old version or the new one
        self.segments, self.pending = segments, {}
        self._clean(stamp, previous)
        self.stamp, self.dirty = self.disk_stamp(), False
        self.generation += 1

    def _write(self, segment: Segment) -> Segment:
        """Write a segment built in memory and map it back (its arrays leave memory)."""
        segment.write(self.folder)
        return Segment.open(self.folder, segment.name)

    def _clean(self, stamp: str, previous: str) -> None:
        """Remove files neither the new version nor the previous one (readers may have just opened it) uses."""
        keep = {s.name for s in self.segments}
        with contextlib.suppress(OSError, ValueError, KeyError):
            keep |= set(
                json.loads((self.folder / f"{previous}{MANIFEST}").read_text(encoding="utf-8"))["segments"]
            )
        for item in self.folder.iterdir():
            if item.is_dir() and item.name not in keep:
                shutil.rmtree(item, ignore_errors=True)
            elif (item.suffix == MANIFEST and item.stem not in (stamp, previous)) or (
                item.name.startswith("journal-") and item.name != self._journal(stamp).name
            ):
                item.unlink(missing_ok=True)

    # -- changes ------------------------------------------------------------------------------

    def add(self, items: Iterable[tuple[str, str, Mapping[str, Any]] | Pending]) -> None:
        """Add or replace chunks given as (chunk id, text, Chroma metadata), or rows already made."""
        fresh = [item if isinstance(item, Pending) else self._prepare(*item) for item in items]
        self._drop_saved([p.row.id for p in fresh])  # a chunk written again replaces its saved row
        for pending in fresh:
            self.pending[pending.row.id] = pending
            self.dirty = True
        self.generation += 1

    def _prepare(self, chunk_id: str, text: str, meta: Mapping[str, Any]) -> Pending:
        row = row_from_meta(chunk_id, meta)
        heading = tokenize(row.title)  # title terms, then the text's
        pieces = tokenize_pieces(text, sentence_starts(text))
        words = heading + [t for piece in pieces for t in piece]
        counts = (len(heading), *map(len, pieces))
        return Pending(row, self.words.encode(words), counts, decode(meta.get(METADATA_KEY)), vector_of(meta))

    def remove_articles(self, article_ids: Iterable[str]) -> None:
        """Drop every chunk of these articles."""
        gone = sorted(set(article_ids))
        changed = self._mark_dead([(s, s.rows.of_articles(gone)) for s in self.segments])
        unsaved = [cid for cid, p in self.pending.items() if p.row.article_id in set(gone)]
        for chunk_id in unsaved:
            del self.pending[chunk_id]
        if changed or unsaved:
            self.dirty = True
            self.generation += 1

    def remove_ids(self, chunk_ids: Iterable[str]) -> None:
        """Drop these chunks."""
        ids = list(chunk_ids)
        unsaved = [cid for cid in ids if self.pending.pop(cid, None) is not None]
        if self._drop_saved(ids) or unsaved:
            self.dirty = True
            self.generation += 1

    def _drop_saved(self, chunk_ids: Sequence[str]) -> bool:
        """Mark the saved rows of these chunks removed (a binary search per segment); True if any was."""
        if not chunk_ids or not self.segments:
            return False
        found = [(s, rows[rows >= 0]) for s in self.segments for rows in [s.rows.find(chunk_ids)]]
        return self._mark_dead(found)

    def _mark_dead(self, found: Iterable[tuple[Segment, np.ndarray]]) -> bool:
        changed = False
        for segment, rows in found:
            dead = self.dead.setdefault(segment.name, set())
            fresh = {int(i) for i in rows} - dead
            if fresh:
                dead |= fresh
                changed = True
        return changed

    def live_ids(self) -> list[str]:
        """Every live chunk's id (each decoded: for a full comparison with the store, not per question)."""
        return [cid for segment, live in self.parts() for cid in segment.rows.ids(live)]

    def sync(self, store: ChunkStore, full: bool = False, save: bool = True) -> bool:
        """Bring the index in step with a Chroma collection, reading only chunks it lacks; True if changed
        (`save`: write the result; readers keep it in memory, only a writer holding the lock saves)."""
        kept = self.blobs() if full else {}  # Chroma does not hold sentence vectors
        if full:
            self._reset()
            self.dirty = True
        stored = store.ids()
        wanted, held = set(stored), set(self.live_ids())
        self.remove_ids([cid for cid in held if cid not in wanted])
        missing = [i for i in stored if i not in held]
        for got in store.batches(missing, texts=True, vectors=True):
            metas = [
                {**m, METADATA_KEY: kept.get(i), VECTOR_KEY: v}
                for i, m, v in zip(got.ids, got.metas, got.vectors, strict=True)
            ]
            self.add(zip(got.ids, got.texts, metas, strict=True))
        changed = self.dirty
        if changed and save:
            self.save()
        return changed

    # -- reading ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return sum(live_count(s, self.dead) for s in self.segments) + len(self.pending)

    @property
    def vocab(self) -> dict[str, int]:
        """Term -> id."""
        return self.words.ids

    @property
    def terms(self) -> list[str]:
        """Id -> term."""
        return self.words.terms

    def parts(self) -> list[tuple[Segment, np.ndarray]]:
        """The live rows in order: each segment with its live row numbers, the unsaved rows last."""
        if self._cache[0] != self.generation:
            parts = [(s, alive(s, self.dead)) for s in self.segments]
            if self.pending:
                fresh = Segment.build(*columns(self.pending.values()))
                parts.append((fresh, np.arange(len(fresh))))
            self._cache = (self.generation, parts, None)
        return self._cache[1]

    @property
    def rows(self) -> list[RowInfo]:
        """Every live chunk's row, in the order of `parts` (the order scores come in)."""
        return [segment.rows[i] for segment, live in self.parts() for i in live]

    def blobs(self) -> dict[str, str | None]:
        """Chunk id -> its stored sentence vectors as one string (store/sentences.py's `pack` format)."""
        out: dict[str, str | None] = {}
        for segment, live in self.parts():
            for i, chunk_id in zip(live, segment.rows.ids(live), strict=True):
                block = segment.sentence_block(int(i))
                out[chunk_id] = None if block is None else encode(*block)
        return out

    def view(self) -> KeywordView:
        """BM25 as it is now, for one snapshot of the rows (later changes make a new view)."""
        parts = self.parts()
        generation, _, view = self._cache
        if view is None:
            view = KeywordView(parts, self.words.ids, len(self.words))
            self._cache = (generation, parts, view)
        return view

    def scores(self, query: str | Sequence[str]) -> np.ndarray:
        """BM25 score of every row for a query (text, or tokens already made by `tokenize`)."""
        return self.view().scores(query)

    def knows(self, token: str) -> bool:
        """Whether any chunk contains this (stemmed) token."""
        return self.view().knows(token)
