"""Exact dense search against Chroma's HNSW query: where does exact stop being the faster choice?

    python benchmarks/dense.py [--sizes 10000 30000 100000 300000 1000000] [--hnsw-max 200000] [--dim 384]

Exact: one matrix product of N unit vectors (float32, as the keyword index's segments hold them) with the
question's vectors (2: the question and one piece, the usual case), median of 20 runs, the vectors in
memory (a mapped segment already in the page cache costs the same). HNSW: a local Chroma collection of the
same vectors (cosine space, search_ef `--ef`, construction_ef max(ef, 100)), `query(n_results=100)`,
median of 50 queries,
built for sizes up to --hnsw-max (building takes minutes per 100k here); its build time is printed too.
Random vectors are the hard case for HNSW (no clusters), so its recall@100 against exact is printed.
Prints a Markdown table; nothing is written outside a temporary folder.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np


def unit(rows: int, dim: int, seed: int) -> np.ndarray:
    """Random unit vectors."""
    m = np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def near_real(rows: int, index: str, seed: int) -> np.ndarray:
    """`rows` vectors made from an index's real chunk vectors (read from its keyword index's segments):
    each a stored vector plus Gaussian noise (sd 0.02 per dimension), renormalised, so the set keeps the
    clusters real text has (random vectors have none, the worst case for HNSW)."""
    from pathlib import Path

    from assistant.store.keywords import KeywordIndex

    folder = next(p for p in (Path(index) / "keywords").iterdir() if p.is_dir())
    keywords = KeywordIndex(folder)
    keywords.load()
    real = np.concatenate([np.asarray(s.a["vec"])[s.a["vec_has"]] for s in keywords.segments])
    rng = np.random.default_rng(seed)
    m = real[rng.integers(0, len(real), rows)] + rng.normal(0, 0.02, (rows, real.shape[1])).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def exact_ms(matrix: np.ndarray, queries: np.ndarray, runs: int = 20) -> float:
    """Median ms of scoring every row against the queries."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        matrix @ queries.T
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def hnsw(matrix: np.ndarray, queries: np.ndarray, folder: str, ef: int) -> tuple[float, float, float]:
    """(build s, median query ms, recall@100 against exact) of a local Chroma HNSW collection."""
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(folder, settings=Settings(anonymized_telemetry=False))
    settings = {"hnsw:space": "cosine", "hnsw:search_ef": ef, "hnsw:construction_ef": max(ef, 100)}
    collection = client.create_collection("dense", metadata=settings, embedding_function=None)
    start = time.perf_counter()
    batch = 5000
    for at in range(0, len(matrix), batch):
        part = matrix[at : at + batch]
        collection.add(ids=[str(i) for i in range(at, at + len(part))], embeddings=part)
    built = time.perf_counter() - start
    times, recalls = [], []
    for q in queries:
        start = time.perf_counter()
        got = collection.query(query_embeddings=[q], n_results=100, include=[])
        times.append((time.perf_counter() - start) * 1000)
        truth = set(np.argsort(-(matrix @ q))[:100].tolist())
        recalls.append(len(truth & {int(i) for i in got["ids"][0]}) / 100)
    return built, statistics.median(times), statistics.mean(recalls)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000, 300_000, 1_000_000])
    parser.add_argument("--hnsw-max", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--ef", type=int, default=10, help="HNSW search_ef (Chroma's default: 10)")
    parser.add_argument(
        "--from-index", help="an index whose real chunk vectors seed the sets (see near_real)"
    )
    args = parser.parse_args()
    if args.from_index:
        probes = near_real(50, args.from_index, 2)
        queries = probes[:2]
    else:
        queries, probes = unit(2, args.dim, 1), unit(50, args.dim, 2)
    print("| chunks | exact ms (2 query vectors) | HNSW build s | HNSW query ms (k=100) | HNSW recall@100 |")
    print("|---|---|---|---|---|")
    for size in args.sizes:
        matrix = near_real(size, args.from_index, 0) if args.from_index else unit(size, args.dim, 0)
        row = [f"{size:,}", f"{exact_ms(matrix, queries):.1f}"]
        if size <= args.hnsw_max:
            with tempfile.TemporaryDirectory() as folder:
                built, ms, recall = hnsw(matrix, probes, folder, args.ef)
            row += [f"{built:.0f}", f"{ms:.1f}", f"{recall:.2f}"]
        else:
            row += ["", "", ""]
        print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
