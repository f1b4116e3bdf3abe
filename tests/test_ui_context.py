"""Conversation state in the chat window (issue 12, point 1), in real Chromium against the real app over a
small real index: a cleared filter is off for the next question, each answer says in one line what it
searched (a follow-up's standalone question, the filters it ran with), "Ask without context" re-asks a
follow-up's own words with no history, and markup typed as a question is shown as text and never carried."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from assistant.embedding import Embedder
from tests.test_ui import launch, make
from tests.test_ui_scroll import ask

ARTICLES = [
    {
        "title": "Larkspur AI raises $40 million for warehouse robots",
        "body": "Larkspur AI, a startup that builds warehouse robots, raised $40 million in a Series B round "
        "led by Quarry Ventures. Chief executive Mara Quint said the money will pay for a new robot factory "
        "in Ohio. The startup's robots already sort parcels for three large American retailers.",
        "source": "TechCrunch",
        "url": "https://techcrunch.example/larkspur-raise",
        "published_at": "2023-11-14",
    },
    {
        "title": "Larkspur AI opens a Berlin office",
        "body": "Larkspur AI opened its first European office in Berlin on Tuesday. Mara Quint said the Berlin "
        "team of forty engineers will adapt the warehouse robots for German customers. The startup plans "
        "to hire another sixty engineers in Germany next year.",
        "source": "TechCrunch",
        "url": "https://techcrunch.example/larkspur-berlin",
        "published_at": "2023-12-05",
    },
    {
        "title": "Apple defends its Google Search deal in court",
        "body": "Apple told the court that its default search deal with Google gives iPhone users the best "
        "search engine. Apple services chief Eddy Cue testified that the company never seriously considered "
        "building a search engine of its own. Cue said Google pays Apple a share of the advertising revenue "
        "from searches made in Safari.",
        "source": "The Verge",
        "url": "https://verge.example/apple-google-deal",
        "published_at": "2023-09-20",
    },
    {
        "title": "Larkspur AI recalls robots after a warehouse fire",
        "body": "Larkspur AI recalled two hundred of its sorting robots after a battery fire at a warehouse in "
        "Texas. The Consumer Product Safety Commission opened an inquiry into the fire. Mara Quint said no "
        "workers were hurt and that every battery would be replaced.",
        "source": "Reuters",
        "url": "https://reuters.example/larkspur-recall",
        "published_at": "2024-02-08",
    },
    {
        "title": "Orchard Bank cuts its mortgage rates",
        "body": "Orchard Bank cut its fixed mortgage rates by half a percentage point on Thursday, the first "
        "cut in two years. The bank said lower funding costs allowed the change.",
        "source": "Reuters",
        "url": "https://reuters.example/orchard-rates",
        "published_at": "2023-10-12",
    },
]
RAISE = "How much money did Larkspur AI raise?"
APPLE = "What did Apple say in court about its Google Search deal?"  # the report's unrelated question
FOLLOW = "And what did they say about Berlin?"
MARKUP = "<img src=x onerror=alert(1)>"
ASK_WITHOUT_CONTEXT = "Ask without context"


@pytest.fixture(scope="module")
def context_app(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    """The app over five articles from TechCrunch, The Verge and Reuters, Sep 2023 to Feb 2024."""
    root = tmp_path_factory.mktemp("context")
    dump = root / "articles.json"
    dump.write_text(json.dumps(ARTICLES), encoding="utf-8")
    assistant = make(root / "index", embedder)
    report = assistant.ingest(assistant.read([str(dump)]))
    assert report.added == len(ARTICLES), report.summary()
    demo, url = launch(assistant)
    yield url
    demo.close()


def open_chat(browser: Any, url: str) -> tuple[Any, list[str]]:
    """A page on the app, and the list every dialog (alert, confirm...) it opens is recorded in."""
    page = browser.new_page(viewport={"width": 1366, "height": 1000})
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(url)
    page.locator("#nq-question textarea").wait_for(timeout=60_000)
    return page, dialogs


def open_filters(page: Any) -> None:
    """Open the Filters panel (once)."""
    if not page.locator("#nq-since input.time").is_visible():
        page.get_by_text("Filters (apply to the next question)").click()
        page.locator("#nq-since input.time").wait_for(state="visible", timeout=10_000)


def wait_for_chips(page: Any, *shown: str) -> None:
    """Wait until the chips under the question box show exactly these filters (none: no chips)."""
    page.wait_for_function(
        "(want) => { const t = (document.querySelector('#nq-chips') || {}).innerText || '';"
        " return want.length ? want.every((w) => t.includes(w)) : !t.includes('Filters'); }",
        arg=list(shown),
        timeout=10_000,
    )


def set_date(page: Any, which: str, value: str) -> None:
    """Type a date into From (`since`) or To (`until`) and submit it; '' clears it."""
    box = page.locator(f"#nq-{which} input.time")
    box.fill(value)
    box.press("Enter")


def choose_outlet(page: Any, outlet: str) -> None:
    """Pick an outlet in the Outlets dropdown."""
    combo = page.locator("#nq-outlets input[role=combobox]")
    combo.click()
    page.locator("#nq-outlets li[role=option]", has_text=outlet).click()
    combo.press("Escape")


def answer_at(page: Any, i: int) -> Any:
    """The i-th finished answer in the chat."""
    return page.locator("#nq-chat .nq-answer").nth(i)


def searched(answer: Any) -> str:
    """The answer's 'what it searched' line ('' when it shows none)."""
    line = answer.locator(".nq-searched")
    return str(line.inner_text()) if line.count() else ""


def card_metas(page: Any) -> list[str]:
    """'outlet · day · relevance' of each source card of the latest answer."""
    return [str(m) for m in page.locator("#nq-sources .nq-card .nq-meta").all_inner_texts()]


def test_browser_cleared_filters_are_off_for_the_next_question(context_app: str, browser: Any) -> None:
    """The report: From/To and an outlet set, a question asked, all three cleared, an unrelated question
    asked: it draws on the whole index and its line shows no filter."""
    page, dialogs = open_chat(browser, context_app)
    open_filters(page)
    set_date(page, "since", "2023-11-01")
    set_date(page, "until", "2023-12-31")
    choose_outlet(page, "TechCrunch")
    wait_for_chips(page, "From 2023-11-01", "To 2023-12-31", "Outlets: TechCrunch")
    ask(page, RAISE, 1)
    first = answer_at(page, 0)
    assert "40 million" in first.inner_text()
    assert searched(first) == "Searched with filters: Outlets: TechCrunch · From 1 Nov 2023 to 31 Dec 2023"
    metas = card_metas(page)
    assert metas and all(m.startswith("TechCrunch · 2023-1") for m in metas), metas

    set_date(page, "since", "")
    set_date(page, "until", "")
    page.locator("#nq-outlets .token-remove.remove-all").click()
    wait_for_chips(page)
    ask(page, APPLE, 2)
    second = answer_at(page, 1)
    assert "nq-abstained" not in (second.get_attribute("class") or "")
    assert "search engine" in second.inner_text()
    assert searched(second) == ""  # no rewrite, no filter: nothing carried from the first question
    metas = card_metas(page)
    assert any(m.startswith("The Verge · 2023-09-20") for m in metas), metas  # outside both earlier filters
    assert dialogs == []
    page.close()


def test_browser_follow_up_shows_its_rewrite_and_asks_again_without_context(
    context_app: str, browser: Any
) -> None:
    page, _ = open_chat(browser, context_app)
    ask(page, RAISE, 1)
    assert searched(answer_at(page, 0)) == ""  # asked as typed over the whole index
    assert page.locator("#nq-chat button", has_text=ASK_WITHOUT_CONTEXT).count() == 0
    ask(page, FOLLOW, 2)
    follow = answer_at(page, 1)
    line = searched(follow)
    assert line.startswith(f"Searched for: {FOLLOW}") and "Larkspur AI" in line, line  # the rewrite
    assert "Berlin" in follow.inner_text()
    undo = page.locator("#nq-chat button", has_text=ASK_WITHOUT_CONTEXT)
    assert undo.count() == 1

    open_filters(page)  # the filters in the panel when the button is clicked are the ones used
    choose_outlet(page, "TechCrunch")
    wait_for_chips(page, "Outlets: TechCrunch")
    undo.click()
    page.wait_for_function(
        "() => document.querySelectorAll('#nq-chat .nq-answer').length === 3"
        " && !document.querySelector('#nq-chat .nq-typing')",
        timeout=60_000,
    )
    fresh = answer_at(page, 2)
    assert searched(fresh) == "Searched with filters: Outlets: TechCrunch"  # the user's words, not rewritten
    assert "Larkspur" not in searched(fresh)
    asked = page.locator("#nq-chat [data-testid=user]").last.inner_text()
    assert asked.strip() == FOLLOW  # the original words were asked again
    assert "Berlin" in fresh.inner_text()
    assert page.locator("#nq-chat button", has_text=ASK_WITHOUT_CONTEXT).count() == 0  # nothing to undo
    page.close()


def test_browser_markup_question_is_text_and_is_never_carried(context_app: str, browser: Any) -> None:
    page, dialogs = open_chat(browser, context_app)
    ask(page, MARKUP, 1)
    asked = page.locator("#nq-chat [data-testid=user]").last
    assert asked.inner_text().strip() == MARKUP  # shown as the text that was typed
    assert page.locator("img[src='x']").count() == 0
    assert "onerror" not in searched(answer_at(page, 0))
    ask(page, FOLLOW, 2)  # a follow-up: what it leans on is the markup turn, which names nothing
    follow = answer_at(page, 1)
    assert searched(follow) == ""  # nothing carried into its rewrite: it is searched as typed
    for leak in ("img", "onerror", "alert"):
        assert leak not in follow.inner_text()
    ask(page, RAISE, 3)  # an unrelated question after it
    assert searched(answer_at(page, 2)) == ""
    page.wait_for_timeout(500)
    assert page.locator("img[src='x']").count() == 0
    assert dialogs == []
    page.close()
