"""Shared fixtures: one loaded embedder per session, assistants over real Chroma stores in tmp dirs."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.assistant import Assistant
from assistant.embedding import Embedder, load_embedder
from assistant.settings import Settings
from tests.news_server import NewsServer

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
SEED = ROOT / "examples" / "putin-trump-talks.txt"
CORPUS = SHARED_DATA / "multihop-rag" / "corpus.json"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's, installed by scripts/test.sh
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def interruptible() -> None:
    """Popen preexec_fn: Ctrl-C (SIGINT) back to its default in the child. A shell's background job
    (`bash .ci/run &`) starts with SIGINT ignored, and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real packaged all-MiniLM-L6-v2 on the default backend, loaded once for the whole run."""
    return load_embedder(backend=Settings().embed_backend)


@pytest.fixture
def make_assistant(tmp_path: Path, embedder: Embedder) -> Callable[..., Assistant]:
    """Build an Assistant over a fresh Chroma store in a tmp dir (settings overridable)."""

    def make(**overrides: Any) -> Assistant:
        overrides.setdefault("index", tmp_path / "index")
        settings = Settings.load(env={}, **overrides)
        return Assistant(settings, embedder=embedder)  # reuse the session's loaded model

    return make


@pytest.fixture
def corpus_path() -> Path:
    """MultiHop-RAG's corpus.json from ../shared/data; tests using it skip when it is absent."""
    if not CORPUS.is_file():
        pytest.skip(f"benchmark data not found at {CORPUS} (only CI and dev machines have ../shared)")
    return CORPUS


@pytest.fixture
def server() -> Iterator[NewsServer]:
    """A real HTTP server on 127.0.0.1 serving whatever the test adds."""
    with NewsServer() as s:
        yield s


@pytest.fixture
def chroma_server_at() -> Iterator[Callable[[Path, int], subprocess.Popen[bytes]]]:
    """Starts real `chroma run` servers (data folder, port) and stops them at the end."""
    exe = shutil.which("chroma")
    if exe is None:
        pytest.skip("the `chroma` command (from the chromadb package) is not on PATH")
    started: list[subprocess.Popen[bytes]] = []

    def start(data: Path, port: int) -> subprocess.Popen[bytes]:
        command = [exe, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)]
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(server)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return server
            except OSError:
                time.sleep(0.2)
        pytest.fail("chroma server did not start within 60s")

    yield start
    for server in started:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright, one per test module (skips only when it is not installed)."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is absent: `apt-get install chromium chromium-driver` (scripts/test.sh does)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
