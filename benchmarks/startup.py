"""Start-up times, each against the floor every command pays (`python -c "import torch, chromadb"`).

    python benchmarks/startup.py [--index DIR] [--runs 3]

Prints, as medians of `--runs` cold runs (fresh processes): `newsqa --help`, a usage error (both with the
heavy libraries they import), `newsqa ask` on a small index (cold: model, index, question), and
`python ui.py` until the page answers HTTP on its port; then each as a ratio to the floor.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "chromadb", "llama_index", "gradio", "sentence_transformers", "transformers")
PROBE = "import sys, runpy; sys.argv = {argv!r}\ntry:\n    runpy.run_module('assistant', run_name='__main__')\nexcept SystemExit:\n    pass\nprint('HEAVY', sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)"


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    return time.perf_counter() - started, done.stderr


def cli(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    seconds, err = timed([sys.executable, "-c", PROBE.format(argv=["newsqa", *argv], heavy=HEAVY)], env)
    heavy = next((line[6:] for line in err.splitlines() if line.startswith("HEAVY")), "?")
    return seconds, heavy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ui(index: Path, env: dict[str, str]) -> float:
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "ui.py", "--index", str(index), "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() - started < 120:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as page:
                    if page.status == 200:
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.1)
        return float("nan")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--index", type=Path, help="an index to ask (default: the sample article, indexed here)"
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "NEWSQA_PROGRESS": "0"}
    index = args.index
    if index is None:
        index = Path(tempfile.mkdtemp()) / "index"
        subprocess.run(
            [sys.executable, "-m", "assistant", "--index", str(index), "ingest", "-q", "examples/"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    rows: dict[str, list[float]] = {}
    heavy: dict[str, str] = {}
    for _ in range(args.runs):
        rows.setdefault("floor: import torch, chromadb", []).append(
            timed([sys.executable, "-c", "import torch, chromadb"], env)[0]
        )
        for name, argv in (("newsqa --help", ["--help"]), ("usage error", ["--no-such-option"])):
            seconds, loaded = cli(argv, env)
            rows.setdefault(name, []).append(seconds)
            heavy[name] = loaded
        question = ["--index", str(index), "ask", "How long did one of the Putin-Trump calls last?"]
        rows.setdefault("newsqa ask (cold)", []).append(
            timed([sys.executable, "-m", "assistant", *question], env)[0]
        )
        rows.setdefault("python ui.py: page served", []).append(ui(index, env))
    floor = statistics.median(rows["floor: import torch, chromadb"])
    print(f"| command | median s ({args.runs} runs) | x floor | heavy libraries imported |")
    print("|---|---|---|---|")
    for name, values in rows.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.2f} | {median / floor:.2f} | {heavy.get(name, '')} |")
    print(json.dumps({k: [round(v, 2) for v in vs] for k, vs in rows.items()}))


if __name__ == "__main__":
    main()
