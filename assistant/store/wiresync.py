"""Keeping the wire table (store/wire.py) in step with Chroma: after a writer was killed between the two, for an
index older than the table, and when a table is rebuilt. Writers call these holding the index's lock."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from assistant.store.chunks import ChunkStore
from assistant.store.stories import stored_articles
from assistant.store.wire import Entry, WireTable, origin_key, runs_folder

FETCH_ARTICLES = 100  # articles read from Chroma per call while backfilling
RECENT_ROWS = 512  # rows a killed writer can have left without chunks: its last batch (BATCH_CHUNKS)
READ_CHUNKS = 5000  # chunk metadatas read per call while comparing with Chroma


def rebuild(path: Path, store: ChunkStore) -> int:
    """A new table from Chroma's articles (one of an unreadable format replaced); returns the articles."""
    for stale in (path, *(path.with_name(path.name + end) for end in ("-wal", "-shm", "-journal"))):
        stale.unlink(missing_ok=True)
    shutil.rmtree(runs_folder(path), ignore_errors=True)
    with WireTable(path) as table:
        sync(table, store)
        return len(table)


def catch_up(table: WireTable, store: ChunkStore, stored: int | None = None) -> bool:
    """Sync with Chroma when the chunk totals differ (an index older than this table, a writer killed
    between the table and Chroma, another machine writing to a shared Chroma server); True if it did.
    `stored`: Chroma's chunk count when the caller knows it (a count scans Chroma's table: it grows with the
    index)."""
    table.check_hashing()
    total = store.count() if stored is None else stored
    if table.chunks() == total:
        return False
    # A writer killed between the table and Chroma left its last rows without chunks: drop those, and
    # sync (a read of all of Chroma: 305 s at 1M chunks) only if the totals still differ.
    if _drop_unwritten(table, store) and table.chunks() == total:
        return True
    sync(table, store)
    return True


def _drop_unwritten(table: WireTable, store: ChunkStore) -> bool:
    """Forget the newest RECENT_ROWS articles whose first chunk Chroma lacks (each article goes to Chroma
    whole, in one call); True if there were any."""
    rows = table.db.execute(
        "SELECT article_id, chunk_ids FROM articles ORDER BY id DESC LIMIT ?", (RECENT_ROWS,)
    )
    firsts = {aid: ids[0] for aid, held in rows for ids in [json.loads(held)] if ids}
    found = store.has(list(firsts.values())) if firsts else set()
    unwritten = [aid for aid, first in firsts.items() if first not in found]
    if unwritten:
        table.remove(unwritten)
    return bool(unwritten)


def sync(table: WireTable, store: ChunkStore) -> None:
    """Hold exactly the articles Chroma holds: drop the others, read (no model calls) the ones missing or
    stored under other chunk ids (another version), in batches, one transaction each."""
    table.check_hashing()
    ids_of: dict[str, list[str]] = {}
    total = store.count()
    for offset in range(0, total, READ_CHUNKS):
        got = store.page(offset, READ_CHUNKS)
        for cid, meta in zip(got.ids, got.metas, strict=True):
            ids_of.setdefault(str(meta["article_id"]), []).append(cid)
    known = {
        aid: set(json.loads(ids))
        for aid, ids in table.db.execute("SELECT article_id, chunk_ids FROM articles")
    }
    table.remove([aid for aid in known if aid not in ids_of])
    todo = [aid for aid, ids in ids_of.items() if known.get(aid) != set(ids)]
    for start in range(0, len(todo), FETCH_ARTICLES):
        batch = todo[start : start + FETCH_ARTICLES]
        found = stored_articles(store, [cid for aid in batch for cid in ids_of[aid]], vectors=True)
        entries = [
            Entry(aid, a.ids, a.texts, a.vector, str(first.get("story_id") or ""), origin_key(first))
            for aid, a in found.items()
            for first in [a.first or {}]
        ]
        table.write(entries, remove=batch)
    with table.db:  # the total as counted, whatever a crash left in the running one
        table.db.execute(
            "UPDATE meta SET value = (SELECT coalesce(sum(chunks), 0) FROM articles) WHERE key = 'chunks'"
        )
