"""The chat app's handlers: each calls the Assistant facade and renders its result (web/app.py lays them out)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.assistant import Assistant
from assistant.types import UNKNOWN_OUTLET, Answer, Filters, ReadResult, Turn
from assistant.web import render
from assistant.web.searched import ASK_WITHOUT_CONTEXT, rewritten
from assistant.web.util import Rejected, check_uploads, parse_filters, short_origin, timeline_plot, url_lines

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
        """Answer snapshots (a follow-up is read in the light of earlier turns); on an empty index, advice.
        Each records the filters it ran with (Answer.filters)."""
        question = (question or "").strip()
        if not question:
            raise gr.Error("Type a question first.")
        self.ready.wait()  # a question right after start waits for the model (the chat says so first)
        if self.is_empty():
            yield Answer(question=question, text=EMPTY_ANSWER, abstained=True, notices=[EMPTY_NOTICE])
            return
        k = max(1, min(int(k or self.assistant.settings.k), MAX_K))
        yield from self.assistant.chat_stream(question, list(turns), k=k, filters=filters)  # no turns: ask

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
        yield from self.converse(message, history, list(turns or []), k, filters, context=True)

    def ask_without_context(
        self,
        history: ChatHistory | None,
        turns: list[Turn] | None,
        k: int,
        since: str | None,
        until: str | None,
        outlets: list[str] | None,
        as_of: str | None = None,
    ) -> Iterator[tuple[ChatHistory, Any, list[Turn]]]:
        """'Ask without context' on the last answer: the user's own words of that follow-up asked again as a
        new question, with no earlier turns and the filters the panel shows now."""
        turns = list(turns or [])
        if not turns or not turns[-1].standalone:
            gr.Warning("The last answer was asked as typed: there is no context to leave out.")
            yield list(history or []), gr.skip(), turns
            return
        filters = parse_filters(since, until, outlets, as_of)
        for _, shown, cards, kept in self.converse(turns[-1].question, history, turns, k, filters, False):
            yield shown, cards, kept

    def converse(
        self,
        message: str,
        history: ChatHistory | None,
        turns: list[Turn],
        k: int,
        filters: Filters,
        context: bool,
    ) -> Iterator[tuple[str, ChatHistory, str, list[Turn]]]:
        """One chat turn (read with the earlier turns when `context`): the box's text, the chat, the source
        cards and the turns, as the answer grows. A rewritten answer offers 'Ask without context'."""
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
            for final in self.answer(message, k, filters, turns if context else ()):
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
            if rewritten(final):  # one click asks the user's own words again, without earlier turns
                history[-1]["options"] = [{"label": ASK_WITHOUT_CONTEXT, "value": final.question}]
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
