"""Load test of the chat app: N simulated users ask through gradio_client at once; prints p50/p95 latency.

    python benchmarks/ui_load.py --index /tmp/mhr-index            # N = 1, 5, 20; 3 questions per user
    python benchmarks/ui_load.py --index /tmp/mhr-index --fresh    # no question asked twice (cold caches)

The app runs in its own process (`python ui.py --index ... --port ...`), as users would run it; questions
come from MultiHop-RAG's dev queries when ../shared/data is there, else from a few generic ones.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gradio_client import Client

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT.parent / "shared" / "data" / "multihop-rag" / "dev-queries.json"
FALLBACK = [
    "What did the central bank decide about interest rates?",
    "Which company announced layoffs?",
    "Who won the match on Sunday?",
    "What did the report say about inflation?",
]


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def questions(limit: int) -> list[str]:
    """Benchmark questions: MultiHop-RAG dev queries if present, else generic ones."""
    if QUERIES.is_file():
        rows = json.loads(QUERIES.read_text(encoding="utf-8"))
        return [str(r["query"]) for r in rows[:limit]]
    return (FALLBACK * (limit // len(FALLBACK) + 1))[:limit]


def start_app(index: Path, port: int, timeout: float = 180.0) -> subprocess.Popen[bytes]:
    """Launch `python ui.py` on 127.0.0.1:port and wait until it answers."""
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    cmd = [sys.executable, str(ROOT / "assistant.web.app.py"), "--index", str(index), "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(
                f"the app exited: {(proc.stderr.read() if proc.stderr else b'').decode()[-2000:]}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit(f"the app did not start within {timeout:.0f}s")


def run_users(url: str, users: int, per_user: int, pool: list[str]) -> tuple[list[float], list[str], float]:
    """Each user asks per_user questions one after another, all users at once: latencies, errors, wall s."""
    clients = [Client(url, verbose=False) for _ in range(users)]
    latencies: list[float] = []
    errors: list[str] = []

    def user(i: int) -> None:
        for j in range(per_user):
            question = pool[(i * per_user + j) % len(pool)]
            started = time.perf_counter()
            try:
                result = clients[i].predict(question, api_name="/ask")
                if not isinstance(result, dict) or "answer" not in result:
                    raise ValueError(f"unexpected result {result!r:.80}")
                latencies.append(time.perf_counter() - started)
            except Exception as exc:  # every failure is counted and shown, never fatal to the run
                errors.append(f"{type(exc).__name__}: {exc}"[:200])

    started = time.perf_counter()
    with ThreadPoolExecutor(users) as executor:
        list(executor.map(user, range(users)))
    return latencies, errors, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), interpolated."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    """Run the load levels and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--index", type=Path, default=ROOT / "index", help="index folder the app serves")
    parser.add_argument("--users", default="1,5,20", help="comma-separated concurrent user counts")
    parser.add_argument("--per-user", type=int, default=3, help="questions each user asks in turn")
    parser.add_argument("--url", help="load an already running app instead of launching one")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="give each level questions no earlier level asked (the app's caches then never help)",
    )
    args = parser.parse_args()
    levels = [int(n) for n in args.users.split(",")]
    needed = (sum(levels) if args.fresh else max(levels)) * args.per_user
    pool = questions(needed + 10)
    proc = None
    url = args.url
    if url is None:
        if not args.index.is_dir():
            raise SystemExit(f"no index at {args.index}: build one with `newsqa --index DIR ingest ...`")
        port = free_port()
        proc = start_app(args.index, port)
        url = f"http://127.0.0.1:{port}/"
    try:
        warm = Client(url, verbose=False)
        for question in pool[-3:]:  # model, index and caches warm before timing
            warm.predict(question, api_name="/ask")
        print(f"app: {url}  index: {args.index}  questions per user: {args.per_user}  cpus: {os.cpu_count()}")
        print(
            f"{'users':>5} {'requests':>8} {'errors':>6} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'req/s':>6} {'p95/p50(1)':>10}"
        )
        base: float | None = None
        results: dict[int, float] = {}
        offset = 0
        for users in levels:
            asked = pool[offset:] if args.fresh else pool
            latencies, errors, wall = run_users(url, users, args.per_user, asked)
            offset += users * args.per_user
            rate = (len(latencies) + len(errors)) / wall
            p50 = percentile(latencies, 50) if latencies else float("nan")
            p95 = percentile(latencies, 95) if latencies else float("nan")
            base = base if base is not None else p50
            results[users] = p95
            print(
                f"{users:>5} {len(latencies) + len(errors):>8} {len(errors):>6} {p50:>7.2f} {p95:>7.2f} "
                f"{max(latencies, default=float('nan')):>7.2f} {rate:>6.2f} {p95 / base:>10.1f}"
            )
            for error in errors[:3]:
                print(f"      error: {error}")
        if base is not None and 20 in results:
            verdict = "met" if results[20] <= 5 * base else "NOT met"
            print(f"target p95(20 users) <= 5 x p50(1 user) = {5 * base:.2f}s: {verdict}")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
