"""Chroma's embedded store alone: its CPU per chunk added, as the collection grows, by what a chunk carries.

    python benchmarks/chroma_growth.py [--chunks 150000] [--every 10000] [--variants all first nodocs] [--joined 1]

No newsqa code and no model runs here: scale.py's synthetic articles, one paragraph a chunk, go straight
into a fresh local Chroma collection with random 128-dimension vectors, 900 chunks per `add`, as the writer
sends them. The process's CPU during each `add` is Chroma's (its Rust threads and SQLite included). Variants:
- `all`: every chunk carries the metadata newsqa writes (14 keys) and its text, as newsqa does;
- `first`: article fields (title, url, outlet, dates, category, origin, hash) on each article's first chunk
  only, the others carrying only article id, chunk number and story;
- `nodocs`: all keys, no text (so nothing in Chroma's full-text index or its document string index);
- `hash`: as `all`, with ids hashed as newsqa's are (sha1 of the url), so they land all over Chroma's id index;
- `shards`: as `hash`, in a fresh local store (its own folder, SQLite file and HNSW) every `--shard` chunks;
- `collections`: as `hash`, in a fresh collection of the same store every `--shard` chunks (one SQLite file).

`--joined K` makes each chunk's text K paragraphs (4 is about a newsqa chunk's 256 word pieces).

Prints two Markdown tables, one column per variant, per stretch of `--every` chunks: ms of CPU per chunk
during `add`, and all the process's CPU per chunk (work Chroma's threads do between adds, and making the
chunks, included; the two agree within 2% here).
Measured here (2 cores, docs/SCALING.md): in one collection every variant about doubles by 150k chunks,
whatever rows newsqa gives it; a new collection or store every 50k-100k keeps it about flat.
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import CORPUS, Corpus  # benchmarks/ is not a package

ADD = 900  # chunks per add: one writer batch
ARTICLE_KEYS = ("title", "url", "source", "published_at", "date", "category", "origin", "content_hash")


def cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def chunks(
    corpus: Corpus, variant: str, start: int, joined: int = 1
) -> tuple[list[str], list[str], list[dict[str, Any]], int]:
    """At least ADD chunks of articles from number `start` on: ids, texts, metadata, next article. Each
    chunk's text is `joined` paragraphs (4 is about a newsqa chunk's 256 word pieces)."""
    ids: list[str] = []
    texts: list[str] = []
    metas: list[dict[str, Any]] = []
    number = start
    while len(ids) < ADD:
        article = corpus.article(number)
        paragraphs = article["body"].split("\n\n")
        paragraphs = ["\n\n".join(paragraphs[i : i + joined]) for i in range(0, len(paragraphs), joined)][:4]
        aid = f"{number:016x}"
        if variant in {"hash", "shards", "collections"}:  # ids spread as newsqa's are
            aid = hashlib.sha1(f"url:{number}".encode()).hexdigest()[:16]
        fields = {key: str(article.get(key) or "") for key in ARTICLE_KEYS if key in article}
        fields |= {
            "date": article["published_at"][:10],
            "origin": f"/tmp/batch-{number // 250}.json",
            "content_hash": f"{number * 7919:016x}",
        }
        for i, text in enumerate(paragraphs):
            meta: dict[str, Any] = {"article_id": aid, "chunk_index": i, "story_id": aid}
            if variant != "first" or i == 0:
                meta |= fields | {
                    "n_chunks": len(paragraphs),
                    "partial": False,
                    "published_ts": 1_700_000_000 + number,
                }
            ids.append(f"{aid}-{i:04d}")
            texts.append(text)
            metas.append(meta)
        number += 1
    return ids, texts, metas, number


def grow(
    variant: str, total: int, every: int, corpus: Corpus, shard: int, joined: int = 1
) -> list[tuple[int, float, float]]:
    """(chunks held, ms of CPU per chunk during `add`, ms of all the process's CPU per chunk) of each
    `every`-chunk stretch, adding `total` chunks to a fresh collection (or, for `shards` and `collections`,
    a fresh one every `shard` chunks). The second counts work Chroma's threads do between adds too, and
    making the chunks (the same for every stretch)."""
    import chromadb
    from chromadb.config import Settings

    rng = np.random.default_rng(0)
    out: list[tuple[int, float, float]] = []
    with tempfile.TemporaryDirectory(prefix=f"chroma-{variant}-") as folder:
        client = chromadb.PersistentClient(folder, settings=Settings(anonymized_telemetry=False))
        collection = client.create_collection("news", metadata={"hnsw:space": "cosine"})
        added, number, spent, counted, held = 0, 0, 0.0, 0, 0
        stretch = cpu()
        while added < total:
            if variant in {"shards", "collections"} and held >= shard:
                name = f"news-{added}"
                if variant == "shards":
                    client = chromadb.PersistentClient(
                        f"{folder}/{name}", settings=Settings(anonymized_telemetry=False)
                    )
                collection = client.create_collection(name, metadata={"hnsw:space": "cosine"})
                held = 0
            ids, texts, metas, number = chunks(corpus, variant, number, joined)
            vectors = rng.standard_normal((len(ids), 128)).astype(np.float32).tolist()
            documents = None if variant == "nodocs" else texts
            started = cpu()
            collection.add(ids=ids, embeddings=vectors, metadatas=metas, documents=documents)
            spent += cpu() - started
            counted += len(ids)
            added += len(ids)
            held += len(ids)
            if counted >= every:
                out.append((added, 1000 * spent / counted, 1000 * (cpu() - stretch) / counted))
                print(
                    f"{variant}: {added} chunks, {out[-1][1]:.2f} ms per chunk in add, {out[-1][2]:.2f} in all",
                    file=sys.stderr,
                    flush=True,
                )
                spent, counted, stretch = 0.0, 0, cpu()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=150_000)
    parser.add_argument("--every", type=int, default=10_000, help="chunks per reported stretch")
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["all", "first", "nodocs"],
        choices=["all", "first", "nodocs", "hash", "shards", "collections"],
    )
    parser.add_argument("--shard", type=int, default=50_000, help="chunks per shard (shards, collections)")
    parser.add_argument(
        "--joined", type=int, default=1, help="paragraphs per chunk text (4: about a newsqa chunk's length)"
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    corpus = Corpus(args.corpus, 0)
    rows = {v: grow(v, args.chunks, args.every, corpus, args.shard, args.joined) for v in args.variants}
    for column, what in ((1, "during `add`"), (2, "all the process's CPU, chunks made included")):
        print(f"\nCPU per chunk added (ms), {what}, by stretch of the collection's growth\n")
        print("| chunks | " + " | ".join(args.variants) + " |")
        print("|---|" + "---|" * len(args.variants))
        for i in range(min(len(r) for r in rows.values())):
            cells = " | ".join(f"{rows[v][i][column]:.2f}" for v in args.variants)
            print(f"| {rows[args.variants[0]][i][0]:,} | {cells} |")
        ends = [
            f"{v} {rows[v][0][column]:.2f} -> {rows[v][-1][column]:.2f} "
            f"({rows[v][-1][column] / rows[v][0][column]:.2f}x)"
            for v in rows
        ]
        print("\nfirst -> last stretch: " + ", ".join(ends))


if __name__ == "__main__":
    main()
