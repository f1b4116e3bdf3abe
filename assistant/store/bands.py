"""The wire table's MinHash bands, kept as a small log-structured merge: the newest band rows in a SQLite table
(written in the same transaction as their articles), the older ones in immutable sorted runs of numpy arrays
beside it, read memory-mapped and merged like the keyword segments. In one large SQLite index every band row
landed on its own random page: at 1M chunks a 16-article commit wrote ~1,000 pages (8 MB) to the log."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from assistant.errors import IndexFormatError
from assistant.formats import WIRE_TABLE
from assistant.store.minhash import BANDS, buckets

# Each band reads the newest BUCKET_READ articles of its bucket: a bucket holding more is boilerplate or a story
# with many copies, and its newest members find either (a copy shares ~40 of 64 bands with the original: the
# chance that all of them are crowded is the chance that its text is all boilerplate).
BUCKET_READ = 8
FLUSH_ROWS = 1 << 15  # band rows in SQLite (512 articles) before they become a run: its pages stay cached
MAX_RUN_ROWS = 1 << 22  # no merge makes a run larger (64 MB; 1M chunks are about 17.6M rows: ~5 runs)
FETCH_ROWS = 1 << 20  # band rows read at a time when a table from before runs moves its bands
_MIX = np.uint64(0x9E3779B97F4A7C15)  # a band's number, mixed into its bucket: one sorted key for both

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (name TEXT PRIMARY KEY, rows INTEGER NOT NULL);
"""
_BAND = "SELECT ?, article FROM (SELECT article FROM bands WHERE band = ? AND bucket = ? ORDER BY article DESC LIMIT {n})"
_NEWEST = " UNION ALL ".join([_BAND.format(n=BUCKET_READ)] * BANDS)


def run_keys(band: np.ndarray, bucket: np.ndarray) -> np.ndarray:
    """One int64 key per (band, bucket): two pairs share one only by a 64-bit hash collision, and a wrong
    candidate is dropped by its signature anyway."""
    with np.errstate(over="ignore"):
        mixed = bucket.astype(np.int64).view(np.uint64) ^ ((band.astype(np.uint64) + np.uint64(1)) * _MIX)
    return mixed.view(np.int64)


class Run:
    """An immutable run: band keys sorted, with each key's article (ascending within a key), mapped."""

    def __init__(self, folder: Path, name: str) -> None:
        self.name = name
        try:
            # plain arrays over the mapping: np.memmap's subclass hooks cost more than a lookup's searches
            self.keys = np.asarray(np.load(folder / f"{name}.keys.npy", mmap_mode="r"))
            self.articles = np.asarray(np.load(folder / f"{name}.articles.npy", mmap_mode="r"))
        except (OSError, ValueError) as exc:
            raise IndexFormatError(
                f"The wire-copy table's band run {name} in {folder} cannot be read ({exc}). "
                "Rebuild it from the Chroma store: `newsqa reindex-keywords`."
            ) from exc

    def __len__(self) -> int:
        return len(self.keys)

    @staticmethod
    def write(folder: Path, keys: np.ndarray, articles: np.ndarray) -> str:
        """Sort and write a run (each file durable); returns its name."""
        order = np.lexsort((articles, keys))
        name = uuid.uuid4().hex[:12]
        folder.mkdir(parents=True, exist_ok=True)
        for part, values in (("keys", keys[order]), ("articles", articles[order])):
            with (folder / f"{name}.{part}.npy").open("wb") as fh:
                np.save(fh, np.ascontiguousarray(values, dtype=np.int64))
                fh.flush()
                os.fsync(fh.fileno())
        folder_fd = os.open(folder, os.O_RDONLY)
        try:  # the files' names too, before SQLite names the run
            os.fsync(folder_fd)
        finally:
            os.close(folder_fd)
        return name

    def newest(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(band, article) of the newest BUCKET_READ articles of each key's bucket here (the band being the
        key's position in `keys`)."""
        high = np.searchsorted(self.keys, keys, side="right")
        band = np.flatnonzero((high > 0) & (self.keys[np.maximum(high - 1, 0)] == keys))  # most are absent
        if not len(band):
            return band, band
        high = high[band]
        low = np.maximum(np.searchsorted(self.keys, keys[band], side="left"), high - BUCKET_READ)
        sizes = high - low
        at = np.repeat(low - (np.cumsum(sizes) - sizes), sizes) + np.arange(int(sizes.sum()))  # each range
        return np.repeat(band, sizes), self.articles[at]


class Bands:
    """Every stored article's band rows: SQLite's `bands` table for the newest, sorted runs for the rest.
    The runs named in SQLite are read again before each use: another writer process may have changed them."""

    def __init__(self, db: sqlite3.Connection, folder: Path) -> None:
        self.db = db
        self.folder = folder
        db.executescript(_SCHEMA)
        self.runs: list[Run] = []

    def _refresh(self) -> None:
        known = {r.name: r for r in self.runs}
        names = [name for (name,) in self.db.execute("SELECT name FROM runs ORDER BY rowid")]
        self.runs = [known.get(name) or Run(self.folder, name) for name in names]

    def _held(self, change: int | None) -> None:
        """Count the band rows SQLite holds (meta 'bands_held'; None: none left)."""
        if change is None:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('bands_held', 0)")
        else:
            self.db.execute("UPDATE meta SET value = value + ? WHERE key = 'bands_held'", (change,))

    # -- in the caller's transaction ------------------------------------------------------------

    def claim(self, count: int) -> int:
        """The first of `count` new article ids, never used before: a run may still hold rows of a removed
        article, which must not become another's (SQLite would reuse the largest id once it is deleted)."""
        found = self.db.execute("SELECT value FROM meta WHERE key = 'last_article'").fetchone()
        last = (
            found[0] if found else self.db.execute("SELECT coalesce(max(id), 0) FROM articles").fetchone()[0]
        )
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('last_article', ?)", (last + count,))
        return int(last) + 1

    def add(self, sig: np.ndarray, article: int) -> None:
        """Store an article's bands."""
        cursor = self.db.executemany("INSERT OR IGNORE INTO bands VALUES (?, ?, ?)", buckets(sig, article))
        self._held(cursor.rowcount)

    def forget(self, sig: np.ndarray, article: int) -> None:
        """Drop an article's bands from SQLite (a run keeps them until merged: lookups join them with the
        articles table, where the article is gone)."""
        cursor = self.db.executemany(
            "DELETE FROM bands WHERE band = ? AND bucket = ? AND article = ?", buckets(sig, article)
        )
        self._held(-cursor.rowcount)

    def clear(self) -> None:
        """Drop every band (the run files go at the next settle)."""
        self.db.execute("DELETE FROM bands")
        self.db.execute("DELETE FROM runs")
        self._held(None)
        self.runs = []

    # -- reading ----------------------------------------------------------------------------------

    def newest(self, sig: np.ndarray) -> list[int]:
        """The newest BUCKET_READ articles of each of this signature's buckets (as a band of another
        article), over SQLite and every run."""
        self._refresh()
        rows = buckets(sig)
        params = [value for band, bucket in rows for value in (band, band, bucket)]
        found = list(self.db.execute(_NEWEST, params))
        band = [np.array([b for b, _ in found], dtype=np.int64)]
        article = [np.array([a for _, a in found], dtype=np.int64)]
        keys = run_keys(np.arange(BANDS), np.array([bucket for _, bucket in rows], dtype=np.int64))
        for run in self.runs:
            b, a = run.newest(keys)
            band.append(b)
            article.append(a)
        bands, articles = np.concatenate(band), np.concatenate(article)
        order = np.lexsort((-articles, bands))  # per band, newest first
        bands, articles = bands[order], articles[order]
        first = np.searchsorted(bands, bands, side="left")
        keep = np.arange(len(bands)) - first < BUCKET_READ
        return [int(a) for a in np.unique(articles[keep])]

    def rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Every band row as (run key, article), SQLite's and every run's (rows of articles since removed
        stay in runs until a merge drops them)."""
        self._refresh()
        held = np.array(list(self.db.execute("SELECT band, bucket, article FROM bands")), dtype=np.int64)
        held = held.reshape(-1, 3)
        keys = [run_keys(held[:, 0], held[:, 1]), *(np.asarray(r.keys) for r in self.runs)]
        return np.concatenate(keys), np.concatenate(
            [held[:, 2], *(np.asarray(r.articles) for r in self.runs)]
        )

    # -- after a commit ---------------------------------------------------------------------------

    def settle(self) -> None:
        """Once SQLite holds FLUSH_ROWS band rows, move them into a run, merging the newest runs while the one
        before is no bigger (up to MAX_RUN_ROWS); remove run files no longer named. Each step is one
        transaction after its files are durable: a writer killed midway leaves one state or the other, and
        files the next settle removes. A table from before runs counts as full: its bands move once."""
        self._refresh()
        held = self.db.execute("SELECT value FROM meta WHERE key = 'bands_held'").fetchone()
        if held is None or held[0] >= FLUSH_ROWS:
            names = [(Run.write(self.folder, *part), len(part[0])) for part in self._held_rows()]
            with self.db:
                self.db.execute("DELETE FROM bands")
                self.db.executemany("INSERT INTO runs VALUES (?, ?)", names)
                self._held(None)
                # runs hold bands that code from before them would never read
                self.db.execute("UPDATE meta SET value = ? WHERE key = 'format'", (WIRE_TABLE.version,))
            self.runs += [Run(self.folder, name) for name, _ in names]
            while len(self.runs) >= 2 and _mergeable(len(self.runs[-2]), len(self.runs[-1])):
                self._merge(self.runs[-2:])
        self._clean()

    def _held_rows(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """SQLite's band rows as (keys, articles), MAX_RUN_ROWS at most at a time."""
        cursor = self.db.execute("SELECT band, bucket, article FROM bands")
        parts: list[np.ndarray] = []
        while True:
            got = cursor.fetchmany(FETCH_ROWS)
            if got:
                parts.append(np.array(got, dtype=np.int64))
            if parts and (not got or sum(map(len, parts)) >= MAX_RUN_ROWS):
                rows = np.concatenate(parts)
                parts = []
                yield run_keys(rows[:, 0], rows[:, 1]), rows[:, 2]
            if not got:
                return

    def _merge(self, runs: list[Run]) -> None:
        """Merge runs (the newest ones) into one, dropping the rows of articles no longer stored."""
        keys = np.concatenate([np.asarray(r.keys) for r in runs])
        articles = np.concatenate([np.asarray(r.articles) for r in runs])
        # the stored ids in the runs' range: one scan of the primary key
        low, high = (int(articles.min()), int(articles.max())) if len(articles) else (0, -1)
        query = "SELECT id FROM articles WHERE id BETWEEN ? AND ?"
        keep = np.isin(
            articles, np.array([i for (i,) in self.db.execute(query, (low, high))], dtype=np.int64)
        )
        named = [(Run.write(self.folder, keys[keep], articles[keep]), int(keep.sum()))] if keep.any() else []
        with self.db:
            self.db.executemany("DELETE FROM runs WHERE name = ?", [(r.name,) for r in runs])
            self.db.executemany("INSERT INTO runs VALUES (?, ?)", named)
        self.runs[-len(runs) :] = [Run(self.folder, name) for name, _ in named]

    def _clean(self) -> None:
        named = {r.name for r in self.runs}
        with contextlib.suppress(OSError):
            for item in self.folder.iterdir():
                if item.name.split(".", 1)[0] not in named:
                    item.unlink(missing_ok=True)


def _mergeable(before: int, last: int) -> bool:
    return before <= last and before + last <= MAX_RUN_ROWS
