"""What the lookups the ingest could make cost in a built index's Chroma store, by the size of the index.

    python benchmarks/lookups.py INDEX_DIR [INDEX_DIR ...] [--ids 16] [--calls 30]

INDEX_DIR is an index folder (the `--index` of newsqa, or `articles-N-dD/index` in scale.py's `--keep`
folder), opened read-only in spirit: nothing is written, but never run this while a writer is busy with
the same folder. For each index it prints the CPU and wall time per call of:
- a filtered `get` of `--ids` stored article ids (`where={"article_id": {"$in": ids}}`, as
  `ChunkStore.of_articles` asks): Chroma scans its metadata;
- the same with `--ids` ids that are not stored (a batch of new articles);
- a `get` of 60 stored chunk ids (what the writer asks now, for the articles the wire table holds).

Measured here (docs/SCALING.md, "Filtered lookups"): the filtered `get` of 16 new ids costs 1.6 ms at
11k chunks and 33 ms at 390k; the `get` by ids stays about flat (5.7 → 6.9 ms).
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from collections.abc import Callable
from typing import Any


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def _timed(call: Callable[[], Any], calls: int) -> tuple[float, float]:
    """CPU and wall ms per call, after one call to warm up."""
    call()
    cpu, wall = _cpu(), time.perf_counter()
    for _ in range(calls):
        call()
    return 1000 * (_cpu() - cpu) / calls, 1000 * (time.perf_counter() - wall) / calls


def _of(article_ids: list[str]) -> Any:
    """The writer's old filter: every chunk of these articles."""
    return {"article_id": {"$in": article_ids}}


def measure(path: str, ids: int, calls: int, collection: str) -> tuple[int, dict[str, tuple[float, float]]]:
    """Chunks in the index, and ms of CPU and wall per call of each lookup."""
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(path, settings=Settings(anonymized_telemetry=False))
    try:
        store = client.get_collection(collection)
    except Exception as exc:  # chromadb's NotFoundError differs between versions
        raise SystemExit(f"{path}: no collection {collection!r} ({exc}); pass an index folder") from None
    total = store.count()
    rng = random.Random(0)
    sample: list[tuple[str, str]] = []
    for _ in range(20):  # stored chunk ids and their articles, from across the store
        got = store.get(include=["metadatas"], limit=200, offset=rng.randrange(0, max(1, total - 200)))
        sample += [
            (cid, str(m["article_id"])) for cid, m in zip(got["ids"], got["metadatas"] or [], strict=True)
        ]
    articles = sorted({aid for _, aid in sample})
    chunks = sorted({cid for cid, _ in sample})
    if len(articles) < ids or len(chunks) < 60:
        raise SystemExit(f"{path}: too few chunks ({total}) for {ids} articles and 60 chunks")
    lookups: dict[str, Callable[[], Any]] = {
        f"filtered get, {ids} stored articles": lambda: store.get(
            where=_of(rng.sample(articles, ids)), include=["metadatas"]
        ),
        f"filtered get, {ids} new articles": lambda: store.get(
            where=_of([f"new-{rng.random()}" for _ in range(ids)]), include=["metadatas"]
        ),
        "get of 60 chunk ids": lambda: store.get(ids=rng.sample(chunks, 60), include=["metadatas"]),
    }
    return total, {name: _timed(call, calls) for name, call in lookups.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("index", nargs="+", help="index folders (Chroma's files inside)")
    parser.add_argument("--ids", type=int, default=16, help="article ids per filtered get (a writer's batch)")
    parser.add_argument("--calls", type=int, default=30, help="calls timed per lookup")
    parser.add_argument("--collection", default="news", help="the collection (setting `collection`)")
    args = parser.parse_args()
    rows = [measure(path, args.ids, args.calls, args.collection) for path in args.index]
    names = list(rows[0][1])
    print("ms per call, CPU / wall (this process: Chroma's threads included)\n")
    print("| chunks | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for total, found in rows:
        print(f"| {total:,} | " + " | ".join(f"{found[n][0]:.1f} / {found[n][1]:.1f}" for n in names) + " |")


if __name__ == "__main__":
    main()
