"""The chat follows a new answer (issue 13, point 4): in real Chromium against the real app, each new answer
ends up in view inside the chat's scroll box, also when the reader had scrolled the chat up before asking."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from assistant.embedding import Embedder
from tests.conftest import SEED
from tests.test_ui import SEED_QUESTION, launch, make

QUESTIONS = [
    SEED_QUESTION,
    "What did Putin say about Iran?",
    # a long question: a tall bubble of its own before the answer
    "I have read several reports about these conversations and I would like to know, as precisely as the "
    "articles allow, how many separate telephone calls between the two leaders were reported within a "
    "single month, and how long the longest of them lasted?",
    "Where did the Russian and Ukrainian delegations meet?",
    "And who described them as useful?",
]
SCROLLED_UP_BEFORE = {3, 4}  # the reader scrolls the chat to its top before these questions

# Where the chat's scroll box is and where its newest answer sits in it, and whether that answer is in
# view: its bottom edge inside the box's visible rectangle, its top too unless it is taller than the box,
# and the box scrolled to its end.
GEOMETRY_JS = """() => {
  const log = document.querySelector('#nq-chat [role=log]');
  const answers = log.querySelectorAll('.nq-answer');
  const answer = answers[answers.length - 1];
  const box = log.getBoundingClientRect(), a = answer.getBoundingClientRect();
  const viewTop = box.top + log.clientTop, viewBottom = viewTop + log.clientHeight;
  const g = {scrollTop: log.scrollTop, clientHeight: log.clientHeight, scrollHeight: log.scrollHeight,
             top: a.top, bottom: a.bottom, viewTop, viewBottom, windowHeight: window.innerHeight,
             arrow: !!document.querySelector('#nq-chat .scroll-down-button-container')};
  g.atEnd = g.scrollTop + g.clientHeight >= g.scrollHeight - 4;
  g.bottomInView = a.bottom <= viewBottom + 2 && a.bottom >= viewTop && a.bottom <= window.innerHeight;
  g.topInView = a.top >= viewTop - 2 || a.bottom - a.top > log.clientHeight - 80;
  g.ok = g.atEnd && g.bottomInView && g.topInView;
  return g;
}"""


@pytest.fixture(scope="module")
def chat_app(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    """The app over a small real index: the seed article in a Chroma store of its own."""
    assistant = make(tmp_path_factory.mktemp("scroll") / "index", embedder)
    assistant.ingest(assistant.read([str(SEED)]))
    demo, url = launch(assistant)
    yield url
    demo.close()


def ask(page: Any, question: str, answers: int, button: bool = False) -> None:
    """Type the question, press Enter (or click Ask), and wait until the chat holds that many finished
    answers."""
    box = page.locator("#nq-question textarea")
    box.fill(question)
    if button:
        page.locator("#nq-ask").click()
    else:
        box.press("Enter")
    page.wait_for_function(
        "(n) => document.querySelectorAll('#nq-chat .nq-answer').length === n"
        " && !document.querySelector('#nq-chat .nq-typing')",
        arg=answers,
        timeout=60_000,
    )


def scroll_chat_up(page: Any) -> None:
    """Scroll the chat to its top with the mouse wheel, as a reader would, and check the answer left view.
    Gradio's own scroll comes ~300 ms after a change: the reader scrolls after it, and stays scrolled up."""
    page.wait_for_timeout(800)
    log = page.locator("#nq-chat [role=log]")
    rect = log.bounding_box()
    assert rect is not None
    page.mouse.move(rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2)
    page.mouse.wheel(0, -20_000)
    page.wait_for_function("() => document.querySelector('#nq-chat [role=log]').scrollTop === 0")
    page.mouse.move(0, 0)
    page.wait_for_timeout(800)
    g = page.evaluate(GEOMETRY_JS)
    assert g["scrollHeight"] - g["clientHeight"] > 150, f"the chat does not overflow enough to test: {g}"
    assert g["scrollTop"] == 0 and not g["ok"], g  # scrolled up, the newest answer is out of view


def assert_follows(page: Any, what: str) -> None:
    """The newest answer is in view inside the chat box (Gradio scrolls ~300 ms after a change: poll)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):  # the assertion below says what is wrong
        page.wait_for_function(f"() => ({GEOMETRY_JS})().ok", timeout=3_000)
    g = page.evaluate(GEOMETRY_JS)
    assert g["ok"], f"{what}: the newest answer is not in view in the chat: {g}"


@pytest.mark.parametrize("size", [(1366, 900), (390, 844)], ids=["desktop", "phone"])
def test_browser_chat_follows_each_new_answer(chat_app: str, browser: Any, size: tuple[int, int]) -> None:
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.goto(chat_app)
    page.locator("#nq-question textarea").wait_for(timeout=60_000)
    for i, question in enumerate(QUESTIONS):
        if i in SCROLLED_UP_BEFORE:
            scroll_chat_up(page)
        ask(page, question, i + 1, button=i == len(QUESTIONS) - 1)  # the last one with the Ask button
        assert_follows(page, f"after question {i + 1} at {size[0]}x{size[1]}")
    g = page.evaluate(GEOMETRY_JS)
    assert g["scrollHeight"] > g["clientHeight"] + 300, g  # the chat overflowed its box well before the end
    page.close()
