"""Wire-copy candidates at a constant cost per article: the MinHash signature and LSH bands (store/minhash.py)
of every stored article, in a SQLite file beside the keyword index (the newest bands; the rest in sorted runs
beside it, store/bands.py), kept in step with Chroma by the writers (store/writer.py, store/wiresync.py,
NewsIndex._remove). Writers open it under the index's write lock (and only read it before: peek_stored);
nothing of it is loaded into memory."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from assistant.formats import WIRE_TABLE, check_format
from assistant.settings import Settings
from assistant.store import minhash
from assistant.store.bands import Bands
from assistant.store.stories import shingles

_SQL_VARIABLES = 500  # ids per IN (...): SQLite's limit is 32766 (999 before 3.32)
CHECKPOINT_PAGES = 16384  # WAL pages (128 MB at 8 KB) before a writer copies them back into the table
CACHE_KB = 131072  # SQLite page cache of a writer's connection (128 MB at most; the OS caches the rest)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);
CREATE TABLE IF NOT EXISTS articles (
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL UNIQUE, chunks INTEGER NOT NULL, chunk_ids TEXT NOT NULL,
    signature BLOB NOT NULL, vector BLOB, shingles BLOB, story TEXT, origin TEXT
);
CREATE TABLE IF NOT EXISTS bands (
    band INTEGER NOT NULL, bucket INTEGER NOT NULL, article INTEGER NOT NULL, PRIMARY KEY (band, bucket, article)
) WITHOUT ROWID;
"""
# Only ids and signatures first: on a corpus whose articles share paragraphs, hundreds of articles share a
# band with a new one (bands.BUCKET_READ of each bucket), and only the likeliest few are read whole (_DETAILS).
_SIGNATURES = "SELECT id, article_id, signature FROM articles WHERE id IN ({ids})"
_DETAILS = "SELECT id, chunk_ids, vector, shingles, story FROM articles WHERE id IN ({ids})"


@dataclass(frozen=True)
class Entry:
    """An article as the writer stores it: chunk ids and texts in chunk order, its first chunk's vector."""

    article_id: str
    chunk_ids: Sequence[str]
    texts: Sequence[str]
    vector: Any  # a sequence of floats, or None when the article has no first chunk
    story: str = ""  # its wire story ("" when not known)
    origin: str = ""  # the file a url-less article was read from, as its chunks' `origin` ("" otherwise)


@dataclass(frozen=True)
class Candidate:
    """A stored article that may be a copy: where Chroma keeps its chunks, its first chunk's vector, and (for
    rows written since the table kept them) its shingles and story, so it is compared without Chroma."""

    article_id: str
    chunk_ids: list[str]
    vector: np.ndarray | None
    held: bytes | None = None  # the shingle hashes as stored: parsed only for the few compared
    story: str = ""

    @property
    def shingles(self) -> frozenset[int] | None:
        """Its shingle hashes, or None for a row written before the table kept them."""
        return _shingles(self.held)


def _array(blob: bytes | None) -> np.ndarray | None:
    return None if blob is None else np.frombuffer(blob, dtype="<f4")


def _shingles(blob: bytes | None) -> frozenset[int] | None:
    return None if blob is None else frozenset(np.frombuffer(blob, dtype="<u4").tolist())


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return (found.st_dev, found.st_ino)


def peek_stored(path: Path, article_ids: Sequence[str]) -> dict[str, list[str]] | None:
    """`WireTable.stored` for a writer that does not hold the lock yet: through a connection that only reads
    (it neither creates nor sets up the file). None when there is no table of this format to ask."""
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=60)) as db:
            found = dict(db.execute("SELECT key, value FROM meta"))
            return _stored(db, article_ids) if found.get("format") == WIRE_TABLE.version else None
    except sqlite3.Error:  # no table yet, or one being made
        return None


def origin_key(meta: Any) -> str:
    """What the table keeps as a chunk's article's `origin`: a url-less article's new version finds the old
    one by it (writer._superseded); "" for an article with a url."""
    return "" if meta.get("url") else str(meta.get("origin") or "")


def _select_in(db: sqlite3.Connection, query: str, values: Sequence[Any]) -> Iterator[Any]:
    """The rows of `query` (its `{ids}` an IN list) for all these values, _SQL_VARIABLES at a time."""
    for start in range(0, len(values), _SQL_VARIABLES):
        some = list(values[start : start + _SQL_VARIABLES])
        yield from db.execute(query.format(ids=",".join("?" * len(some))), some)


def _stored(db: sqlite3.Connection, article_ids: Sequence[str]) -> dict[str, list[str]]:
    query = "SELECT article_id, chunk_ids FROM articles WHERE article_id IN ({ids})"
    return {aid: json.loads(ids) for aid, ids in _select_in(db, query, article_ids)}


def wire_path(settings: Settings) -> Path:
    """Where the wire-copy table of the configured collection lives (always on local disk)."""
    return Path(settings.index) / "stories" / f"{settings.collection}.sqlite3"


def runs_folder(path: Path) -> Path:
    """Where a table's band runs live (store/bands.py): beside it."""
    return path.with_suffix(".bands")


class WireTable:
    """The stored articles' MinHash bands: which of them may be copies of a new text."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, timeout=60)  # writers take turns on the index's lock anyway
        self._hashing_checked = False
        try:
            # WAL: a killed writer leaves every committed batch and no half of one; NORMAL skips the fsync
            # per commit, so a power cut may lose the last batches (catch_up then finds them in Chroma again)
            self.db.execute("PRAGMA page_size=8192")  # a new file only: two ~2 KB article rows to a page
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            # the articles table and its unique index take random reads and inserts: SQLite's 2 MB default cache
            # read pages from disk once they outgrew it (py-spy at 430k chunks, when bands were all in SQLite)
            self.db.execute(f"PRAGMA cache_size=-{CACHE_KB}")
            # when every band was in SQLite a batch's commit dirtied ~1,000 pages: SQLite's default checkpoint
            # (1,000 pages) then copied the WAL back and synced the file at almost every batch (SCALING.md)
            self.db.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
            self.db.executescript(_SCHEMA)
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(articles)")}
            for column, kind in (("shingles", "BLOB"), ("story", "TEXT"), ("origin", "TEXT")):
                if column not in columns:  # a table written before them
                    self.db.execute(f"ALTER TABLE articles ADD COLUMN {column} {kind}")
            self.db.execute(
                "CREATE INDEX IF NOT EXISTS by_origin ON articles (origin) WHERE origin IS NOT NULL"
            )
            found = dict(self.db.execute("SELECT key, value FROM meta"))
            check_format(WIRE_TABLE, found.get("format", WIRE_TABLE.version), str(path))
            if "format" not in found:
                with self.db:
                    self.db.execute(
                        # a new table keeps every url-less article's origin (from_origin can answer)
                        "INSERT INTO meta VALUES ('format', ?), ('chunks', 0), ('origins', 1), ('bands_held', 0)",
                        (WIRE_TABLE.version,),
                    )
            self.bands = Bands(self.db, runs_folder(path))
        except BaseException:
            self.db.close()
            raise
        self.identity = _identity(path)

    def replaced(self) -> bool:
        """Whether the file at this table's path is no longer the one it opened (a reindex rebuilt it)."""
        return _identity(self.path) != self.identity

    def __enter__(self) -> WireTable:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the database (every change is committed when made)."""
        self.db.close()

    def __len__(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM articles").fetchone()[0])

    def chunks(self) -> int:
        """The chunks of the articles in the table, as written (a running total: no scan)."""
        return int(self.db.execute("SELECT value FROM meta WHERE key = 'chunks'").fetchone()[0])

    # -- reading -------------------------------------------------------------------------------

    def candidates(self, own: frozenset[int], exclude: str = "", limit: int = 32) -> list[Candidate]:
        """Up to `limit` stored articles (not `exclude`) sharing a band with these shingles (the newest
        BUCKET_READ of each band's bucket) and likely to be a copy (MinHash estimate), likeliest first, with
        their chunk ids, first vector, shingles and story."""
        if not own:
            return []
        self.check_hashing()
        sig = minhash.signature(own)
        ids = self.bands.newest(sig)
        rows = [r for r in _select_in(self.db, _SIGNATURES, ids) if r[1] != exclude]
        if not rows:
            return []
        signatures = np.frombuffer(b"".join(r[2] for r in rows), dtype="<u4").reshape(len(rows), -1)
        estimates = (signatures == sig).mean(axis=1)
        likely = sorted(
            (
                (-float(e), r[1], r[0])
                for e, r in zip(estimates, rows, strict=True)
                if e >= minhash.MIN_ESTIMATE
            )
        )[:limit]
        if not likely:
            return []
        ids = [article for _, _, article in likely]
        details = {
            row[0]: row[1:] for row in self.db.execute(_DETAILS.format(ids=",".join("?" * len(ids))), ids)
        }
        return [
            Candidate(
                aid,
                json.loads(details[i][0]),
                _array(details[i][1]),
                details[i][2],
                details[i][3] or "",
            )
            for _, aid, i in likely
        ]

    def stored(self, article_ids: Sequence[str]) -> dict[str, list[str]]:
        """Chunk ids, as written, of those of these articles the table holds (a superset of Chroma's: an
        article missing here is not in Chroma either, once the table has caught up). Indexed reads only."""
        return _stored(self.db, article_ids)

    def from_origin(self, origin: str) -> list[str] | None:
        """The url-less articles read from this file (as its chunks' `origin` holds it: the first 500
        characters), or None when the table cannot say: one written before it kept origins (the caller asks
        Chroma; `reindex-keywords` makes a new one)."""
        if self.db.execute("SELECT value FROM meta WHERE key = 'origins'").fetchone() is None:
            return None
        return [
            aid
            for (aid,) in self.db.execute("SELECT article_id FROM articles WHERE origin = ?", (origin[:500],))
        ]

    # -- writing -------------------------------------------------------------------------------

    def write(self, articles: Sequence[Entry], remove: Iterable[str] = ()) -> None:
        """In one transaction: forget the articles `remove`, and store each (article id, chunk ids, texts),
        replacing what was stored under that id."""
        self.check_hashing()
        made = [(e, shingles("\n".join(e.texts))) for e in articles]
        with self.db:
            gone = self._delete([*remove, *(e.article_id for e, _ in made)])
            first = self.bands.claim(len(made))
            for article, (e, own) in enumerate(made, start=first):
                sig = minhash.signature(own)
                vector = None if e.vector is None else np.asarray(e.vector, dtype="<f4").tobytes()
                held = np.array(sorted(own), dtype="<u4").tobytes()
                row = (e.article_id, len(e.chunk_ids), json.dumps(list(e.chunk_ids)), sig.tobytes(), vector)
                self.db.execute(
                    "INSERT INTO articles (id, article_id, chunks, chunk_ids, signature, vector, shingles, story, "
                    "origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (article, *row, held, e.story or None, e.origin or None),
                )
                if own:  # an empty text is nobody's copy: no bands
                    self.bands.add(sig, article)
            added = sum(len(e.chunk_ids) for e, _ in made)
            self.db.execute("UPDATE meta SET value = value + ? WHERE key = 'chunks'", (added - gone,))
        self.bands.settle()

    def remove(self, article_ids: Iterable[str]) -> None:
        """Forget these articles (unknown ids are ignored), in one transaction."""
        with self.db:
            gone = self._delete(article_ids)
            self.db.execute("UPDATE meta SET value = value - ? WHERE key = 'chunks'", (gone,))

    def _delete(self, article_ids: Iterable[str]) -> int:
        """Delete articles and their bands (found again from their signatures); returns their chunks."""
        gone = 0
        for aid in dict.fromkeys(article_ids):
            row = self.db.execute(
                "SELECT id, chunks, signature FROM articles WHERE article_id = ?", (aid,)
            ).fetchone()
            if row is None:
                continue
            self.bands.forget(np.frombuffer(row[2], dtype="<u4"), row[0])
            self.db.execute("DELETE FROM articles WHERE id = ?", (row[0],))
            gone += int(row[1])
        return gone

    def check_hashing(self) -> None:
        """Empty the table once if its signatures were made another way (a datasketch that hashes
        differently): they would never match new ones. The writer's catch_up then refills it."""
        if self._hashing_checked:
            return
        fingerprint = minhash.fingerprint()
        found = self.db.execute("SELECT value FROM meta WHERE key = 'hashing'").fetchone()
        if found is None or found[0] != fingerprint:
            with self.db:
                if found is not None:
                    self.bands.clear()
                    self.db.execute("DELETE FROM articles")
                    self.db.execute("UPDATE meta SET value = 0 WHERE key = 'chunks'")
                self.db.execute("INSERT OR REPLACE INTO meta VALUES ('hashing', ?)", (fingerprint,))
        self._hashing_checked = True
