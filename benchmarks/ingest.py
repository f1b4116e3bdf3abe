"""Ingest throughput: the whole pipeline vs raw SentenceTransformer.encode on the same chunk texts.

    python benchmarks/ingest.py [--corpus ../shared/data/multihop-rag/corpus.json] [--limit N]

Prints a table: articles/s, chunks/s for the pipeline (read, clean, chunk, embed, write to Chroma) and
for the model alone, and their ratio (target >= 0.95: ingest reads, chunks and writes while the model
runs), plus the wall time of the whole corpus. The articles are read as ingest takes them (`read_iter`),
as `newsqa ingest` does.

Both sides are timed with the model warm: one batch of the longest chunk texts runs first, so ONNX
Runtime's memory arena has its full size (a fresh process's first pass is up to a third slower, which
would be charged to whichever side ran first). The model alone runs before and after the pipeline and
the ratio is to their mean, so a machine that speeds up or slows down during the run (a VM) does not
favour either side.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from itertools import islice
from pathlib import Path

from assistant.assistant import Assistant
from assistant.ingest.chunking import embed_texts
from assistant.settings import Settings
from assistant.types import Article

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
        embedder = assistant.embedder
        chunker = assistant.index.chunker
        read = islice(assistant.read_iter([str(args.corpus)]), args.limit or None)
        articles = [a for a in read if isinstance(a, Article)]
        texts = embed_texts([c for a in articles for c in chunker.chunk(a)])
        started = time.perf_counter()
        embedder.embed(sorted(texts, key=len)[-embedder.batch_size :])  # the largest shape the run meets
        warm_s = time.perf_counter() - started

        def raw() -> float:
            started = time.perf_counter()
            embedder.embed(texts)
            return len(texts) / (time.perf_counter() - started)

        before = raw()
        started = time.perf_counter()
        report = assistant.ingest(islice(assistant.read_iter([str(args.corpus)]), args.limit or None))
        pipeline_s = time.perf_counter() - started
        after = raw()
        size_mb = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file()) / 2**20

    raw_cps = (before + after) / 2
    rows = [
        ("articles", f"{len(articles)}"),
        ("chunks", f"{report.chunks}"),
        ("pipeline wall time (s)", f"{pipeline_s:.1f}"),
        ("pipeline articles/s", f"{len(articles) / pipeline_s:.2f}"),
        ("pipeline chunks/s", f"{report.chunks / pipeline_s:.2f}"),
        ("model warm-up, one batch (s)", f"{warm_s:.1f}"),
        ("raw encode chunks/s, before / after", f"{before:.2f} / {after:.2f}"),
        ("ratio pipeline/raw (target >= 0.95)", f"{(report.chunks / pipeline_s) / raw_cps:.3f}"),
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
