"""The chat window against the real app: launched on a free port, real Chroma, gradio_client and Chromium."""

from __future__ import annotations

import dataclasses
import html
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from gradio_client import Client, handle_file

from assistant.assistant import Assistant
from assistant.cli import main as cli_module
from assistant.cli.plain import answer_text
from assistant.embedding import Embedder
from assistant.errors import ConfigError
from assistant.flags import FLAGS
from assistant.settings import Settings
from assistant.types import Answer, Citation, Passage, SentenceCheck
from assistant.web import app as ui
from assistant.web import render
from assistant.web.util import url_lines
from tests import news_server
from tests.conftest import SEED
from tests.llm_servers import ScriptedLLM, source_with
from tests.news_server import NewsServer

XSS_TITLE = "<img src=x onerror=alert(1)>"
SEED_QUESTION = "How long did one of the Putin-Trump calls last?"
ARTICLES = [
    {
        "title": XSS_TITLE,
        "body": "The Quillfeather lighthouse reopened to visitors on Tuesday after a two-year restoration. "
        "<script>alert(2)</script> Restorers replaced the lantern glass and repainted the tower red. "
        "The lighthouse keeper said the restoration cost four million euros.",
        "source": "Evil <b>Times</b>",
        "url": "javascript:alert(3)",
        "published_at": "2024-03-05",
    },
    {
        "title": "Harbor bridge toll rises to six dollars",
        "body": "The Harbor Bridge toll rises to six dollars for cars from next month, the port authority said. "
        "Commuters criticised the harbor bridge toll increase as far too steep for daily drivers.",
        "source": "Coastal Courier",
        "url": "https://courier.example/harbor-toll",
        "published_at": "2023-01-10",
    },
    {
        "title": "Harbor bridge toll scrapped after protests",
        "body": "The Harbor Bridge toll was scrapped entirely after weeks of protests by commuters. "
        "The city council voted to end the harbor bridge toll and fund repairs from the general budget.",
        "source": "Valley Gazette",
        "url": "https://gazette.example/harbor-toll-scrapped",
        "published_at": "2024-06-01",
    },
]


WIRE_BODY = (
    "MARROWIND (Wire) - Engineers finished pouring the last section of the Marrowind Valley dam on Thursday, "
    "three years after work began on the reservoir that will supply water to four northern towns. "
    "The dam stands 112 metres tall and will hold back a lake nine kilometres long once it fills next spring. "
    "Regional officials said the project came in slightly under its budget of 780 million crowns, although "
    "farmers downstream still dispute the compensation they were offered for flooded pasture."
)
WIRE_COPIES = [
    {
        "title": "Marrowind Valley dam completed",
        "body": WIRE_BODY,
        "source": "North Ledger",
        "url": "https://ledger.example/marrowind-dam",
        "published_at": "2024-04-11",
    },
    {
        "title": "Last section of Marrowind dam poured",
        "body": WIRE_BODY + " (Reporting by Wire staff)",
        "source": "South Herald",
        "url": "https://herald.example/marrowind",
        "published_at": "2024-04-11",
    },
]
WIRE_QUESTION = "How tall is the Marrowind Valley dam?"
ROPEWAY = [
    "The Orvel ropeway carried its first passengers across the gorge on Saturday morning.",
    "Each of the ropeway's twelve cabins holds eight riders, and the crossing takes four minutes.",
]
KILNS = [
    "Potters in Brask fired the town's restored brick kiln for the first time in sixty years.",
    "The kiln reaches 1,200 degrees and will be open to visiting schools every Wednesday.",
]
FERRIES = [
    "The Sallow Point night ferry will stop running in October because too few people use it.",
    "Its last crossing leaves the harbour at 23:40 on the final Sunday of September.",
]


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(assistant: Assistant) -> tuple[gr.Blocks, str]:
    """The app as `python ui.py` builds it, on a free port of 127.0.0.1."""
    demo = ui.build_app(assistant)
    demo.queue(default_concurrency_limit=4)
    options = {**ui.launch_options(assistant.settings), "server_port": free_port(), "quiet": True}
    _, url, _ = demo.launch(prevent_thread_lock=True, **options)
    return demo, url


def make(index: Path, embedder: Embedder, **overrides: Any) -> Assistant:
    """An Assistant over a Chroma store in index, reusing the session's loaded embedder."""
    return Assistant(Settings.load(env={}, index=index, **overrides), embedder=embedder)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    """One launched app for the module, over the seed article, an XSS article and two dated outlets."""
    root = tmp_path_factory.mktemp("assistant.web.app")
    dump = root / "articles.json"
    dump.write_text(json.dumps(ARTICLES + WIRE_COPIES), encoding="utf-8")
    assistant = make(root / "index", embedder, max_upload_mb=1)
    report = assistant.ingest(assistant.read([str(SEED), str(dump)]))
    assert report.added == 6, report.summary()
    demo, url = launch(assistant)
    yield url
    demo.close()


@pytest.fixture(scope="module")
def client(app: str) -> Client:
    """A gradio_client on the module's app."""
    return Client(app, verbose=False)


@pytest.fixture(scope="module")
def news() -> Iterator[NewsServer]:
    """A real HTTP server on 127.0.0.1 with an article page and a feed of two more."""
    with NewsServer() as server:
        server.add("/ropeway", news_server.page("Orvel ropeway opens", ROPEWAY, "Orvel Observer"))
        server.add("/kiln", news_server.page("Brask kiln fired again", KILNS, "Brask Bugle"))
        server.add("/ferry", news_server.page("Sallow Point night ferry to stop", FERRIES, "Harbour Notes"))
        entries = [
            {"title": "Brask kiln fired again", "link": server.url("/kiln"), "guid": server.url("/kiln")},
            {"title": "Night ferry to stop", "link": server.url("/ferry"), "guid": server.url("/ferry")},
        ]
        server.add("/rss", news_server.rss("Coast Notes", entries), content_type="application/rss+xml")
        yield server


@pytest.fixture(scope="module")
def local_app(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    """An app started with allow_private_urls (as by `--allow-private-urls`) over an empty index."""
    demo, url = launch(make(tmp_path_factory.mktemp("local") / "index", embedder, allow_private_urls=True))
    yield url
    demo.close()


def unsupported_reply(body: dict[str, Any]) -> str:
    """A scripted LLM answer: one sentence its source supports, one that no source does."""
    n = source_with(body, "50 minutes")
    return (
        f"One of the calls between Putin and Trump lasted approximately 50 minutes [{n}]. "
        f"Putin and Trump agreed to meet in Helsinki in March 2026 [{n}]."
    )


@pytest.fixture(scope="module")
def llm_app(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[tuple[str, ScriptedLLM]]:
    """The app as `python ui.py --llm openai:test-model --llm-base-url URL` builds it, over the seed article."""
    with ScriptedLLM("openai", unsupported_reply) as server:
        index = tmp_path_factory.mktemp("llm") / "index"
        flags = ["--index", str(index), "--llm", "openai:test-model", "--llm-base-url", server.url]
        assistant = Assistant(ui.settings_from_args(flags), embedder=embedder)
        assistant.ingest(assistant.read([str(SEED)]))
        demo, url = launch(assistant)
        yield url, server
        demo.close()


# -- gradio_client -----------------------------------------------------------------------------------


def test_ask_endpoint_returns_the_structured_cited_answer(client: Client) -> None:
    result = client.predict(SEED_QUESTION, api_name="/ask")
    assert not result["abstained"]
    assert "50 minutes" in result["answer"]
    assert "[1]" in result["answer"]
    first = result["citations"][0]
    assert first["n"] == 1
    assert first["title"] == "Putin Praises Talks with Trump"
    assert first["sentence"] in first["snippet"]


def test_outlet_filter_restricts_the_sources(client: Client) -> None:
    question = "What happened to the Harbor Bridge toll?"
    for outlet in ("Coastal Courier", "Valley Gazette"):
        result = client.predict(question, 5, None, None, [outlet], api_name="/ask")
        assert result["citations"], result
        assert {c["source"] for c in result["citations"]} == {outlet}


def test_date_filters_restrict_the_sources(client: Client) -> None:
    question = "What happened to the Harbor Bridge toll?"
    late = client.predict(question, 5, "2024-01-01", None, None, api_name="/ask")
    assert late["citations"] and {c["source"] for c in late["citations"]} <= {
        "Valley Gazette",
        "Evil <b>Times</b>",
    }
    early = client.predict(question, 5, None, "2023-06-30", None, api_name="/ask")
    assert early["citations"] and {c["source"] for c in early["citations"]} == {"Coastal Courier"}
    none = client.predict(question, 5, "2020-01-01", "2020-12-31", None, api_name="/ask")
    assert none["abstained"] and not none["citations"]


def test_a_bad_date_reaches_the_user_as_a_message(client: Client) -> None:
    with pytest.raises(Exception, match="not a date"):
        client.predict("Harbor toll?", 5, "next tuesday-ish", None, None, api_name="/ask")


def test_upload_then_ask_about_the_new_article(client: Client, tmp_path: Path) -> None:
    good = tmp_path / "glimmerton.md"
    good.write_text(
        "Title: Glimmerton approves floating solar farm\nSource: Lakeside Post\nDate: 2024-08-12\n\n"
        "The Glimmerton council approved a floating solar farm on the old quarry lake on Monday. "
        "The floating solar farm will power about nine hundred homes, the council said.\n",
        encoding="utf-8",
    )
    bare = tmp_path / "bare-note.txt"  # neither outlet nor date: the report says what answers will lack
    bare.write_text("Quarry lake note\n\nThe quarry lake will be fenced before the solar works begin.\n")
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    binary = tmp_path / "photo.exe"
    binary.write_bytes(b"MZ\x00\x01")
    uploads = [handle_file(str(p)) for p in (good, bare, empty, binary)]
    summary, stats, _plot, outlets, _banner = client.predict(uploads, api_name="/add_articles")
    summary = html.unescape(summary)
    assert "<b>2</b> added" in summary
    assert "1 article(s) have no outlet (Quarry lake note)" in summary
    assert "1 article(s) have no date (Quarry lake note)" in summary
    assert "<b>2</b> failed" in summary
    assert "empty.txt" in summary and "empty" in summary.split("empty.txt", 1)[1]
    assert "photo.exe" in summary and "unsupported file type" in summary
    assert "Lakeside Post" in str(outlets)
    assert "Articles" in stats
    result = client.predict("What will the Glimmerton floating solar farm power?", api_name="/ask")
    assert not result["abstained"]
    assert "nine hundred homes" in result["answer"]
    assert result["citations"][0]["title"] == "Glimmerton approves floating solar farm"


def test_uploads_over_the_size_limit_are_refused(client: Client, tmp_path: Path) -> None:
    big = tmp_path / "huge.txt"
    big.write_text("Huge\n\n" + "word " * 300_000, encoding="utf-8")  # over this app's 1 MB limit
    with pytest.raises(ValueError, match="maximum file size"):
        client.predict([handle_file(str(big))], api_name="/add_articles")


def test_ten_concurrent_questions_are_all_answered_and_cited(client: Client) -> None:
    cases = [
        (SEED_QUESTION, "50 minutes", "Putin Praises Talks with Trump"),
        ("How much did the Quillfeather lighthouse restoration cost?", "four million euros", XSS_TITLE),
    ] * 5
    jobs = [client.submit(q, api_name="/ask") for q, _, _ in cases]
    results = [job.result(timeout=180) for job in jobs]
    for (question, expected, title), result in zip(cases, results, strict=True):
        assert result["question"] == question
        assert expected in result["answer"], result["answer"]
        assert result["citations"] and result["citations"][0]["title"] == title


def test_questions_and_uploads_run_side_by_side(client: Client, tmp_path: Path) -> None:
    doc = tmp_path / "ferry.txt"
    doc.write_text(
        "Ferry line to Pellow Island resumes\n\nThe ferry line to Pellow Island resumes service in May "
        "with two new electric boats.\n",
        encoding="utf-8",
    )
    with ThreadPoolExecutor(4) as pool:
        asks = [pool.submit(client.predict, SEED_QUESTION, api_name="/ask") for _ in range(3)]
        upload = pool.submit(client.predict, [handle_file(str(doc))], api_name="/add_articles")
        assert "<b>1</b> added" in upload.result(timeout=180)[0]
        assert all("50 minutes" in a.result(timeout=180)["answer"] for a in asks)
    assert (
        "electric boats"
        in client.predict("When does the Pellow Island ferry resume?", api_name="/ask")["answer"]
    )


def test_a_wire_story_is_cited_once_naming_the_other_outlet(client: Client) -> None:
    result = client.predict(WIRE_QUESTION, api_name="/ask")
    assert "112 metres" in result["answer"], result
    wire = [c for c in result["citations"] if "Marrowind" in c["title"]]
    assert len(wire) == 1  # two outlets carried the story: it is cited once
    [cited] = wire
    assert {cited["source"], *cited["also_reported_by"]} == {"North Ledger", "South Herald"}
    assert cited["source"] not in cited["also_reported_by"]


def test_urls_and_feeds_are_fetched_indexed_and_answerable(local_app: str, news: NewsServer) -> None:
    client = Client(local_app, verbose=False)
    pasted = "\n".join(
        [news.url("/ropeway"), "# my list", "", news.url("/rss"), "not a url", news.url("/gone")]
    )
    summary, stats, _plot, outlets, banner = client.predict(pasted, api_name="/add_urls")
    text = html.unescape(summary)
    assert "<b>3</b> added" in text and "<b>2</b> failed" in text, text  # the page and the feed's two
    assert "not a url</b>: not an http" in text
    assert f"{news.url('/gone')}</b>: the server answered HTTP 404" in text
    assert news.hits["/kiln"] == news.hits["/ferry"] == 1
    assert {"Orvel Observer", "Brask Bugle", "Harbour Notes"} <= set(str(outlets).split("'"))
    assert banner["visible"] is False and "Articles" in stats
    page_answer = client.predict("How many riders does each Orvel ropeway cabin hold?", api_name="/ask")
    assert not page_answer["abstained"] and "eight riders" in page_answer["answer"]
    first = page_answer["citations"][0]
    assert (first["title"], first["url"], first["n"]) == ("Orvel ropeway opens", news.url("/ropeway"), 1)
    feed_answer = client.predict("Why will the Sallow Point night ferry stop running?", api_name="/ask")
    assert "too few people use it" in feed_answer["answer"]
    assert feed_answer["citations"][0]["url"] == news.url("/ferry")
    again = html.unescape(client.predict(news.url("/ropeway"), api_name="/add_urls")[0])
    assert "<b>0</b> added" in again and "<b>1</b> unchanged" in again


def test_private_urls_are_refused_unless_the_app_allows_them(client: Client) -> None:
    with NewsServer() as local:
        url = local.add("/secret", news_server.page("Intranet memo on quarterly budgets", KILNS, "Intranet"))
        before = client.predict(api_name="/overview")[0]
        summary, stats, *_ = client.predict(url, api_name="/add_urls")
        assert local.hits["/secret"] == 0  # never fetched
    text = html.unescape(summary)
    assert "<b>0</b> added" in text and "<b>1</b> failed" in text
    assert f"{url}</b>: the host '127.0.0.1' resolves to 127.0.0.1, a loopback address; refused" in text
    assert "--allow-private-urls" in text
    assert stats == before  # nothing indexed
    result = client.predict("What temperature does the Brask kiln reach?", api_name="/ask")
    assert all(c["title"] != "Intranet memo on quarterly budgets" for c in result["citations"])
    with pytest.raises(Exception, match="Paste one or more"):
        client.predict("  \n", api_name="/add_urls")


def test_llm_flags_of_ui_py_answer_through_the_configured_server(llm_app: tuple[str, ScriptedLLM]) -> None:
    url, server = llm_app
    before = len(server.requests)
    result = Client(url, verbose=False).predict(SEED_QUESTION, api_name="/ask")
    assert len(server.requests) == before + 1
    request = server.requests[-1]
    assert request.path == "/v1/chat/completions" and request.body["model"] == "test-model"
    assert "50 minutes" in request.text  # the retrieved passage (its best sentences) went to the server
    assert result["backend"] == "openai:test-model"
    assert result["answer"].startswith(
        "One of the calls between Putin and Trump lasted approximately 50 minutes ["
    )
    assert result["citations"] and all(c["verified"] for c in result["citations"])
    assert result["citations"][0]["title"] == "Putin Praises Talks with Trump"
    assert [s["supported"] for s in result["sentences"]] == [True, False]
    assert "Helsinki in March 2026 [unsupported]." in result["answer"]


def test_newsqa_serve_takes_the_llm_and_private_url_flags(tmp_path: Path, news: NewsServer) -> None:
    def reply(body: dict[str, Any]) -> str:
        return f"Each cabin of the Orvel ropeway holds eight riders [{source_with(body, 'eight riders')}]."

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSQA_")} | {"HF_HUB_OFFLINE": "1"}
    with ScriptedLLM("openai", reply) as llm, (tmp_path / "serve.log").open("w") as log:
        command = [
            "--index",
            str(tmp_path / "index"),
            "--llm",
            "openai:serve-model",
            "--llm-base-url",
            llm.url,
        ]
        command += ["serve", "--port", str(port), "--allow-private-urls"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", *command], cwd=tmp_path, env=env, stdout=log, stderr=log
        )
        try:
            wait_for_port(port, proc, tmp_path / "serve.log")
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            summary = client.predict(news.url("/ropeway"), api_name="/add_urls")[0]
            assert "<b>1</b> added" in summary, summary
            result = client.predict("How many riders does each Orvel ropeway cabin hold?", api_name="/ask")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    assert llm.requests and llm.requests[-1].body["model"] == "serve-model"
    assert result["backend"] == "openai:serve-model"
    assert result["answer"].startswith("Each cabin of the Orvel ropeway holds eight riders [1]")
    assert result["citations"][0]["verified"] and result["citations"][0]["title"] == "Orvel ropeway opens"


def wait_for_port(port: int, proc: subprocess.Popen[Any], log: Path, seconds: float = 240) -> None:
    """Wait until something listens on the port; fail with the process's output if it exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"nothing listened on port {port} within {seconds:g}s:\n{log.read_text()[-3000:]}")


def test_empty_index_says_how_to_add_articles(tmp_path: Path, embedder: Embedder) -> None:
    demo, url = launch(make(tmp_path / "empty-index", embedder))
    try:
        empty = Client(url, verbose=False)
        stats, _plot, _outlets, banner = empty.predict(api_name="/overview")
        assert banner["visible"] is True and "newsqa ingest PATH" in banner["value"]
        assert "Nothing is indexed yet" in stats
        result = empty.predict("Who won the election?", api_name="/ask")
        assert result["abstained"] and not result["citations"]
        assert any("newsqa ingest PATH" in n for n in result["notices"])
    finally:
        demo.close()


def test_auth_turns_on_the_login(tmp_path: Path, embedder: Embedder) -> None:
    demo, url = launch(make(tmp_path / "index", embedder, auth="ann:s3cret"))
    try:
        with pytest.raises(Exception):  # noqa: B017 - gradio_client reports a refused login in several ways
            Client(url, verbose=False).predict("Who?", api_name="/ask")
        logged_in = Client(url, auth=("ann", "s3cret"), verbose=False)
        assert logged_in.predict("Who?", api_name="/ask")["abstained"]
    finally:
        demo.close()


# -- the browser ---------------------------------------------------------------------------------------


def ask_in_browser(page: Any, url: str, question: str) -> Any:
    """Open the app, ask, and wait for the finished answer; returns its element."""
    page.goto(url)
    box = page.locator("#nq-question textarea")
    box.fill(question)
    box.press("Enter")
    answer = page.locator("#nq-chat .nq-answer").last
    answer.wait_for(timeout=60_000)
    page.locator("#nq-chat .nq-typing").first.wait_for(state="detached", timeout=60_000)
    return answer


def test_browser_marker_reveals_its_source(app: str, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    answer = ask_in_browser(page, app, SEED_QUESTION)
    assert "50 minutes" in answer.inner_text()
    marker = answer.locator(".nq-cite").first
    popup = marker.locator(".nq-pop")
    assert marker.locator(".nq-marker").inner_text() == "[1]"
    assert not popup.is_visible()
    marker.hover()
    popup.wait_for(state="visible", timeout=5_000)
    assert "Putin Praises Talks with Trump" in popup.inner_text()
    assert "one lasting approximately 50 minutes" in " ".join(popup.locator("mark").all_inner_texts())
    assert "Yuri Ushakov" in popup.inner_text()  # the passage around it
    page.mouse.move(0, 0)
    marker.click()  # clicking (focus) reveals it too, for touch screens and keyboards
    popup.wait_for(state="visible", timeout=5_000)
    cards = page.locator("#nq-sources .nq-card")
    assert cards.count() >= 1
    assert "Putin Praises Talks with Trump" in cards.first.inner_text()
    page.screenshot(path=str(tmp_path / "answer.png"), full_page=True)
    assert (tmp_path / "answer.png").stat().st_size > 10_000
    box = page.locator("#nq-question textarea")  # a follow-up turn keeps the conversation
    box.fill("And who described them as useful?")
    box.press("Enter")
    page.locator("#nq-chat .nq-answer").nth(1).wait_for(timeout=60_000)
    page.locator("#nq-chat .nq-typing").first.wait_for(state="detached", timeout=60_000)
    assert page.locator("#nq-chat .nq-answer").count() == 2
    assert "Ushakov" in page.locator("#nq-chat .nq-answer").nth(1).inner_text()
    page.close()


def test_browser_shows_untrusted_markup_as_text(app: str, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    answer = ask_in_browser(page, app, "How much did the Quillfeather lighthouse restoration cost?")
    assert "four million euros" in answer.inner_text()
    card = page.locator("#nq-sources .nq-card").first
    assert XSS_TITLE in card.inner_text()
    assert "Evil <b>Times</b>" in card.inner_text()
    assert card.locator("a").count() == 0  # a javascript: url never becomes a link
    answer.locator(".nq-cite").first.hover()
    assert XSS_TITLE in answer.locator(".nq-pop").first.inner_text()
    page.wait_for_timeout(500)
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("#nq-chat script, #nq-sources script, #nq-sources b").count() == 0
    assert dialogs == []
    page.screenshot(path=str(tmp_path / "xss.png"), full_page=True)
    page.close()


def test_browser_links_open_http_sources_in_a_new_tab(app: str, browser: Any) -> None:
    page = browser.new_page()
    ask_in_browser(page, app, "Why was the Harbor Bridge toll scrapped?")
    for where in ("#nq-sources .nq-card", "#nq-chat .nq-pop"):  # the card and the marker's popup
        link = page.locator(f"{where} a.nq-title").first
        assert link.get_attribute("href", timeout=5_000).startswith("https://gazette.example/")
        assert link.get_attribute("target") == "_blank"
    page.close()


def test_browser_first_screen_of_an_empty_index(browser: Any, tmp_path: Path, embedder: Embedder) -> None:
    demo, url = launch(make(tmp_path / "empty-index", embedder))
    try:
        page = browser.new_page()
        page.goto(url)
        banner = page.locator(".nq-banner")
        banner.wait_for(state="visible", timeout=30_000)
        assert "Nothing is indexed yet" in banner.inner_text()
        assert "newsqa ingest PATH" in banner.inner_text()
        page.close()
    finally:
        demo.close()


def test_browser_wire_story_card_names_the_other_outlet(app: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    answer = ask_in_browser(page, app, WIRE_QUESTION)
    card = page.locator("#nq-sources .nq-card").filter(has_text="Marrowind").first
    also = card.locator(".nq-also").inner_text()
    assert also in ("also reported by North Ledger", "also reported by South Herald")
    assert also.split(" by ")[1] not in card.locator(".nq-meta").inner_text()  # the other outlet
    scores = [float(s) for m in page.locator(".nq-card .nq-meta").all_inner_texts() for s in m.split()[-1:]]
    assert scores and all(0.0 <= s <= 1.0 for s in scores)  # relevance shown in 0..1
    marker = answer.locator(".nq-cite").first
    marker.hover()
    assert also in marker.locator(".nq-pop").inner_text()
    page.close()


def test_browser_url_box_adds_articles(local_app: str, news: NewsServer, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(local_app)
    page.locator("#nq-urls textarea").fill(news.url("/kiln"))
    page.locator("#nq-add-urls").click()
    report = page.locator("#nq-report .nq-report")
    report.wait_for(timeout=60_000)
    assert "failed" in report.inner_text() and "0 failed" in report.inner_text()
    assert any(word in report.inner_text() for word in ("1 added", "1 unchanged"))
    page.close()


def test_browser_marks_unsupported_sentences(llm_app: tuple[str, ScriptedLLM], browser: Any) -> None:
    url, _server = llm_app
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    answer = ask_in_browser(page, url, SEED_QUESTION)
    mark = answer.locator(".nq-unsupported")
    assert mark.count() == 1 and mark.is_visible()
    assert mark.inner_text() == "[unsupported]"
    assert mark.get_attribute("title") == "No source supports this sentence"
    assert "Helsinki in March 2026" in answer.inner_text()
    assert "marked [unsupported]" in answer.locator(".nq-notice").first.inner_text()
    assert answer.locator(".nq-cite").count() == 1 and answer.locator(".nq-unverified").count() == 0
    page.close()


# -- rendering and settings, without a server ----------------------------------------------------------


def passage(**fields: Any) -> Passage:
    """A passage with defaults for the fields a test does not care about."""
    base: dict[str, Any] = {"chunk_id": "c1", "article_id": "a1", "title": "T", "text": "Some text here."}
    return Passage(**{**base, **fields})


def test_render_escapes_everything_and_links_only_http() -> None:
    evil = passage(
        title='"><script>alert(1)</script>',
        text="Body [x](javascript:alert(1)) <img src=x onerror=alert(1)> end.",
        url="javascript:alert(1)",
        source="<b>o</b>",
    )
    answer = Answer(question="q", text="Claim <i>x</i> [1]", citations=[Citation(1, evil, "end.")])
    html = render.answer_html(answer) + render.sources_html(answer)
    assert "<script" not in html and "<img" not in html and "<b>o" not in html and "<i>" not in html
    assert "javascript" not in html.replace("javascript&#58;", "")  # only as inert text
    assert "href" not in html
    assert (
        render.safe_url("https://example.com/a?b=1")
        == "https&#58;&#47;&#47;example&#46;com&#47;a&#63;b&#61;1"
    )
    for bad in ("javascript:alert(1)", "data:text/html,x", "//evil.example", "ftp://x.example/f", None):
        assert render.safe_url(bad) is None


def test_abstention_shows_no_cards_and_suggests_adding_articles() -> None:
    html = render.sources_html(Answer(question="q", text="not covered", abstained=True))
    assert "nq-card" not in html and "newsqa ingest PATH" in html


def test_chat_streams_snapshots_and_reports_errors_as_gr_error(tmp_path: Path, embedder: Embedder) -> None:
    assistant = make(tmp_path / "index", embedder)
    assistant.ingest(assistant.read([str(SEED)]))
    app = ui.App(assistant)
    steps = list(app.chat(SEED_QUESTION, [], [], 5, None, None, None))
    assert len(steps) >= 3  # a placeholder first, then the answer as it grows
    assert "Searching" in steps[0][1][-1]["content"]
    _, history, cards, turns = steps[-1]
    assert "nq-cite" in history[-1]["content"] and "nq-card" in cards
    assert "nq-typing" not in history[-1]["content"]
    assert [t.question for t in turns] == [SEED_QUESTION]
    *_, (_, history, cards, turns) = app.chat(
        "And who described them as useful?", history, turns, 5, None, None, None
    )
    assert len(history) == 4 and len(turns) == 2
    assert "Ushakov" in history[-1]["content"] and "Searched for" in history[-1]["content"]
    [(_, unchanged, _, _)] = list(ui.user_errors(app.chat)("  ", history, turns, 5, None, None, None))
    assert unchanged == history  # an empty question: a note (a toast), nothing asked, no error
    with pytest.raises(gr.Error, match="after the To date") as mistake:
        list(ui.user_errors(app.chat)("q", [], [], 5, "2024-02-01", "2024-01-01", None))
    assert mistake.value.print_exception is False  # a reader's mistake puts no traceback in the server log


def test_a_failing_index_reaches_the_chat_as_a_message(tmp_path: Path, embedder: Embedder) -> None:
    app = ui.App(make(tmp_path / "index", embedder, chroma_url=f"http://127.0.0.1:{free_port()}"))
    steps: list[Any] = []
    with pytest.raises(gr.Error, match="Chroma"):
        for step in ui.user_errors(app.chat)("Who?", [], [], 5, None, None, None):
            steps.append(step)
    textbox, history, _cards, _turns = steps[-1]
    assert textbox == "Who?" and "No answer" in history[-1]["content"]  # the question is kept for a retry


def test_chat_streams_llm_tokens_then_the_checked_answer(tmp_path: Path, embedder: Embedder) -> None:
    def reply(body: dict[str, Any]) -> str:
        n = source_with(body, "50 minutes")
        return f"One of the calls between Putin and Trump lasted approximately 50 minutes [{n}]."

    with ScriptedLLM("openai", reply) as server:
        assistant = make(tmp_path / "index", embedder, llm="openai:test-model", llm_base_url=server.url)
        assistant.ingest(assistant.read([str(SEED)]))
        steps = list(ui.App(assistant).chat(SEED_QUESTION, [], [], 5, None, None, None))
    texts = [step[1][-1]["content"] for step in steps[1:]]
    assert len(texts) >= 5 and all("nq-typing" in t for t in texts[:-1])  # token by token
    assert "approximately 50 minutes" in texts[-1] and "nq-cite" in texts[-1]
    assert "unverified" not in texts[-1] and "Putin Praises Talks with Trump" in steps[-1][2]


def test_launch_options_bind_localhost_and_parse_auth() -> None:
    options = ui.launch_options(Settings.load(env={}))
    assert options["server_name"] == "127.0.0.1" and options["auth"] is None
    with_auth = ui.launch_options(
        Settings.load(env={"NEWSQA_AUTH": "ann:s3cret:x", "NEWSQA_MAX_UPLOAD_MB": "7"})
    )
    assert with_auth["auth"] == ("ann", "s3cret:x") and with_auth["max_file_size"] == "7mb"
    with pytest.raises(ConfigError, match="user:password"):
        ui.parse_auth("no-colon")


def test_render_marks_unsupported_and_unverified_and_names_other_outlets() -> None:
    wire = passage(
        title="Dam done",
        text="The dam stands 112 metres tall.",
        source="North Ledger",
        also_reported_by=("South <i>Herald</i>",),
        score=2.3,  # hybrid scores run over 1
    )
    other = passage(chunk_id="c2", article_id="a2", title="Other", text="It cost a lot.", score=0.46)
    answer = Answer(
        question="q",
        text="It is 112 metres tall [1]. It cost a lot [2]. It glows at night [unsupported].",
        citations=[
            Citation(1, wire, "The dam stands 112 metres tall."),
            Citation(2, other, "It cost a lot.", verified=False),
        ],
        passages=[wire, other],
        sentences=[SentenceCheck("It glows at night.", (1,), (), supported=False)],
    )
    body, cards = render.answer_html(answer), render.sources_html(answer)
    assert body.count('<span class="nq-unsupported" title="No source supports this sentence">') == 1
    assert body.count('class="nq-cite nq-unverified"') == 1 and 'data-n="2"' in body
    for shown in (body, cards):
        assert "also reported by South &#60;i&#62;Herald&#60;&#47;i&#62;" in shown and "<i>" not in shown
        assert "relevance 1.00" in shown and "relevance 0.20" in shown and "relevance 2" not in shown
    streaming = render.answer_html(dataclasses.replace(answer, partial=True))
    assert "nq-unverified" not in streaming  # unchecked snapshots are not flagged
    assert "also reported by: South <i>Herald</i>" in answer_text(answer)
    assert answer.to_dict()["citations"][0]["also_reported_by"] == ["South <i>Herald</i>"]
    assert (render.relevance(3.0), render.relevance(-0.2), render.relevance(0.5, 2.0)) == (1.0, 0.0, 0.25)


def test_url_box_lines() -> None:
    urls, rejected = url_lines(
        "https://a.example/x\n# notes\n\n  https://a.example/x  \nfile:///etc/passwd\n/etc/passwd\nhttp://b.example/y"
    )
    assert urls == ["https://a.example/x", "http://b.example/y"]
    assert [r[0] for r in rejected] == ["file:///etc/passwd", "/etc/passwd"]  # never read as paths
    many, over = url_lines("\n".join(f"https://c.example/{i}" for i in range(60)), limit=50)
    assert len(many) == 50 and over == [
        ("10 more url(s)", "only 50 urls are read per click; add the rest next")
    ]


def test_ui_py_takes_newsqa_flags_and_the_same_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key in [k for k in os.environ if k.startswith("NEWSQA_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no newsqa.toml here
    parser = ui.arg_parser()  # both parsers come from assistant.flags.FLAGS: check they expose it all
    for cmd, scope in ((cli_module.cli, "global"), (cli_module.serve, "serve")):
        params = {p.opts[0]: p for p in cmd.params if p.opts[0] not in ("--version", "--help")}
        assert set(params) == {f.name for f in FLAGS if f.scope == scope}
        for name, param in params.items():
            action = parser._option_string_actions[name]
            assert (action.dest, action.help) == (param.name, param.help)  # same field, same help
    assert set(parser._option_string_actions) - {"-h", "--help"} == {f.name for f in FLAGS}
    assert ui.settings_from_args([]).allow_private_urls is False  # refused unless asked for
    monkeypatch.setenv("NEWSQA_LLM", "ollama:from-env")
    monkeypatch.setenv("NEWSQA_LLM_TIMEOUT", "7")
    from_env = ui.settings_from_args([])
    assert (from_env.llm, from_env.llm_timeout) == ("ollama:from-env", 7.0)
    args = ["--llm", "openai:m", "--llm-base-url", "http://127.0.0.1:9/v1", "--allow-private-urls"]
    args += ["--chroma-url", "http://127.0.0.1:8000", "--embedder", str(tmp_path), "--port", "8123"]
    s = ui.settings_from_args(args)
    assert (s.llm, s.llm_base_url, s.allow_private_urls) == ("openai:m", "http://127.0.0.1:9/v1", True)
    assert (s.chroma_url, s.embedder, s.port, s.llm_timeout) == (
        "http://127.0.0.1:8000",
        str(tmp_path),
        8123,
        7.0,
    )


def test_a_question_during_warm_up_says_so_then_is_answered(tmp_path: Path, embedder: Embedder) -> None:
    assistant = make(tmp_path / "warm", embedder)
    assistant.ingest(assistant.read([str(SEED)]))
    ready = threading.Event()
    app = ui.App(assistant, ready)
    steps = app.chat("How long did one of the Putin-Trump calls last?", [], [], 5, None, None, None)
    first = next(steps)[1][-1]["content"]
    assert ui.WARMING_UP in first
    threading.Timer(0.5, ready.set).start()  # the background warm-up finishing
    *_, last = steps
    assert "50 minutes" in last[1][-1]["content"]


def test_browser_page_asks_no_other_host_and_answers_can_be_copied(app: str, browser: Any) -> None:
    """Every request while the page loads and answers goes to the app itself (fonts included: offline
    newsrooms), and each answer has a copy button."""
    page = browser.new_page()
    hosts: list[str] = []
    page.on("request", lambda request: hosts.append(request.url.split("/")[2]))
    answer = ask_in_browser(page, app, SEED_QUESTION)
    assert "50 minutes" in answer.inner_text()
    own = app.split("/")[2]
    assert hosts and all(host == own for host in hosts), sorted(set(hosts))
    assert page.locator("#nq-chat button[aria-label*='opy' i], #nq-chat button[title*='opy' i]").count() >= 1
    page.close()


CONTRAST_JS = """(el) => {
  const rgb = (c) => { const m = c.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  let node = el, back = null;
  while (node) { const c = rgb(getComputedStyle(node).backgroundColor); if (c[3] > 0.5) { back = c; break; } node = node.parentElement; }
  back = back || [255, 255, 255, 1];
  const fore = rgb(getComputedStyle(el).color);
  const [a, b] = [lum(fore), lum(back)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_browser_source_text_and_highlight_are_readable(app: str, browser: Any, theme: str) -> None:
    """Outlet and date on cards, and the highlighted sentence, reach 4.5:1 contrast in light and dark mode
    (computed from the rendered colours); no 'Chat' label sits over the messages."""
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    ask_in_browser(page, f"{app}?__theme={theme}", SEED_QUESTION)
    meta = page.locator("#nq-sources .nq-card .nq-meta").first
    assert meta.evaluate(CONTRAST_JS) >= 4.5
    mark = page.locator("#nq-sources .nq-card mark").first
    assert mark.evaluate(CONTRAST_JS) >= 4.5
    assert page.locator("#nq-chat label:visible, #nq-chat [data-testid='block-label']:visible").count() == 0
    page.close()


def test_browser_phone_layout_keeps_input_and_filters_together(app: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(app)
    box = page.locator("#nq-question textarea")
    box.wait_for(timeout=60_000)
    filters = page.get_by_text("Filters (apply to the next question)")
    chat = page.locator("#nq-chat").bounding_box()
    box_at, filters_at = box.bounding_box(), filters.bounding_box()
    assert chat is not None and box_at is not None and filters_at is not None
    assert chat["height"] <= 844  # the chat fits the screen
    assert 0 <= filters_at["y"] - box_at["y"] <= 200  # the filters sit right under the question box
    assert "tap" in page.locator("body").inner_text()  # no 'hover' only: phones have none
    page.close()


def test_active_filters_are_shown_as_chips() -> None:
    assert render.filter_chips() == ""
    chips = render.filter_chips("2023-11-01", None, ["TechCrunch", "<b>x</b>"], "2023-12-31T00:00:00")
    shown = html.unescape(chips)
    assert "From 2023-11-01" in shown and "Outlets: TechCrunch, <b>x</b>" in shown and "<b>" not in chips
    assert "As of 2023-12-31" in shown and "To " not in shown


def test_browser_popover_stays_in_view_and_on_top(app: str, browser: Any) -> None:
    """On the last answer the popover is not clipped by the window or the chat's edge; on an older one it
    is drawn above the messages that follow."""
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    ask_in_browser(page, app, SEED_QUESTION)
    box = page.locator("#nq-question textarea")
    box.fill("What did Putin say about Iran?")
    box.press("Enter")
    page.locator("#nq-chat .nq-answer").nth(1).wait_for(timeout=60_000)
    page.locator("#nq-chat .nq-typing").first.wait_for(state="detached", timeout=60_000)
    for answer in (page.locator("#nq-chat .nq-answer").last, page.locator("#nq-chat .nq-answer").first):
        cite = answer.locator(".nq-cite").first
        cite.scroll_into_view_if_needed()
        cite.hover()
        pop = cite.locator(".nq-pop")
        pop.wait_for(state="visible", timeout=5_000)
        page.wait_for_timeout(200)
        rect = pop.bounding_box()
        assert rect is not None
        assert rect["y"] >= 0 and rect["y"] + rect["height"] <= 900 and rect["x"] >= 0
        on_top = pop.evaluate(
            "(p) => { const r = p.getBoundingClientRect();"
            " const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);"
            " return (!!hit && p.contains(hit)) || String(hit && hit.outerHTML).slice(0, 120); }"
        )
        assert on_top is True, f"the popover is covered by {on_top}"
        page.mouse.move(0, 0)
    page.close()
