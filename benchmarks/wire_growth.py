"""The wire-copy table alone: its CPU per article as it grows, as the writer uses it.

    python benchmarks/wire_growth.py [--articles 276000] [--every 25000] [--folder DIR]

No Chroma and no model: scale.py's synthetic articles (read from `../shared/data/multihop-rag/corpus.json`)
go through `store/wire.py` in batches of 16, as the writer sends them: each article's shingles, its
`candidates` (the MinHash band lookup assign_stories makes), then one `write` per batch (one transaction:
the article rows and 64 band rows each) with a random 128-dimension first-chunk vector. Prints a Markdown
table of CPU and wall ms per article by stretch of `--every` articles, split into the lookups and the
writes, and the table's size on disk (its band runs in, its write-ahead log left out). 276,000 articles is the table of scale.py's 1M-chunk index.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import CORPUS, Corpus  # benchmarks/ is not a package

from assistant.store.stories import shingles
from assistant.store.wire import Entry, WireTable

BATCH = 16  # articles per writer batch (store/writer.py's groups)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=276_000)
    parser.add_argument("--every", type=int, default=25_000, help="articles per reported stretch")
    parser.add_argument("--folder", type=Path, default=None, help="where the table goes (a temporary folder)")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    corpus = Corpus(args.corpus, 0)
    rng = np.random.default_rng(0)
    folder = args.folder or Path(tempfile.mkdtemp(prefix="wire-growth-"))
    path = folder / "wire.sqlite3"
    rows = []
    with WireTable(path) as table:
        spent = {"lookup": [0.0, 0.0], "write": [0.0, 0.0]}  # CPU, wall
        start = 0
        for first in range(0, args.articles, BATCH):
            entries = []
            for i in range(first, min(first + BATCH, args.articles)):
                body = corpus.article(i)["body"]
                texts = [body[k : k + 1000] for k in range(0, len(body), 1000)]
                c, w = time.process_time(), time.perf_counter()
                own = shingles("\n".join(texts))
                table.candidates(own, exclude=str(i))
                spent["lookup"][0] += time.process_time() - c
                spent["lookup"][1] += time.perf_counter() - w
                vector = rng.standard_normal(128).astype(np.float32)
                entries.append(Entry(str(i), [f"{i}-{k}" for k in range(len(texts))], texts, vector))
            c, w = time.process_time(), time.perf_counter()
            table.write(entries)
            spent["write"][0] += time.process_time() - c
            spent["write"][1] += time.perf_counter() - w
            done = first + len(entries)
            if done - start >= args.every or done == args.articles:
                n = done - start
                row = {
                    "articles": done,
                    **{f"{k} CPU": 1000 * v[0] / n for k, v in spent.items()},
                    **{f"{k} wall": 1000 * v[1] / n for k, v in spent.items()},
                    "MB": sum(
                        p.stat().st_size for p in folder.rglob("*") if p.is_file() and "-wal" not in p.name
                    )
                    / 2**20,
                }
                rows.append(row)
                print(" ".join(f"{k}={v:.3f}" for k, v in row.items()), file=sys.stderr, flush=True)
                spent = {"lookup": [0.0, 0.0], "write": [0.0, 0.0]}
                start = done
    print("| articles | lookups CPU ms | writes CPU ms | lookups wall ms | writes wall ms | table MB |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['articles']:,} | {r['lookup CPU']:.3f} | {r['write CPU']:.3f} | {r['lookup wall']:.3f} "
            f"| {r['write wall']:.3f} | {r['MB']:.0f} |"
        )
    if rows:
        both = ("lookup CPU", "write CPU")
        print(
            f"growth, last stretch / first: {sum(rows[-1][k] for k in both) / sum(rows[0][k] for k in both):.2f}x CPU"
        )


if __name__ == "__main__":
    main()
