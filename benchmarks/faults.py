"""Crash safety: kill `newsqa ingest` with SIGKILL at random moments (and fill a small disk), re-run it, and
check the index equals a clean one-process build and fixed questions answer the same.

    python benchmarks/faults.py [--kills 20] [--articles 60] [--seed 0] [--full-disk]

Each row: when the kill came (seconds after start), how many chunks Chroma held then, and after one re-run
whether chunk ids, stories, keyword rows, their sentence vectors (cosine >= 0.995: the re-run embeds in
other batches, so floats differ in the last bits) and the answers to the fixed questions equal the clean
build's. `--full-disk` runs the ingest on a 3 MB tmpfs (needs root), then re-runs it on a normal disk.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from assistant.assistant import build_assistant
from assistant.settings import Settings
from assistant.store.sentences import vectors_by_span

PLACES = ["Harlow", "Tenby", "Ossory", "Marden", "Quill", "Brackley", "Fenwick", "Yarrow", "Lisk", "Dunmore"]
QUESTIONS = [
    "What did the Harlow council approve?",
    "How much money does the Tenby plan set aside?",
    "How did the Quill vote end?",
    "Which library roof will be repaired in Yarrow?",
]


def articles(count: int) -> list[dict[str, str]]:
    """Distinct synthetic articles of a few sentences each (about two chunks)."""
    out = []
    for n in range(count):
        place = PLACES[n % len(PLACES)]
        sentences = [
            f"The {place} council approved plan number {n} on Tuesday after a long debate.",
            f"The plan sets aside {n * 3 + 7} thousand pounds for the {place} library and its roof.",
            f"Councillor {place}son said the vote ended {n % 7 + 5} to {n % 3 + 1} after two hours.",
        ] * 6
        out.append(
            {
                "title": f"{place} council approves plan {n}",
                "body": " ".join(f"{s} (Part {i}.)" for i, s in enumerate(sentences)),
                "source": f"{place} Post",
                "published_at": f"2024-03-{n % 28 + 1:02d}T09:00:00Z",
                "url": f"https://{place.lower()}.example/plan-{n}",
            }
        )
    return out


def ingest(index: Path, inputs: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "assistant", "--index", str(index), "ingest", "-q", str(inputs)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def state(index: Path) -> dict[str, Any]:
    """Chunk ids, stories, keyword rows with their sentence vectors, and the fixed questions' answers."""
    assistant = build_assistant(Settings.load(env={}, index=index))
    got = assistant.index.store.page(0, 10**9)  # every part of the store
    rows = assistant.index.keywords.blobs()
    return {
        "chunks": sorted(got.ids),
        "stories": sorted((str(m["article_id"]), str(m.get("story_id"))) for m in got.metas),
        "rows": rows,
        "answers": [assistant.ask(q).text for q in QUESTIONS],
    }


def same_vectors(a: str | None, b: str | None) -> bool:
    va, vb = vectors_by_span(a), vectors_by_span(b)
    return va.keys() == vb.keys() and all(float(va[k] @ vb[k]) >= 0.995 for k in va)


def compare(got: dict[str, Any], want: dict[str, Any]) -> dict[str, bool]:
    return {
        "chunks": got["chunks"] == want["chunks"],
        "stories": got["stories"] == want["stories"],
        "rows": got["rows"].keys() == want["rows"].keys()
        and all(same_vectors(got["rows"][k], want["rows"][k]) for k in want["rows"]),
        "answers": got["answers"] == want["answers"],
    }


def chroma_count(index: Path) -> int:
    try:
        return int(build_assistant(Settings.load(env={}, index=index)).index.count())
    except Exception:
        return -1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--full-disk", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="newsqa-faults-"))
    inputs = root / "inputs"
    inputs.mkdir()
    data = articles(args.articles)
    for i in range(0, len(data), 10):
        (inputs / f"part{i // 10}.json").write_text(json.dumps(data[i : i + 10]), encoding="utf-8")
    env = {**os.environ, "NEWSQA_PROGRESS": "0"}
    started = time.monotonic()
    clean = ingest(root / "clean", inputs, env)
    out = clean.communicate()[0]
    total = time.monotonic() - started
    assert clean.returncode == 0, out
    want = state(root / "clean")
    print(f"clean build: {len(want['chunks'])} chunks in {total:.1f} s\n")
    print("| kill | at (s) | chunks at kill | re-run rc | chunks | stories | rows+vectors | answers |")
    print("|---|---|---|---|---|---|---|---|")
    failures = 0
    for n in range(1, args.kills + 1):
        index = root / f"k{n}"
        at = rng.uniform(0.5, 1.0) * total  # the first half is mostly the model loading: nothing written yet
        proc = ingest(index, inputs, env)
        time.sleep(at)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        held = chroma_count(index)
        rerun = ingest(index, inputs, env)
        rerun.communicate()
        ok = compare(state(index), want)
        failures += not all(ok.values())
        marks = " | ".join("equal" if v else "DIFFERS" for v in ok.values())
        print(f"| {n} | {at:.1f} | {held} | {rerun.returncode} | {marks} |", flush=True)
        shutil.rmtree(index, ignore_errors=True)
    if args.full_disk:
        failures += full_disk(root, inputs, env, want)
    print(f"\n{args.kills} kills, {failures} runs differing from the clean build")
    shutil.rmtree(root, ignore_errors=True)


def full_disk(root: Path, inputs: Path, env: dict[str, str], want: dict[str, Any]) -> int:
    """Ingest onto a 3 MB tmpfs (it fills), then copy the index to a normal disk and re-run there."""
    small = root / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(small)]).returncode:
        print("\nfull disk: cannot mount a tmpfs here (needs root); skipped")
        return 0
    try:
        proc = ingest(small / "index", inputs, env)
        out = proc.communicate()[0]
        print(f"\nfull disk: rc {proc.returncode}; last lines: {out.strip().splitlines()[-2:]}")
        moved = root / "moved"
        shutil.copytree(small / "index", moved)
    finally:
        subprocess.run(["umount", str(small)])
    rerun = ingest(moved, inputs, env)
    rerun.communicate()
    ok = compare(state(moved), want)
    print(f"full disk, then re-run on a normal disk: rc {rerun.returncode}, {ok}")
    return int(not all(ok.values()))


if __name__ == "__main__":
    main()
