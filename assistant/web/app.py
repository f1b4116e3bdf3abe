"""The chat window: a Gradio app over the Assistant facade (`python ui.py` or `newsqa serve` runs it)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import gradio as gr

from assistant.assistant import Assistant, build_assistant
from assistant.errors import NewsqaError
from assistant.settings import Settings
from assistant.web import render
from assistant.web.handlers import (  # noqa: F401 - App, WARMING_UP... are part of the app's surface
    EMPTY_ANSWER,
    MAX_K,
    TRACK,
    WARMING_UP,
    App,
)
from assistant.web.util import (
    MAX_URLS,
    arg_parser,  # noqa: F401 - part of the app's surface
    launch_options,
    parse_auth,  # noqa: F401 - ui.parse_auth is part of the app's surface
    settings_from_args,
    user_errors,
)


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
                        since = gr.DateTime(
                            label="From", include_time=False, type="string", elem_id="nq-since"
                        )
                        until = gr.DateTime(label="To", include_time=False, type="string", elem_id="nq-until")
                    outlets = gr.Dropdown(
                        label="Outlets", multiselect=True, choices=[], value=[], elem_id="nq-outlets"
                    )
                    as_of = gr.DateTime(
                        label="As of (default: now; 'this week' means the week before it)",
                        include_time=False,
                        type="string",
                        elem_id="nq-as-of",
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
        chatbot.option_select(  # "Ask without context" under a rewritten follow-up's answer
            user_errors(app.ask_without_context),
            chat_inputs[1:],
            chat_outputs[1:],
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
