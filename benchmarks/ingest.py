"""Ingest throughput: the whole pipeline vs raw SentenceTransformer.encode on the same chunk texts.

    python benchmarks/ingest.py [--corpus ../shared/data/multihop-rag/corpus.json] [--limit N]

Prints a table: articles/s, chunks/s for the pipeline (read, clean, chunk, embed, write to Chroma) and
for the model alone, and their ratio (target >= 0.95: ingest reads, chunks and writes while the model
runs), plus the wall time of the whole corpus. The articles are read as ingest takes them (`read_iter`),
as `newsqa ingest` does.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from assistant.assistant import Assistant
from assistant.ingest.chunking import embed_texts
from assistant.settings import Settings
from assistant.types import Article, ReadResult

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "multihop-rag" / "corpus.json"


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=0, help="only the first N articles (0 = all)")
    args = parser.parse_args()
    if not args.corpus.is_file():
        raise SystemExit(f"corpus not found: {args.corpus} (MultiHop-RAG corpus.json from ../shared/data)")

    with tempfile.TemporaryDirectory() as tmp:
        assistant = Assistant(Settings.load(env={}, index=Path(tmp) / "index"))
        embedder = assistant.embedder  # load the model before timing
        embedder.embed(["warm up"])

        items: list[ReadResult] = []

        def streamed() -> Iterator[ReadResult]:
            for item in islice(assistant.read_iter([str(args.corpus)]), args.limit or None):
                items.append(item)
                yield item

        started = time.perf_counter()
        report = assistant.ingest(streamed())
        pipeline_s = time.perf_counter() - started

        articles = [a for a in items if isinstance(a, Article)]
        texts = embed_texts([c for a in articles for c in assistant.index.chunker.chunk(a)])
        started = time.perf_counter()
        embedder.embed(texts)
        raw_s = time.perf_counter() - started
        size_mb = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file()) / 2**20

    rows = [
        ("articles", f"{len(articles)}"),
        ("chunks", f"{report.chunks}"),
        ("pipeline wall time (s)", f"{pipeline_s:.1f}"),
        ("pipeline articles/s", f"{len(articles) / pipeline_s:.2f}"),
        ("pipeline chunks/s", f"{report.chunks / pipeline_s:.2f}"),
        ("raw encode chunks/s", f"{len(texts) / raw_s:.2f}"),
        ("ratio pipeline/raw (target >= 0.95)", f"{(report.chunks / pipeline_s) / (len(texts) / raw_s):.3f}"),
        ("index size on disk (MB)", f"{size_mb:.0f}"),
        ("whole corpus under 180 s", "yes" if pipeline_s < 180 else "no"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"| {'metric':<{width}} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for key, value in rows:
        print(f"| {key:<{width}} | {value} |")
    print(json.dumps({k: v for k, v in rows}))


if __name__ == "__main__":
    main()
