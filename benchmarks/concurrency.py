"""Readers beside a writer on one local index: does any process crash, or the store break?

    python benchmarks/concurrency.py [--seconds 120] [--batch 50] [--keep DIR]

One process ingests synthetic articles batch after batch (scale.py's corpus and its stand-in model, so
writes come fast); meanwhile fresh `newsqa ask` processes start one after another, each opening the store
while it is being written. Prints, as a Markdown table: the batches written, the readers started, how many
were killed by a signal (a crash in Chroma's native code) or exited with an error, and whether the index
still opens afterwards and holds every chunk the writer wrote.

Chroma's embedded store is not safe for several processes on its own (store/guard.py); run this against an
older checkout (PYTHONPATH) to see the crashes the guard prevents.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import CORPUS, Corpus  # noqa: E402  (benchmarks/ is not a package)

WRITER = """
import json, sys, time
from pathlib import Path
from assistant.assistant import Assistant
from assistant.settings import Settings
index, model, cache, batches, stop = sys.argv[1:6]
settings = Settings.load(env={}, index=Path(index), embedder=model, cache_dir=Path(cache))
assistant = Assistant(settings)
done = 0
for path in sorted(Path(batches).glob("*.json")):
    if Path(stop).exists():
        break
    report = assistant.ingest(assistant.read([str(path)]))
    done += 1
    print(json.dumps({"batch": done, "chunks": report.chunks, "failed": len(report.failed)}), flush=True)
"""


def main() -> None:
    """Run the writer and the readers; print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=120.0, help="how long readers keep starting")
    parser.add_argument("--batch", type=int, default=50, help="articles per ingest call of the writer")
    parser.add_argument("--keep", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument("--dim", type=int, default=128)
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="newsqa-concurrency-"))
    model, cache = work / f"model-d{args.dim}", work / "onnx-cache"
    prepare = [sys.executable, str(Path(__file__).with_name("scale.py")), "--dim", str(args.dim)]
    subprocess.run([*prepare, "--prepare", str(model), str(cache)], check=True)
    corpus = Corpus(CORPUS, 0)
    batches, index, stop = work / "batches", work / "index", work / "stop"
    batches.mkdir(parents=True, exist_ok=True)
    for b in range(400):  # more than the writer gets through
        items = [corpus.article(b * args.batch + i) for i in range(args.batch)]
        (batches / f"{b:04d}.json").write_text(json.dumps(items), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSQA_")}
    env |= {"NEWSQA_CACHE_DIR": str(cache), "NEWSQA_PROGRESS": "0"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), str(ROOT)]))
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(index), str(model), str(cache), str(batches), str(stop)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(5)  # the writer's first batch is under way
    questions = corpus.questions(400 * args.batch, 1000)
    started = time.monotonic()
    readers = crashed = failed = 0
    errors: list[str] = []
    while time.monotonic() - started < args.seconds and writer.poll() is None:
        argv = ["--index", str(index), "--embedder", str(model), "ask", questions[readers % len(questions)]]
        done = subprocess.run(
            [sys.executable, "-m", "assistant", *argv], env=env, capture_output=True, text=True, timeout=600
        )
        readers += 1
        if done.returncode < 0:
            crashed += 1
            errors.append(f"reader {readers}: killed by {signal.Signals(-done.returncode).name}")
        elif done.returncode:
            failed += 1
            errors.append(f"reader {readers}: exit {done.returncode}: {done.stderr.strip()[-300:]}")
    stop.touch()
    out, err = writer.communicate(timeout=600)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    written = sum(line["chunks"] for line in lines)
    if writer.returncode:
        errors.append(f"writer: exit {writer.returncode}: {err.strip()[-300:]}")
    check = subprocess.run(
        [sys.executable, "-c", COUNT, str(index), str(model), str(cache)],
        env=env,
        capture_output=True,
        text=True,
    )
    stored = check.stdout.strip() if check.returncode == 0 else f"cannot open (exit {check.returncode})"
    rows = [
        ("writer batches", len(lines)),
        ("chunks written", written),
        ("writer exit", writer.returncode),
        ("readers started", readers),
        ("readers killed by a signal", crashed),
        ("readers exited with an error", failed),
        ("index afterwards: Chroma chunks / keyword rows", stored),
    ]
    print("| what | value |\n|---|---|")
    for key, value in rows:
        print(f"| {key} | {value} |")
    for line in errors[:10]:
        print(line, file=sys.stderr)


COUNT = """
import sys
from pathlib import Path
from assistant.assistant import Assistant
from assistant.settings import Settings
settings = Settings.load(env={}, index=Path(sys.argv[1]), embedder=sys.argv[2], cache_dir=Path(sys.argv[3]))
index = Assistant(settings).index
print(f"{index.count()} / {len(index.keywords)}")
"""


if __name__ == "__main__":
    main()
