"""The Assistant facade: wires settings, embedder, index, retrieval and answering together."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property

from assistant.answer import Answer
from assistant.answer.extractive import ExtractiveAnswerer
from assistant.embedder import Embedder
from assistant.index import IndexStats, IngestReport, NewsIndex, ProgressFn
from assistant.readers import ReadResult, read_sources
from assistant.retrieve import Filters, Passage, Retriever
from assistant.settings import Settings


class Assistant:
    """Everything a front end needs: ingest, ask, stats, remove. Components load on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def embedder(self) -> Embedder:
        """The embedding model (loaded once, on first use)."""
        return Embedder(self.settings.embedder, self.settings.embed_device, self.settings.embed_batch_size)

    @cached_property
    def index(self) -> NewsIndex:
        """The Chroma-backed index."""
        return NewsIndex(self.settings, lambda: self.embedder)

    @cached_property
    def retriever(self) -> Retriever:
        """Retrieval over the index."""
        return Retriever(self.index, self.embedder)

    @cached_property
    def answerer(self) -> ExtractiveAnswerer:
        """The no-LLM answerer."""
        return ExtractiveAnswerer(
            self.embedder, self.settings.max_answer_sentences, self.settings.min_relevance
        )

    def read(self, sources: Iterable[str]) -> list[ReadResult]:
        """Articles (and read failures) from files, folders and globs."""
        return list(read_sources(sources))

    def ingest(self, items: Iterable[ReadResult], progress: ProgressFn | None = None) -> IngestReport:
        """Index articles; failures are reported, never fatal to the batch."""
        return self.index.ingest(items, progress)

    def retrieve(self, question: str, k: int | None = None, filters: Filters | None = None) -> list[Passage]:
        """Passages for a question."""
        return self.retriever.retrieve(question, k or self.settings.k, filters)

    def ask(self, question: str, k: int | None = None, filters: Filters | None = None) -> Answer:
        """A cited answer to a question (or an abstention)."""
        passages = self.retrieve(question, k, filters)
        return self.answerer.answer(question, passages)

    def stats(self) -> IndexStats:
        """What the index holds."""
        return self.index.stats()

    def remove(self, key: str) -> int:
        """Remove an article by id or url; returns the number of chunks removed."""
        return self.index.remove(key)


def build_assistant(settings: Settings | None = None) -> Assistant:
    """The factory front ends call."""
    return Assistant(settings or Settings.load())
