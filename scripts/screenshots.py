"""Refresh docs/screenshots/: the chat page answering the sample question, at 1366x900 and 390x844, light
and dark, in Debian's Chromium (the browser the tests use).

    python scripts/screenshots.py
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
QUESTION = "How long did one of the Putin-Trump calls last?"
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    index = Path(tempfile.mkdtemp()) / "index"
    newsqa = [sys.executable, "-m", "assistant", "--index", str(index)]
    subprocess.run([*newsqa, "ingest", "-q", "examples/"], cwd=ROOT, check=True, capture_output=True)
    port = free_port()
    app = subprocess.Popen(
        [*newsqa, "serve", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the app did not start within 120 s") from None
                time.sleep(0.3)
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for theme in ("light", "dark"):
                for name, (width, height) in SIZES.items():
                    page = browser.new_page(viewport={"width": width, "height": height})
                    page.goto(f"{url}?__theme={theme}")
                    box = page.locator("#nq-question textarea")
                    box.fill(QUESTION)
                    box.press("Enter")
                    page.locator("#nq-chat .nq-answer").last.wait_for(timeout=120_000)
                    page.locator("#nq-chat .nq-typing").first.wait_for(state="detached", timeout=120_000)
                    page.locator("#nq-chat .nq-cite").first.hover()  # show a citation's source
                    page.wait_for_timeout(500)
                    path = OUT / f"{name}-{theme}.png"
                    page.screenshot(path=str(path))
                    print(path.relative_to(ROOT))
                    page.close()
            browser.close()
    finally:
        app.terminate()
        app.wait(timeout=30)


if __name__ == "__main__":
    main()
