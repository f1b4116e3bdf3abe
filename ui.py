"""newsqa's chat window: a Gradio app over the package's Assistant (run `python ui.py` or `newsqa serve`)."""

from __future__ import annotations

import argparse
import functools
import inspect
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import gradio as gr
import pandas as pd

from assistant import render
from assistant.answer import Answer
from assistant.articles import parse_date
from assistant.assistant import Assistant, build_assistant
from assistant.chat import Turn
from assistant.errors import ConfigError, InputError, NewsqaError
from assistant.readers.files import SUPPORTED_EXTS
from assistant.retrieve import Filters
from assistant.settings import Settings

log = logging.getLogger("newsqa.ui")
F = TypeVar("F", bound=Callable[..., Any])
MAX_K = 20
EMPTY_ANSWER = "Nothing is indexed yet, so there is nothing to answer from."
EMPTY_NOTICE = "The index is empty: add articles (upload them here, or `newsqa ingest PATH`), then ask."
TRACK = gr.Progress()  # Gradio injects a live tracker where a handler defaults to one
ChatHistory = list[dict[str, Any]]


def user_errors(func: F) -> F:
    """Domain errors become gr.Error messages; anything else is logged and reported without a traceback."""

    def convert(exc: Exception) -> gr.Error:
        if isinstance(exc, gr.Error):
            return exc
        if isinstance(exc, NewsqaError):
            return gr.Error(str(exc))
        log.exception("unexpected error in %s", func.__name__)
        return gr.Error(f"Something went wrong ({type(exc).__name__}); the server log has the details.")

    if inspect.isgeneratorfunction(func):

        @functools.wraps(func)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from func(*args, **kwargs)
            except Exception as exc:
                raise convert(exc) from None

        return gen_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            raise convert(exc) from None

    return wrapper  # type: ignore[return-value]


def parse_filters(since: str | None, until: str | None, outlets: Sequence[str] | None) -> Filters:
    """Filters from the UI's (or API's) loosely typed values; bad dates are a gr.Error."""

    def day(value: str | None, label: str, end: bool) -> datetime | None:
        if value is None or not str(value).strip():
            return None
        parsed = parse_date(str(value).strip())
        if parsed is None:
            raise gr.Error(f"{label} date {value!r} is not a date; use e.g. 2023-10-01.")
        if end and len(str(value).strip()) <= 10:  # a bare day includes the whole day
            parsed = parsed.replace(hour=23, minute=59, second=59)
        return parsed

    start, stop = day(since, "From", False), day(until, "To", True)
    if start and stop and start > stop:
        raise gr.Error("The From date is after the To date; swap them or clear one.")
    return Filters(since=start, until=stop, sources=tuple(o for o in outlets or () if o))


class App:
    """The handlers behind the Blocks; each calls the Assistant and renders its result."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.max_upload_bytes = assistant.settings.max_upload_mb * 1024 * 1024

    def is_empty(self) -> bool:
        """Whether nothing is indexed yet."""
        return self.assistant.index.count() == 0

    def answer(self, question: str, k: int, filters: Filters, turns: Sequence[Turn] = ()) -> Iterator[Answer]:
        """Answer snapshots (a follow-up is read in the light of earlier turns); on an empty index, advice."""
        question = (question or "").strip()
        if not question:
            raise gr.Error("Type a question first.")
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
    ) -> Iterator[tuple[str, ChatHistory, str, list[Turn]]]:
        """Stream the answer into the chat and its sources into the panel; remember the turn."""
        if not (message or "").strip():
            raise gr.Error("Type a question first.")
        filters = parse_filters(since, until, outlets)
        turns = list(turns or [])
        history = list(history or [])
        history.append({"role": "user", "content": render.text(message)})
        history.append(
            {"role": "assistant", "content": '<span class="nq-typing">Searching the articles…</span>'}
        )
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
    ) -> dict[str, Any]:
        """The structured answer as JSON: answer text with [n], citations, abstained, notices."""
        *_, final = self.answer(question, k, parse_filters(since, until, sources))
        return final.to_dict()

    def add_files(self, files: list[str] | None, progress: gr.Progress) -> tuple[str, ...]:
        """Check, read and index uploaded files; report counts and every failure with its reason."""
        paths = [Path(f) for f in files or []]
        if not paths:
            raise gr.Error("Choose one or more files to add first.")
        accepted, rejected = self.check_uploads(paths)
        progress(0.0, desc="Reading files")
        items = self.assistant.read([str(p) for p in accepted])
        items = [_short_origin(item) for item in items]
        total, done = max(1, len(items)), 0

        def step(articles: int, _chunks: int) -> None:
            nonlocal done
            done += articles
            progress((min(done, total), total), desc="Indexing articles", unit="articles")

        report = self.assistant.ingest(items, step)
        return (render.report_html(report, rejected), *self.overview())

    def check_uploads(self, paths: list[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
        """Split uploads into readable ones and (name, reason) rejections by type and size."""
        accepted: list[Path] = []
        rejected: list[tuple[str, str]] = []
        for path in paths:
            if path.suffix.lower() not in SUPPORTED_EXTS:
                kinds = ", ".join(sorted(SUPPORTED_EXTS))
                rejected.append((path.name, f"unsupported file type {path.suffix or '(none)'}; use {kinds}"))
            elif path.stat().st_size > self.max_upload_bytes:
                limit = self.assistant.settings.max_upload_mb
                rejected.append((path.name, f"larger than the {limit} MB upload limit; use `newsqa ingest`"))
            else:
                accepted.append(path)
        return accepted, rejected

    def overview(self) -> tuple[Any, ...]:
        """Index facts, the per-day (or per-week) plot, the outlet choices, the banner and the placeholder."""
        stats = self.assistant.stats()
        empty = stats.articles == 0
        banner = gr.update(value=f'<div class="nq-banner">{render.EMPTY_INDEX_HELP}</div>', visible=empty)
        outlets = gr.update(
            choices=sorted(o for o in stats.outlets if o != "unknown")
        )  # "unknown": none given
        frame, unit = self.timeline()
        top = max(1, int(frame["articles"].max())) if len(frame) else 1
        angle = -45 if len(frame) > 12 else 0
        plot = gr.update(value=frame, y_lim=[0, top], x_title=f"articles per {unit}", x_label_angle=angle)
        return render.stats_html(stats), plot, outlets, banner

    def timeline(self) -> tuple[pd.DataFrame, str]:
        """Articles per day, or per week (from Monday) when the dates span over 45 days; zeros kept."""
        days = self.assistant.articles_per_day()
        series = pd.Series(list(days.values()), index=pd.to_datetime(list(days)), dtype="int64")
        unit = "day"
        if len(series) and (series.index.max() - series.index.min()).days > 45:
            unit = "week"
        if len(series):
            series = series.resample("W-MON" if unit == "week" else "D", label="left", closed="left").sum()
        frame = pd.DataFrame({"date": series.index.strftime("%Y-%m-%d"), "articles": series.to_numpy()})
        return frame, unit


def _short_origin(item: Any) -> Any:
    """Name uploads by their file name, not the server's temp path, in failure messages."""
    if isinstance(item, InputError):
        return InputError(Path(item.origin).name, item.reason)
    return item


def build_app(assistant: Assistant) -> gr.Blocks:
    """The Blocks: chat and sources, filters, uploads, index overview, and the /ask API."""
    app = App(assistant)
    exts = sorted(SUPPORTED_EXTS)
    with gr.Blocks(title="newsqa", fill_width=True) as demo:
        gr.Markdown(
            "## newsqa — ask the news\nEvery sentence of an answer cites its article: hover or click [n]."
        )
        banner = gr.HTML(visible=False)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    elem_id="nq-chat",
                    height=520,
                    label="Chat",
                    latex_delimiters=[],
                    buttons=[],
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
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(render.sources_html(None), elem_id="nq-sources")
                with gr.Accordion("Filters (apply to the next question)", open=False):
                    with gr.Row():
                        since = gr.DateTime(label="From", include_time=False, type="string")
                        until = gr.DateTime(label="To", include_time=False, type="string")
                    outlets = gr.Dropdown(label="Outlets", multiselect=True, choices=[], value=[])
                    k = gr.Slider(1, MAX_K, value=assistant.settings.k, step=1, label="Passages")
        with gr.Row():
            with gr.Column():
                gr.Markdown("### Add articles")
                files = gr.File(
                    label=f"Files ({', '.join(exts)}; up to {assistant.settings.max_upload_mb} MB each)",
                    file_count="multiple",  # no file_types: Gradio would refuse the whole batch for one
                    type="filepath",
                )
                add = gr.Button("Add to index", elem_id="nq-add")
                report = gr.HTML()
            with gr.Column():
                gr.Markdown("### Index overview")
                stats = gr.HTML(elem_id="nq-stats")
                plot = gr.BarPlot(x="date", y="articles", x_title="published", y_title="articles", height=240)

        turns = gr.State([])  # this session's earlier questions and answers, for follow-ups
        chat_inputs = [question, chatbot, turns, k, since, until, outlets]
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

        overview_outputs = [stats, plot, outlets, banner]
        add.click(
            user_errors(add_files),
            [files],
            [report, *overview_outputs],
            api_name="add_articles",
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


def parse_auth(auth: str | None) -> tuple[str, str] | None:
    """`user:password` as Gradio's auth pair."""
    if not auth:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise ConfigError("--auth (or NEWSQA_AUTH) must look like user:password.")
    return user, password


def launch_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for Blocks.launch from the settings (host, port, login, upload limit, CSS)."""
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "auth": parse_auth(settings.auth),
        "max_file_size": f"{settings.max_upload_mb}mb",
        "css": render.CSS,
        "show_error": False,
        "footer_links": ["api"],
    }


def serve(settings: Settings, **launch: Any) -> gr.Blocks:
    """Build the app over settings.index and launch it (blocking unless prevent_thread_lock=True)."""
    assistant = build_assistant(settings)
    _ = assistant.embedder, assistant.retriever  # load the model and open the index before the first user
    demo = build_app(assistant)
    demo.queue(default_concurrency_limit=4)
    demo.launch(**{**launch_options(settings), **launch})
    return demo


def main(argv: Sequence[str] | None = None) -> None:
    """`python ui.py [--index DIR] [--host H] [--port P] [--auth user:password] [--config FILE]`."""
    parser = argparse.ArgumentParser(description="newsqa's chat window over the local index.")
    parser.add_argument("--index", type=Path, help="folder of the local Chroma index [default: ./index]")
    parser.add_argument("--config", type=Path, help="TOML settings file [default: ./newsqa.toml if present]")
    parser.add_argument("--host", help="address to bind [default: 127.0.0.1]")
    parser.add_argument("--port", type=int, help="port [default: 7860]")
    parser.add_argument("--auth", help="user:password to require a login [env NEWSQA_AUTH]")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.load(
            args.config, index=args.index, host=args.host, port=args.port, auth=args.auth
        )
        serve(settings)
    except NewsqaError as exc:
        parser.exit(1, f"error: {exc}\n")


if __name__ == "__main__":
    main()
