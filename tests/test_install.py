"""newsqa installed from a built wheel, run outside the checkout: ingest into ./index, ask through an LLM
(the prompts come from the package), and serve the chat page (the app comes from the package)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import SEED
from tests.llm_servers import ScriptedLLM, source_with
from tests.test_ui import free_port

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_wheel_installed_outside_the_checkout_ingests_asks_and_serves(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    build = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        str(ROOT),
        "-w",
    ]  # isolated: any setuptools
    subprocess.run([*build, str(wheels)], check=True, capture_output=True, cwd=tmp_path)
    venv = tmp_path / "venv"  # the dependencies come from this Python's site-packages, newsqa from the wheel
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
    subprocess.run([*pip, *map(str, wheels.glob("newsqa-*.whl"))], check=True, capture_output=True)
    work = tmp_path / "somewhere-else"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSQA_")} | {"NEWSQA_PROGRESS": "0"}
    python = str(venv / "bin" / "python")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(venv / "bin" / "newsqa"), *args], capture_output=True, text=True, cwd=work, env=env
        )

    where = subprocess.run(
        [python, "-c", "import assistant; print(assistant.__file__)"],
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        check=True,
    )
    assert where.stdout.startswith(str(venv)), where.stdout  # the installed copy, not the checkout
    added = run("ingest", "-q", str(SEED))
    assert "1 added" in added.stdout, added.stdout + added.stderr
    assert (work / "index").is_dir()  # ./index of the directory it ran in

    def reply(body: dict[str, object]) -> str:
        return f"One of the calls lasted approximately 50 minutes [{source_with(body, '50 minutes')}]."

    with ScriptedLLM("openai", reply) as llm:
        asked = run(
            "ask", "--json", "--llm", "openai:m", "--llm-base-url", llm.url, "How long did one call last?"
        )
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["backend"] == "openai:m" and "50 minutes" in answer["answer"]
    system = (ROOT / "prompts" / "answer_system.txt").read_text(encoding="utf-8").split("{")[0].strip()
    assert system[:60] in json.dumps(llm.requests[-1].body, ensure_ascii=False)  # the packaged prompt
    port = free_port()
    served = subprocess.Popen(
        [str(venv / "bin" / "newsqa"), "serve", "--port", str(port)],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as page:
                    assert page.status == 200
                    break
            except OSError:
                assert served.poll() is None, served.communicate()[1][-2000:]
                assert time.monotonic() < deadline, "newsqa serve did not answer within 120 s"
                time.sleep(0.3)
    finally:
        served.terminate()
        served.wait(timeout=30)
