"""The Assistant facade: wires settings, embedder, index, retrieval and answering together."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from assistant.dates import parse_date
from assistant.errors import ConfigError
from assistant.settings import Settings
from assistant.types import Answer, Filters, IndexStats, IngestReport, Passage, ProgressFn, ReadResult, Turn

# Components are imported where they are built: importing the facade (every command, `--help` included)
# loads no model, store or LLM library; each loads on first use.
if TYPE_CHECKING:
    from assistant.answer.backends import LLMBackend
    from assistant.answer.extractive import ExtractiveAnswerer
    from assistant.answer.followups import FollowUps
    from assistant.answer.llm import LLMAnswerer
    from assistant.embedding import Embedder
    from assistant.retrieval.hints import Hints
    from assistant.retrieval.rerank import Reranker
    from assistant.retrieval.retriever import Retriever
    from assistant.store.chroma import NewsIndex


class Assistant:
    """Everything a front end needs: ingest, ask, chat, stats, remove, watch, eval.

    Components are passed in (tests share one loaded embedder this way) or built from `settings` on first
    use, so `stats` and `remove` never load the model.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        index: NewsIndex | None = None,
        retriever: Retriever | None = None,
        reranker: Reranker | None = None,
        llm: LLMBackend | None = None,
    ) -> None:
        self.settings = settings
        given = {
            "embedder": embedder,
            "index": index,
            "retriever": retriever,
            "reranker": reranker,
            "llm": llm,
        }
        for name, component in given.items():
            if component is not None:
                self.__dict__[name] = component  # takes the place of the cached_property below

    @cached_property
    def embedder(self) -> Embedder:
        """The embedding model (loaded once, on first use)."""
        from assistant.embedding import load_embedder

        s = self.settings
        return load_embedder(
            s.embedder,
            backend=s.embed_backend,
            device=s.embed_device,
            batch_size=s.embed_batch_size,
            cache_dir=s.cache_dir,
        )

    @cached_property
    def index(self) -> NewsIndex:
        """The Chroma-backed index."""
        from assistant.store.chroma import NewsIndex

        return NewsIndex(self.settings, lambda: self.embedder)

    @cached_property
    def reranker(self) -> Reranker | None:
        """The optional CrossEncoder (settings.reranker; loaded on first use), or None."""
        from assistant.retrieval.rerank import Reranker

        path = self.settings.reranker
        return Reranker(path, self.settings.embed_device) if path else None

    @cached_property
    def retriever(self) -> Retriever:
        """Retrieval over the index."""
        from assistant.retrieval.retriever import Retriever

        reranker = self.reranker  # first: a bad --reranker fails before any other model loads
        return Retriever(self.index, self.embedder, reranker=reranker)

    @cached_property
    def answerer(self) -> ExtractiveAnswerer:
        """The no-LLM answerer."""
        from assistant.answer.extractive import ExtractiveAnswerer

        s = self.settings
        return ExtractiveAnswerer(self.embedder, s.max_answer_sentences, s.min_relevance, max_digest=s.k)

    @cached_property
    def llm(self) -> LLMBackend | None:
        """The configured LLM backend (settings.llm), or None for the extractive default."""
        if not self.settings.uses_llm:
            return None  # the extractive default: no LLM library is imported
        from assistant.answer.backends import LLMBackend, parse_spec

        spec = parse_spec(self.settings.llm, self.settings.llm_base_url)
        return LLMBackend(spec, self.settings) if spec else None

    @cached_property
    def llm_answerer(self) -> LLMAnswerer | None:
        """LLM answers with checked citations, falling back to the extractive answer (None without an LLM)."""
        if self.llm is None:
            return None
        from assistant.answer.citations import CitationChecker
        from assistant.answer.llm import LLMAnswerer, PromptBuilder

        s = self.settings
        prompts = PromptBuilder(s.prompts_dir, s.llm_context_window, s.llm_source_chars)
        checker = CitationChecker(self.embedder, prompts.refusal)
        return LLMAnswerer(self.llm, checker, self.answerer, prompts)

    @cached_property
    def followups(self) -> FollowUps:
        """Rewrites chat follow-ups into standalone questions."""
        from assistant.answer.followups import FollowUps

        return FollowUps(self.llm, self.settings.prompts_dir)

    # -- what front ends call ------------------------------------------------------------------

    @property
    def uses_llm(self) -> bool:
        """Whether answers are written by an LLM (else extractive)."""
        return self.llm is not None

    def warm_up(self) -> None:
        """Load the model and open the index now, so the first question does not wait for them."""
        self.embedder.embed(["warm up"])
        _ = self.retriever

    def is_empty(self) -> bool:
        """Whether nothing is indexed yet."""
        return self.index.recent_count() == 0

    @staticmethod
    def file_types() -> list[str]:
        """The file extensions `read` takes (.txt, .json, ...)."""
        from assistant.ingest.files import SUPPORTED_EXTS

        return sorted(SUPPORTED_EXTS)

    @staticmethod
    def is_url(text: str) -> bool:
        """Whether `read` takes this text as an http(s) url."""
        from assistant.ingest.web import is_url

        return is_url(text)

    def read(self, sources: Iterable[str], feeds: Iterable[str] = ()) -> list[ReadResult]:
        """Articles (and read failures) from files, folders, globs, urls, url lists, OPML files and feeds."""
        return list(self.read_iter(sources, feeds))

    def read_iter(self, sources: Iterable[str], feeds: Iterable[str] = ()) -> Iterator[ReadResult]:
        """Like read, one result at a time as pages are fetched (for progress while reading urls)."""
        from assistant.ingest.sources import read_sources

        return read_sources(sources, self.settings, feeds)

    def ingest(
        self, items: Iterable[ReadResult], progress: ProgressFn | None = None, reembed: bool = False
    ) -> IngestReport:
        """Index articles; failures are reported, never fatal to the batch (`reembed`: unchanged too)."""
        return self.index.ingest(items, progress, reembed)

    def filters(self, filters: Filters | None = None) -> Filters:
        """The filters a question runs with: as given, the as-of moment defaulting to the `as_of` setting."""
        filters = filters or Filters()
        if filters.as_of is None and self.settings.as_of:
            moment = parse_date(self.settings.as_of)
            if moment is None:
                raise ConfigError(f"as_of {self.settings.as_of!r} is not a date; use e.g. 2023-10-08.")
            filters = dataclasses.replace(filters, as_of=end_of_day(moment, self.settings.as_of))
        return filters

    def search(
        self, question: str, k: int | None = None, filters: Filters | None = None
    ) -> tuple[list[Passage], list[str]]:
        """Passages for a question, and notices for the reader (e.g. a relative window that was widened)."""
        return self.retriever.search(question, k or self.settings.k, self.filters(filters))

    def retrieve(self, question: str, k: int | None = None, filters: Filters | None = None) -> list[Passage]:
        """Passages for a question."""
        return self.search(question, k, filters)[0]

    def _evidence(
        self, question: str, k: int | None, filters: Filters
    ) -> tuple[list[Passage], list[str], Hints | None]:
        """Passages, notices and the question's hints (answer/evidence.py)."""
        from assistant.answer.evidence import gather

        return gather(self.retriever, question, k or self.settings.k, self.filters(filters))

    def ask(self, question: str, k: int | None = None, filters: Filters | None = None) -> Answer:
        """A cited answer to a question (or an abstention)."""
        filters = self.filters(filters)
        passages, notices, hints = self._evidence(question, k, filters)
        if self.llm_answerer is not None:
            answer = self.llm_answerer.answer(question, passages, filters.as_of, hints)
        else:
            answer = self.answerer.answer(question, passages, hints)
        return with_notices(dataclasses.replace(answer, filters=filters), notices)

    def ask_stream(
        self, question: str, k: int | None = None, filters: Filters | None = None
    ) -> Iterator[Answer]:
        """Growing snapshots of the answer, the last one complete (extractive: one sentence at a time)."""
        if self.llm_answerer is not None:  # LLM: token by token (partial=True), then the checked answer
            filters = self.filters(filters)
            passages, notices, hints = self._evidence(question, k, filters)
            for answer in self.llm_answerer.stream(question, passages, filters.as_of, hints):
                yield with_notices(answer, notices)
            return
        yield from answer_prefixes(self.ask(question, k, filters))

    def chat(
        self,
        question: str,
        history: Sequence[Turn] = (),
        k: int | None = None,
        filters: Filters | None = None,
    ) -> Answer:
        """Answer a chat turn: a follow-up is rewritten to stand alone (Answer.standalone_question) first.
        The answer records the filters it ran with (Answer.filters): exactly those given, never earlier
        turns' (with the `as_of` setting's moment when none is given)."""
        rewrite = self.followups.rewrite(question, history, filters)
        used = self.filters(rewrite.filters)
        return dataclasses.replace(rewrite.apply(self.ask(rewrite.question, k, used)), filters=used)

    def chat_stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        k: int | None = None,
        filters: Filters | None = None,
    ) -> Iterator[Answer]:
        """`chat`, streamed like `ask_stream` (each snapshot records the filters it ran with)."""
        rewrite = self.followups.rewrite(question, history, filters)
        used = self.filters(rewrite.filters)
        for answer in self.ask_stream(rewrite.question, k, used):
            yield dataclasses.replace(rewrite.apply(answer), filters=used)

    def watch(
        self,
        feeds: Sequence[str],
        every: str = "30m",
        once: bool = False,
        say: Callable[[str], None] = print,
        warn: Callable[[str], None] = print,
    ) -> None:
        """Poll feeds (urls or OPML files) and index new or changed entries, every `every` or `once`."""
        from assistant.ingest.watch import run_watch

        run_watch(self, feeds, every, once, say, warn)

    def stats(self) -> IndexStats:
        """What the index holds."""
        return self.index.stats()

    def articles_per_day(self) -> dict[str, int]:
        """Dated articles per publication day (YYYY-MM-DD), oldest first (for the UI's plot)."""
        days = Counter(
            str(r["published_at"])[:10] for r in self.index.article_rows() if r.get("published_at")
        )
        return dict(sorted(days.items()))

    def reindex_keywords(self) -> int:
        """Rebuild the keyword index from the chunks in Chroma (no re-embedding); returns the chunk count."""
        return self.index.reindex_keywords()

    def remove(self, key: str) -> int:
        """Remove an article by id or url; returns the number of chunks removed."""
        return self.index.remove(key)

    def remove_many(self, keys: Sequence[str]) -> dict[str, int | None]:
        """Remove several articles by id or url at once: chunks removed per key, None where none matched."""
        return self.index.remove_many(keys)


def build_assistant(settings: Settings | None = None, **components: Any) -> Assistant:
    """The factory front ends call (`components`: as `Assistant` takes them)."""
    return Assistant(settings or Settings.load(), **components)


_SENTENCE_END = re.compile(r"(?<=\])\s+(?=[^\s\[])")  # a break after a sentence's closing [n] marker(s)


def answer_prefixes(answer: Answer) -> Iterator[Answer]:
    """The answer sentence by sentence: each snapshot holds the text so far and the citations it uses."""
    parts = [] if answer.abstained else _SENTENCE_END.split(answer.text)
    for i in range(1, len(parts)):
        text = " ".join(parts[:i])
        used = {int(n) for n in re.findall(r"\[(\d+)\]", text)}
        yield dataclasses.replace(answer, text=text, citations=[c for c in answer.citations if c.n in used])
    yield answer


def with_notices(answer: Answer, notices: Sequence[str]) -> Answer:
    """The answer with retrieval's notices first."""
    return dataclasses.replace(answer, notices=[*notices, *answer.notices]) if notices else answer


def end_of_day(moment: datetime, given: str) -> datetime:
    """A bare day ('2023-10-08') as of its end: that day's news counts."""
    return moment.replace(hour=23, minute=59, second=59) if len(given.strip()) <= 10 else moment
