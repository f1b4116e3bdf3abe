"""One index, many processes: an app answering while two `ingest` runs and a `watch --once` write at once,
then the index compared with a one-process build of the same inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client

from assistant.assistant import Assistant
from assistant.errors import IndexBusyError
from assistant.ingest.watch import STATE_FILE
from assistant.store.keywords import keyword_folder
from assistant.store.sentences import vectors_by_span
from tests.news_server import NewsServer, page, rss
from tests.test_ui import free_port, wait_for_port

Make = Callable[..., Assistant]
PLACES = ["Harlow", "Tenby", "Ossory", "Marden", "Quill", "Brackley", "Fenwick", "Yarrow", "Lisk", "Dunmore"]


def _articles(batch: int) -> list[dict[str, str]]:
    """Ten distinct short articles per batch, each with a fact no other article states."""
    out = []
    for i, place in enumerate(PLACES):
        n = batch * 100 + i
        out.append(
            {
                "title": f"{place} council approves plan {n}",
                "body": (
                    f"The {place} council approved plan number {n} on Tuesday after a long debate. "
                    f"The plan sets aside {n * 3} thousand pounds for the {place} library and its roof. "
                    f"Councillor {place}son said the vote in batch {batch} ended {i + 5} to {i + 1}."
                ),
                "source": f"{place} Post",
                "published_at": f"2024-0{batch + 1}-1{i % 9}T09:00:00Z",
                "url": f"https://{place.lower()}.example/plan-{n}",
            }
        )
    return out


def _state(assistant: Assistant) -> dict[str, Any]:
    """What a build leaves: chunk ids, keyword rows with their sentence vectors, story ids, feed entries."""
    got = assistant.index.store.page(0, 10**6)  # every part of the store
    keywords = assistant.index.keywords
    keywords.load()
    feeds = Path(assistant.settings.index) / STATE_FILE
    entries = json.loads(feeds.read_text())["feeds"] if feeds.is_file() else {}
    return {
        "chunks": sorted(got.ids),
        "stories": sorted((str(m["article_id"]), str(m.get("story_id"))) for m in got.metas),
        "rows": sorted(keywords.blobs().items()),
        "feeds": sorted((url, sorted(state["entries"])) for url, state in entries.items()),
    }


@pytest.mark.slow
@pytest.mark.parametrize("store", ["local", "chroma run"])
def test_app_two_ingests_and_watch_on_one_index(
    tmp_path: Path,
    server: NewsServer,
    make_assistant: Make,
    store: str,
    chroma_server_at: Callable[[Path, int], subprocess.Popen[bytes]],
) -> None:
    files = []
    for batch in range(3):
        path = tmp_path / f"batch{batch}.json"
        path.write_text(json.dumps(_articles(batch)), encoding="utf-8")
        files.append(str(path))
    stories = [
        ("Ferry timetable changes", "The Sallow ferry will leave at 07:15 from the new pier."),
        ("Kiln reopens", "The Brask kiln reaches 1,200 degrees and opens to schools on Wednesdays."),
    ]
    for i, (title, text) in enumerate(stories):
        server.add(f"/s{i}", page(title, [text, "Residents welcomed the change at a meeting."], "Coast News"))
    feed = server.add(
        "/feed",
        rss("Coast News", [{"title": t, "link": server.url(f"/s{i}")} for i, (t, _) in enumerate(stories)]),
        content_type="application/rss+xml",
    )
    index = tmp_path / "shared-index"
    # a new Chroma collection every 12 chunks (store/chunks.py): writers start parts the apps must find
    env = {**os.environ, "NEWSQA_PROGRESS": "0", "NEWSQA_PART_CHUNKS": "12"}
    shared: dict[str, Any] = {"index": index}
    if store == "chroma run":  # every process on one Chroma server (the keyword index stays in --index)
        chroma_port = free_port()
        chroma_server_at(tmp_path / "server-data", chroma_port)
        shared["chroma_url"] = f"http://127.0.0.1:{chroma_port}"
        env["NEWSQA_CHROMA_URL"] = shared["chroma_url"]
    newsqa = [sys.executable, "-m", "assistant", "--index", str(index)]
    port, port2 = free_port(), free_port()
    apps = []
    for n, p in enumerate((port, port2)):  # two app processes on the one store
        log = (tmp_path / f"app{n}.log").open("w")
        apps.append(
            subprocess.Popen(
                [sys.executable, "ui.py", "--index", str(index), "--port", str(p)],
                cwd=Path(__file__).resolve().parents[1],
                env=env,
                stdout=log,
                stderr=log,
            )
        )
    app = apps[0]
    errors: list[str] = []
    answered: list[int] = []
    stop = threading.Event()

    def ask_throughout() -> None:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        while not stop.is_set():
            try:
                result = client.predict("What did the Harlow council approve?", api_name="/ask")
                answered.append(len(result["citations"]))
            except Exception as exc:  # every failure the app shows a user counts
                errors.append(f"{type(exc).__name__}: {exc}")
            time.sleep(0.3)

    try:
        wait_for_port(port, app, tmp_path / "app0.log")
        wait_for_port(port2, apps[1], tmp_path / "app1.log")
        asker = threading.Thread(target=ask_throughout)
        asker.start()
        commands = [
            ["ingest", "-q", files[0], files[1]],
            ["ingest", "-q", files[1], files[2]],
            ["watch", "--once", "--allow-private-urls", feed],
        ]
        writers = [
            subprocess.Popen(
                [*newsqa, *command], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            for command in commands
        ]
        outputs = [w.communicate(timeout=600)[0] for w in writers]
        assert [w.returncode for w in writers] == [0, 0, 0], outputs
        assert all("Traceback" not in out for out in outputs), outputs
        clients = [Client(f"http://127.0.0.1:{p}/", verbose=False) for p in (port, port2)]

        def cites_ferry(client: Client) -> bool:
            result = client.predict("When does the Sallow ferry leave?", api_name="/ask")
            return any(c["title"] == "Ferry timetable changes" for c in result["citations"])

        done = time.monotonic()
        for client in clients:  # the last writer's articles are answerable from both apps within 5 s
            while not cites_ferry(client):
                assert time.monotonic() - done < 5, "an app did not pick up the new article within 5 s"
                time.sleep(0.5)
        removed = subprocess.run(
            [*newsqa, "remove", server.url("/s0")], env=env, capture_output=True, text=True
        )
        assert removed.returncode == 0, removed.stdout + removed.stderr
        done = time.monotonic()
        for client in clients:  # ... and a removed article stops being cited by both within 5 s
            while cites_ferry(client):
                assert time.monotonic() - done < 5, "an app still cites a removed article after 5 s"
                time.sleep(0.5)
        stop.set()
        asker.join(timeout=60)
    finally:
        stop.set()
        for process in apps:
            process.terminate()
            process.wait(timeout=30)
    assert not errors, errors[:3]
    assert len(answered) >= 3  # it answered throughout, not just once

    reference = make_assistant(index=tmp_path / "one-process", allow_private_urls=True)
    reference.ingest(reference.read(files))
    reference.watch([feed], once=True, say=lambda _: None, warn=lambda _: None)
    reference.remove(server.url("/s0"))
    built, expected = _state(make_assistant(**shared)), _state(reference)
    assert len(make_assistant(**shared).index.store.parts) >= 3  # 31 chunks in parts of at most 12
    assert len(expected["chunks"]) >= 31  # 32 written, the ferry article removed
    assert all(sentences for _, sentences in expected["rows"])
    assert {k: v for k, v in built.items() if k != "rows"} == {
        k: v for k, v in expected.items() if k != "rows"
    }
    # the same rows with the same sentence vectors (equal up to the float noise of batching: the writers
    # embedded each chunk in other batches than the one-process build did)
    assert [r for r, _ in built["rows"]] == [r for r, _ in expected["rows"]]
    for (_, got), (_, want) in zip(built["rows"], expected["rows"], strict=True):
        a, b = vectors_by_span(got), vectors_by_span(want)
        assert a.keys() == b.keys() and all(float(a[k] @ b[k]) > 0.995 for k in a)


def test_concurrent_questions_while_the_same_app_ingests(make_assistant: Make, tmp_path: Path) -> None:
    """Questions from four threads while uploads land in the same process (refreshes in the middle of
    questions): no error, and every answer cites passages that exist."""
    assistant = make_assistant()
    first = tmp_path / "first.json"
    first.write_text(json.dumps(_articles(0)), encoding="utf-8")
    assert not assistant.ingest(assistant.read([str(first)])).failed
    errors: list[str] = []
    answers: list[int] = []
    stop = threading.Event()

    def ask() -> None:
        questions = [
            "What did the Harlow council approve?",
            "How did the Tenby vote end?",
            "Quill library roof",
        ]
        i = 0
        while not stop.is_set():
            try:
                answer = assistant.ask(questions[i % len(questions)], k=8)
                assert all(c.passage.text for c in answer.citations)
                answers.append(len(answer.citations))
            except Exception as exc:  # any failure under load counts
                errors.append(f"{type(exc).__name__}: {exc}")
            i += 1

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for batch in (1, 2, 3):
            path = tmp_path / f"more{batch}.json"
            path.write_text(json.dumps(_articles(batch)), encoding="utf-8")
            assert not assistant.ingest(assistant.read([str(path)])).failed
            time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert not errors, errors[:3]
    assert len(answers) >= 8
    final = assistant.ask("What did the Harlow council approve in plan 300?")  # the last upload's article
    assert any("plan number 300" in c.passage.text for c in final.citations)


def _hold(lock: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process that holds the index's write lock for a while (returns once it holds it)."""
    code = (
        f"import time; from filelock import FileLock; l = FileLock({str(lock)!r}); "
        f"l.acquire(); print('held', flush=True); time.sleep({seconds}); l.release()"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_a_writer_waits_for_another_and_says_so(make_assistant: Make, tmp_path: Path) -> None:
    """Another process holds the index's write lock: ingest says it is waiting, then goes on."""
    assistant = make_assistant()
    lock = keyword_folder(assistant.settings).with_suffix(".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    holder = _hold(lock, 2)
    said: list[str] = []
    assistant.index.waiting = said.append
    path = tmp_path / "news.json"
    path.write_text(json.dumps(_articles(0)[:2]), encoding="utf-8")
    started = time.monotonic()
    report = assistant.ingest(assistant.read([str(path)]))
    holder.wait(timeout=30)
    assert report.added == 2 and said and "waiting for another newsqa process" in said[0]
    assert time.monotonic() - started > 1.0  # it did wait for the other writer
    busy = make_assistant(lock_timeout=0.5)
    holder = _hold(lock, 5)
    with pytest.raises(IndexBusyError, match="raise `lock_timeout`"):
        busy.remove("https://harlow.example/plan-0")
    holder.kill()
