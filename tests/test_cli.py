"""The `newsqa` command as a user runs it: real subprocesses, a real Chroma store, a real Chroma server."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings

from assistant.flags import globals_first
from assistant.settings import Settings
from tests.conftest import ROOT, SEED, interruptible

QUESTION = "How long did one of the Putin-Trump calls last?"


def newsqa(*args: str, index: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `python -m assistant ARGS` with the index in a tmp dir."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if index is not None:
        env["NEWSQA_INDEX"] = str(index)
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"newsqa {args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def _chunks(index: Path) -> tuple[list[str], list[dict[str, object]]]:
    client = chromadb.PersistentClient(path=str(index), settings=ChromaSettings(anonymized_telemetry=False))
    got = client.get_collection("news").get(include=["metadatas"])
    return got["ids"], [dict(m) for m in got["metadatas"] or []]


def test_help_teaches() -> None:
    out = newsqa("--help").stdout
    for word in ("ingest", "ask", "stats", "remove", "Examples", "NEWSQA_"):
        assert word in out
    ask_help = newsqa("ask", "--help").stdout
    for flag in ("--k", "--since", "--until", "--source", "--json"):
        assert flag in ask_help


def test_ingest_ask_json_stats_remove(tmp_path: Path) -> None:
    index = tmp_path / "index"
    out = newsqa("ingest", "--quiet", str(SEED), index=index).stdout
    assert "1 added, 0 updated, 0 unchanged, 0 failed" in out
    text = newsqa("ask", QUESTION, index=index).stdout
    assert "50 minutes" in text.split("[1]")[0]
    assert "[1] Putin Praises Talks with Trump" in text and ">>" in text and "undated" in text
    payload = json.loads(newsqa("ask", "--json", QUESTION, index=index).stdout)
    assert payload["abstained"] is False
    first = payload["citations"][0]
    assert (
        first["n"] == 1
        and first["title"] == "Putin Praises Talks with Trump"
        and "50 minutes" in first["sentence"]
    )
    stats = newsqa("stats", index=index).stdout
    assert re.search(r"articles:\s+1\b", stats) and re.search(r"chunks:\s+\d+", stats)
    stats_json = json.loads(newsqa("stats", "--json", index=index).stdout)
    assert stats_json["articles"] == 1 and stats_json["undated"] == 1 and stats_json["size_bytes"] > 0
    removed = newsqa("remove", first["article_id"], index=index).stdout
    assert "removed" in removed
    assert json.loads(newsqa("stats", "--json", index=index).stdout)["articles"] == 0
    missing = newsqa("remove", first["article_id"], index=index, check=False)
    assert missing.returncode == 1 and "No article" in missing.stderr and "Traceback" not in missing.stderr
    newsqa("ingest", "--quiet", str(SEED), index=index)
    several = newsqa("remove", "https://nowhere.example/x", first["article_id"], index=index, check=False)
    assert f"removed {first['article_id']}" in several.stdout  # the rest still goes
    assert several.returncode == 1 and "'https://nowhere.example/x'" in several.stderr


def test_failures_are_listed_and_exit_code_is_nonzero(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    shutil.copy(SEED, tmp_path / "in" / "seed.txt")
    (tmp_path / "in" / "bad.json").write_text('{"title": "x", ', encoding="utf-8")
    proc = newsqa("ingest", "--quiet", str(tmp_path / "in"), index=tmp_path / "index", check=False)
    assert proc.returncode == 1
    assert "1 added" in proc.stdout and "1 failed" in proc.stdout
    assert "bad.json" in proc.stderr and "malformed JSON" in proc.stderr


def test_bad_date_flag_is_explained(tmp_path: Path) -> None:
    proc = newsqa("ask", "--since", "yesterday-ish", "q", index=tmp_path / "index", check=False)
    assert proc.returncode == 2 and "is not a date" in proc.stderr


def _many_articles(folder: Path, n: int) -> None:
    folder.mkdir()
    for i in range(n):
        sentences = " ".join(
            f"Report {i} paragraph {j}: the committee number {i} reviewed budget line {j * 7 + i} in detail."
            for j in range(40)
        )
        (folder / f"a{i:03d}.txt").write_text(f"Article number {i}\n\n{sentences}\n", encoding="utf-8")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_interrupted_ingest_then_rerun_equals_one_clean_run(tmp_path: Path, sig: signal.Signals) -> None:
    folder = tmp_path / "articles"
    _many_articles(folder, 48)
    index = tmp_path / "index"
    env = {**os.environ, "NEWSQA_INDEX": str(index), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "ingest", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
        preexec_fn=interruptible,
    )
    seen = bytearray()

    def pump() -> None:
        assert proc.stderr is not None
        while chunk := proc.stderr.read1(256):  # type: ignore[attr-defined]
            seen.extend(chunk)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        done = [int(m) for m in re.findall(rb"\b(\d+)/48\b", bytes(seen))]
        if done and 0 < max(done) <= 24:  # half or more still to do: tqdm's display lags the work, so a
            break  # late "36/48" can come from a run already saving its last batch (seen under load)
        time.sleep(0.05)
    assert proc.poll() is None, "ingest finished before it could be interrupted"
    proc.send_signal(sig)
    proc.wait(timeout=60)
    assert proc.returncode != 0

    ids_partial, _ = _chunks(index)
    assert len(ids_partial) > 0  # it really was stopped part-way...
    rerun = newsqa("ingest", "--quiet", str(folder), index=index)
    assert re.search(r"(\d+) added, 0 updated, (\d+) unchanged, 0 failed", rerun.stdout)

    clean_index = tmp_path / "clean"
    newsqa("ingest", "--quiet", str(folder), index=clean_index)
    ids_rerun, metas = _chunks(index)
    ids_clean, _ = _chunks(clean_index)
    assert len(ids_rerun) == len(set(ids_rerun))  # no duplicate chunks
    assert sorted(ids_rerun) == sorted(ids_clean)  # nothing lost, nothing extra
    per_article = Counter(str(m["article_id"]) for m in metas)
    expected = {str(m["article_id"]): int(str(m["n_chunks"])) for m in metas}
    assert per_article == Counter(expected)  # no article with half its chunks
    assert len(per_article) == 48


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A real `chroma run` server on a free loopback port."""
    exe = shutil.which("chroma")
    if exe is None:
        pytest.skip("the `chroma` command (from the chromadb package) is not on PATH")
    port = _free_port()
    server = subprocess.Popen(
        [exe, "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("chroma server did not start within 60s")
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=30)


def test_ingest_and_ask_through_a_chroma_server(chroma_server: str, tmp_path: Path) -> None:
    out = newsqa("--chroma-url", chroma_server, "ingest", "--quiet", str(SEED), index=tmp_path / "unused")
    assert "1 added" in out.stdout
    payload = json.loads(newsqa("--chroma-url", chroma_server, "ask", "--json", QUESTION).stdout)
    assert payload["citations"][0]["title"] == "Putin Praises Talks with Trump"
    assert "50 minutes" in payload["answer"].split("[1]")[0]
    again = newsqa("--chroma-url", chroma_server, "ingest", "--quiet", str(SEED))
    assert "0 added, 0 updated, 1 unchanged" in again.stdout
    redone = newsqa("--chroma-url", chroma_server, "ingest", "--quiet", "--reembed", str(SEED))
    assert "0 added, 1 updated, 0 unchanged, 0 failed (6 chunks" in redone.stdout


def test_unreachable_chroma_server_is_explained(tmp_path: Path) -> None:
    proc = newsqa("--chroma-url", f"http://127.0.0.1:{_free_port()}", "stats", check=False)
    assert proc.returncode == 1
    assert "Chroma server" in proc.stderr and "chroma run" in proc.stderr and "Traceback" not in proc.stderr


def test_newsqa_and_ui_py_resolve_the_same_flags_the_same_way(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from assistant import flags
    from assistant.cli.main import cli, serve
    from assistant.web.util import settings_from_args

    for key in [k for k in os.environ if k.startswith("NEWSQA_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "mine.toml"
    config.write_text('[newsqa]\nllm = "ollama:toml"\nhost = "0.0.0.0"\nport = 1111\nk = 9\n')
    monkeypatch.setenv("NEWSQA_PORT", "2222")  # env over the file...
    monkeypatch.setenv("NEWSQA_K", "7")
    global_args = ["--config", str(config), "--index", str(tmp_path / "idx"), "--reranker", "rr"]
    serve_args = ["--port", "3333", "--allow-private-urls"]  # ...flags over env
    group = cli.make_context("newsqa", [*global_args, "serve"])
    command = serve.make_context("serve", list(serve_args))  # click consumes the list it parses
    by_click = flags.load(group.params).replace(**flags.overrides(command.params))  # as `newsqa ... serve`
    by_argparse = settings_from_args([*global_args, *serve_args])  # as `python ui.py`
    assert by_click == by_argparse
    assert (by_click.llm, by_click.host, by_click.k, by_click.port) == ("ollama:toml", "0.0.0.0", 7, 3333)
    assert (by_click.index, by_click.reranker, by_click.allow_private_urls) == (tmp_path / "idx", "rr", True)
    for flag in flags.FLAGS:  # every row sets a real setting and says which variable also does
        assert flag.setting == flags.CONFIG or flag.setting in Settings.__dataclass_fields__
        assert f"env {flag.env}" in flag.help


def test_help_and_usage_errors_load_no_model_library() -> None:
    """`newsqa --help`, a subcommand's help and a usage error import none of the heavy libraries."""
    code = (
        "import sys; from click.testing import CliRunner; from assistant.cli.main import cli; "
        "runs = [CliRunner().invoke(cli, a) for a in (['--help'], ['ingest', '--help'], ['--no-such-option'])]; "
        "print([r.exit_code for r in runs]); "
        "print(sorted(m for m in ('torch', 'chromadb', 'llama_index', 'gradio', 'sentence_transformers', "
        "'transformers', 'trafilatura', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    codes, loaded = out.stdout.strip().splitlines()
    assert codes == "[0, 0, 2]"
    assert loaded == "[]", loaded


def test_global_options_work_after_the_command_too(tmp_path: Path) -> None:
    """`newsqa ingest --index DIR FILE` is `newsqa --index DIR ingest FILE` (one definition of each flag)."""
    after = newsqa("ingest", "--quiet", "--index", str(tmp_path / "ix"), str(SEED), index=None)
    assert "1 added" in after.stdout
    stats = newsqa("stats", "--json", f"--index={tmp_path / 'ix'}", index=None)
    assert json.loads(stats.stdout)["articles"] == 1
    assert globals_first(["ask", "--", "--index", "x"]) == ["ask", "--", "--index", "x"]  # after -- : text
