"""The chat window: a Gradio app over the Assistant facade (`python ui.py` or `newsqa serve` runs it)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.assistant import Assistant, build_assistant
from assistant.errors import NewsqaError
from assistant.settings import Settings
from assistant.types import UNKNOWN_OUTLET, Answer, Filters, ReadResult, Turn
from assistant.web import render
from assistant.web.util import (
    MAX_URLS,
    Rejected,
    arg_parser,  # noqa: F401 - part of the app's surface
    check_uploads,
    launch_options,
    parse_auth,  # noqa: F401 - ui.parse_auth is part of the app's surface
    parse_filters,
    settings_from_args,
    short_origin,
    timeline_plot,
    url_lines,
    user_errors,
)

log = logging.getLogger(__name__)
MAX_K = 20
WARMING_UP = "Warming up: loading the model and opening the index (only after a start)…"
EMPTY_ANSWER = "Nothing is indexed yet, so there is nothing to answer from."
EMPTY_NOTICE = "The index is empty: add articles (upload them here, or `newsqa ingest PATH`), then ask."
TRACK = gr.Progress()  # Gradio injects a live tracker where a handler defaults to one
ChatHistory = list[dict[str, Any]]


class App:
    """The handlers behind the Blocks; each calls the Assistant and renders its result."""

    def __init__(self, assistant: Assistant, ready: threading.Event | None = None) -> None:
        self.assistant = assistant
        self.ready = ready or threading.Event()  # set once the model and the index are loaded
        if ready is None:
            self.ready.set()  # built by a caller that loaded them already (or will load on first use)

    def warm_up(self) -> None:
        """Load the model and open the index (in the background, while the page is already served)."""
        try:
            self.assistant.warm_up()
        except Exception:  # the first question reports it, through the usual error path
            log.exception("warming up failed")
        finally:
            self.ready.set()

    def is_empty(self) -> bool:
        """Whether nothing is indexed yet."""
        return self.assistant.is_empty()

    def answer(self, question: str, k: int, filters: Filters, turns: Sequence[Turn] = ()) -> Iterator[Answer]:
        """Answer snapshots (a follow-up is read in the light of earlier turns); on an empty index, advice."""
        question = (question or "").strip()
        if not question:
            raise gr.Error("Type a question first.")
        self.ready.wait()  # a question right after start waits for the model (the chat says so first)
        if self.is_empty():
            yield Answer(question=question, text=EMPTY_ANSWER, abstained=True, notices=[EMPTY_NOTICE])
            return
        k = max(1, min(int(k or self.assistant.settings.k), MAX_K))
        if turns:
            yield from self.assistant.chat_stream(question, list(turns), k=k, filters=filters)
        else:
            yield from self.assistant.ask_stream(question, k=k, filters=filters)

    def chat(
        self,
        message: str,
        history: ChatHistory | None,
        turns: list[Turn] | None,
        k: int,
        since: str | None,
        until: str | None,
        outlets: list[str] | None,
        as_of: str | None = None,
    ) -> Iterator[tuple[str, ChatHistory, str, list[Turn]]]:
        """Stream the answer into the chat and its sources into the panel; remember the turn."""
        if not (message or "").strip():  # a friendly note, not an error (nor a traceback in the log)
            gr.Warning("Type a question first.")
            yield message or "", list(history or []), render.sources_html(None), list(turns or [])
            return
        filters = parse_filters(since, until, outlets, as_of)
        turns = list(turns or [])
        history = list(history or [])
        history.append({"role": "user", "content": render.text(message)})
        history.append(
            {"role": "assistant", "content": '<span class="nq-typing">Searching the articles…</span>'}
        )
        if not self.ready.is_set():  # the first question after start waits for the model, and says so
            history[-1] = {"role": "assistant", "content": f'<span class="nq-typing">{WARMING_UP}</span>'}
            yield "", list(history), render.sources_html(None), turns
            self.ready.wait()
            history[-1] = {
                "role": "assistant",
                "content": '<span class="nq-typing">Searching the articles…</span>',
            }
        yield "", list(history), render.sources_html(None), turns
        final: Answer | None = None
        try:
            empty = self.is_empty()
            for final in self.answer(message, k, filters, turns):
                history[-1] = {"role": "assistant", "content": render.answer_html(final, pending=True)}
                yield "", list(history), render.sources_html(final, empty_index=empty), turns
        except Exception:  # leave no dangling "Searching…" behind the error message
            history[-1] = {
                "role": "assistant",
                "content": '<div class="nq-notice">No answer (see the error).</div>',
            }
            yield message, list(history), render.sources_html(None), turns
            raise
        if final is not None:
            history[-1] = {"role": "assistant", "content": render.answer_html(final)}
            turns.append(Turn.of(final, filters))
            yield "", list(history), render.sources_html(final, empty_index=empty), turns

    def ask_api(
        self,
        question: str,
        k: int = 5,
        since: str | None = None,
        until: str | None = None,
        sources: list[str] | None = None,
        as_of: str | None = None,
    ) -> dict[str, Any]:
        """The structured answer as JSON: answer text with [n], citations, abstained, notices (`as_of`:
        answer as of that date, e.g. "2023-10-08"; default now)."""
        *_, final = self.answer(question, k, parse_filters(since, until, sources, as_of))
        return final.to_dict()

    def add_files(self, files: list[str] | None, progress: gr.Progress) -> tuple[Any, ...]:
        """Check, read and index uploaded files; report counts and every failure with its reason."""
        paths = [Path(f) for f in files or []]
        if not paths:
            raise gr.Error("Choose one or more files to add first.")
        accepted, rejected = check_uploads(paths, self.assistant.settings.max_upload_mb)
        progress(0.0, desc="Reading files")
        items = [short_origin(item) for item in self.assistant.read([str(p) for p in accepted])]
        return self.index(items, rejected, progress)

    def add_urls(self, text: str | None, progress: gr.Progress) -> tuple[Any, ...]:
        """Fetch and index article or feed urls (one per line) the way `newsqa ingest URL...` does.

        Urls on loopback, private or link-local addresses are refused (each with the reason) unless the
        app was started with --allow-private-urls: whoever can open the page can make the server fetch.
        """
        urls, rejected = url_lines(text)
        if not urls and not rejected:
            raise gr.Error("Paste one or more article or feed urls first, one per line.")
        items: list[ReadResult] = []
        progress((0, None), desc="Fetching pages and feeds", unit="items")
        for item in self.assistant.read_iter(urls):  # a feed url brings in each of its entries' pages
            items.append(item)
            progress((len(items), None), desc="Fetching pages and feeds", unit="items")
        return self.index(items, rejected, progress)

    def index(
        self, items: Sequence[ReadResult], rejected: Rejected, progress: gr.Progress
    ) -> tuple[Any, ...]:
        """Index what was read, with progress; the summary (every failure and why) and the new overview."""
        total, done = max(1, len(items)), 0

        def step(articles: int, _chunks: int) -> None:
            nonlocal done
            done += articles
            progress((min(done, total), total), desc="Indexing articles", unit="articles")

        report = self.assistant.ingest(items, step)
        return (render.report_html(report, rejected), *self.overview())

    def overview(self) -> tuple[Any, ...]:
        """Index facts, the per-day (or per-week) plot, the outlet choices, the banner and the placeholder."""
        stats = self.assistant.stats()
        empty = stats.articles == 0
        banner = gr.update(value=f'<div class="nq-banner">{render.EMPTY_INDEX_HELP}</div>', visible=empty)
        outlets = gr.update(choices=sorted(o for o in stats.outlets if o != UNKNOWN_OUTLET))  # none given
        plot = timeline_plot(self.assistant.articles_per_day())
        return render.stats_html(stats), plot, outlets, banner


def build_app(assistant: Assistant, app: App | None = None) -> gr.Blocks:
    """The Blocks: chat and sources, filters, uploads, index overview, and the /ask API."""
    app = app or App(assistant)
    exts = assistant.file_types()
    with gr.Blocks(title="newsqa", fill_width=True) as demo:
        gr.Markdown(
            "## newsqa — ask the news\nEvery sentence of an answer cites its article: hover over, tap or "
            "click [n]."
        )
        banner = gr.HTML(visible=False)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    elem_id="nq-chat",
                    height="62vh",  # fits a phone's screen as well as a desktop's
                    label="Chat",
                    show_label=False,  # a floating label covered the top message when the chat scrolled
                    latex_delimiters=[],
                    buttons=["copy"],  # a copy button beside each answer
                    feedback_options=None,
                    placeholder="Ask a question about the indexed articles.",
                )
                with gr.Row():
                    question = gr.Textbox(
                        placeholder="e.g. How long did one of the Putin-Trump calls last?",
                        show_label=False,
                        scale=5,
                        elem_id="nq-question",
                        max_lines=4,
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="nq-ask")
                chips = gr.HTML(render.filter_chips(), elem_id="nq-chips")  # the filters in force
                with gr.Accordion("Filters (apply to the next question)", open=False):
                    with gr.Row():
                        since = gr.DateTime(label="From", include_time=False, type="string")
                        until = gr.DateTime(label="To", include_time=False, type="string")
                    outlets = gr.Dropdown(label="Outlets", multiselect=True, choices=[], value=[])
                    as_of = gr.DateTime(
                        label="As of (default: now; 'this week' means the week before it)",
                        include_time=False,
                        type="string",
                    )
                    k = gr.Slider(1, MAX_K, value=assistant.settings.k, step=1, label="Passages")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(render.sources_html(None), elem_id="nq-sources")
        with gr.Row():
            with gr.Column():
                gr.Markdown("### Add articles")
                files = gr.File(
                    label=f"Files ({', '.join(exts)}; up to {assistant.settings.max_upload_mb} MB each)",
                    file_count="multiple",  # no file_types: Gradio would refuse the whole batch for one
                    type="filepath",
                )
                gr.Markdown(
                    "Reads .txt and .md (the first line is the title; `Title:`, `Date:`, `Source:`, `URL:`, "
                    "`Author:` lines before or right after it are read as such), .html pages, and .json, "
                    ".jsonl and .csv dumps (fields such as title, body, published_at, source, url).",
                    elem_id="nq-upload-help",
                )
                add = gr.Button("Add to index", elem_id="nq-add")
                where = "" if assistant.settings.allow_private_urls else " on the public web"
                urls = gr.Textbox(
                    label="Or article and feed urls, one per line",
                    info=f"Pages and RSS/Atom feeds{where}; up to {MAX_URLS} per click.",
                    placeholder="https://example.com/news/story\nhttps://example.com/rss.xml",
                    lines=3,
                    max_lines=12,
                    elem_id="nq-urls",
                )
                add_urls = gr.Button("Fetch and add", elem_id="nq-add-urls")
                report = gr.HTML(elem_id="nq-report")
            with gr.Column():
                gr.Markdown("### Index overview")
                stats = gr.HTML(elem_id="nq-stats")
                plot = gr.BarPlot(x="date", y="articles", x_title="published", y_title="articles", height=240)

        for control in (since, until, outlets, as_of):  # the chips follow the Filters panel
            control.change(
                render.filter_chips, [since, until, outlets, as_of], chips, api_visibility="private"
            )
        turns = gr.State([])  # this session's earlier questions and answers, for follow-ups
        chat_inputs = [question, chatbot, turns, k, since, until, outlets, as_of]
        chat_outputs = [question, chatbot, sources, turns]
        chatbot.clear(
            lambda: ([], render.sources_html(None)), None, [turns, sources], api_visibility="private"
        )
        for trigger in (question.submit, send.click):
            trigger(
                user_errors(app.chat),
                chat_inputs,
                chat_outputs,
                api_visibility="private",
                concurrency_limit=4,
                concurrency_id="answer",
            )
        gr.api(
            user_errors(app.ask_api),
            api_name="ask",
            concurrency_limit=4,
            concurrency_id="answer",
        )

        def add_files(paths: list[str] | None, progress: gr.Progress = TRACK) -> tuple[Any, ...]:
            return app.add_files(paths, progress)

        def fetch_urls(text: str | None, progress: gr.Progress = TRACK) -> tuple[Any, ...]:
            return app.add_urls(text, progress)

        overview_outputs = [stats, plot, outlets, banner]
        for button, handler, source, name in (
            (add, add_files, files, "add_articles"),
            (add_urls, fetch_urls, urls, "add_urls"),
        ):
            button.click(
                user_errors(handler),
                [source],
                [report, *overview_outputs],
                api_name=name,
                concurrency_limit=1,
                concurrency_id="ingest",
            )
        demo.load(
            user_errors(app.overview),
            None,
            overview_outputs,
            api_visibility="undocumented",
            api_name="overview",
        )
    return demo


def serve(settings: Settings, **launch: Any) -> gr.Blocks:
    """Build the app over settings.index and launch it (blocking unless prevent_thread_lock=True). The page
    is served at once; the model and the index load in the background, and a first question waits."""
    app = App(build_assistant(settings), threading.Event())
    threading.Thread(target=app.warm_up, name="newsqa-warm-up", daemon=True).start()
    demo = build_app(app.assistant, app)
    demo.queue(default_concurrency_limit=4)
    demo.launch(**{**launch_options(settings), **launch})
    return demo


def main(argv: Sequence[str] | None = None) -> None:
    """`python ui.py [--index DIR] [--llm SPEC] [--host H] [--port P] [--auth user:password] ...`."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        serve(settings_from_args(argv))
    except NewsqaError as exc:
        raise SystemExit(f"error: {exc}") from None
