"""Answers written by an LLM from numbered sources, then citation-checked; extractive answer on any failure."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from llama_index.core.base.llms.types import ChatMessage, MessageRole

from assistant.answer.backends import MAX_ANSWER_TOKENS, LLMBackend
from assistant.answer.citations import CitationChecker, marker_numbers, strip_markers
from assistant.answer.extractive import ExtractiveAnswerer
from assistant.answer.prompts import load_prompt
from assistant.answer.sources import by_article
from assistant.errors import BackendError
from assistant.retrieval.hints import Hints
from assistant.text import split_sentences
from assistant.types import UNSUPPORTED_MARK, Answer, Citation, Passage

EXCERPT_SENTENCES = 2  # best sentences per source, each with the sentences around it
CHARS_PER_TOKEN = 3.5  # conservative for English prose; used to keep the prompt inside the context window


class PromptBuilder:
    """Renders the answer prompt: today's date, the refusal wording, and numbered sources that fit."""

    def __init__(self, prompts_dir: Path, context_window: int, source_chars: int = 0) -> None:
        self.prompts_dir = prompts_dir
        self.context_window = context_window
        self.source_chars = source_chars  # excerpt length per source (0: whole passages)

    @property
    def refusal(self) -> str:
        """The sentence used when the articles do not answer."""
        return load_prompt("refusal", self.prompts_dir).render()

    def source(self, n: int, passage: Passage, text: str | None = None) -> str:
        """One numbered source: outlet and date first, then title and text."""
        return load_prompt("source", self.prompts_dir).render(
            n=n,
            outlet=passage.outlet,
            date=passage.day,
            title=passage.title or "untitled",
            text=" ".join((text if text is not None else passage.text).split()),
        )

    def messages(
        self,
        question: str,
        passages: Sequence[Passage],
        today: date,
        excerpts: Mapping[str, str] | None = None,
    ) -> tuple[list[ChatMessage], list[Passage]]:
        """The chat messages, and the passages that fit the context window (source n = passages[n-1]);
        `excerpts` (by chunk id) stand in for whole passage texts."""
        system = load_prompt("answer_system", self.prompts_dir).render(
            today=today.isoformat(), refusal=self.refusal
        )
        user = load_prompt("answer_user", self.prompts_dir)
        budget = int((self.context_window - MAX_ANSWER_TOKENS) * CHARS_PER_TOKEN)
        budget -= len(system) + len(user.render(sources="", question=question))
        blocks: list[str] = []
        used: list[Passage] = []
        for n, passage in enumerate(passages, 1):
            block = self.source(n, passage, (excerpts or {}).get(passage.chunk_id))
            if len(block) > budget and not used and budget > 400:
                block = self.source(n, passage, passage.text[: budget - 200])  # one long source: cut it
            if len(block) + 2 > budget:
                break
            blocks.append(block)
            used.append(passage)
            budget -= len(block) + 2
        content = user.render(sources="\n\n".join(blocks), question=question)
        messages = [
            ChatMessage(role=MessageRole.SYSTEM, content=system),
            ChatMessage(role=MessageRole.USER, content=content),
        ]
        return messages, used


class LLMAnswerer:
    """Asks the LLM only when retrieval found evidence; checks its citations; falls back on failure."""

    def __init__(
        self,
        backend: LLMBackend,
        checker: CitationChecker,
        fallback: ExtractiveAnswerer,
        prompts: PromptBuilder,
        today: Callable[[], date] | None = None,
    ) -> None:
        self.backend = backend
        self.checker = checker
        self.fallback = fallback
        self.prompts = prompts
        self.today = today or (lambda: datetime.now(UTC).date())

    @property
    def label(self) -> str:
        """The backend spec, e.g. 'openai:gpt-4o-mini'."""
        return self.backend.spec.label

    def answer(
        self,
        question: str,
        passages: Sequence[Passage],
        as_of: datetime | None = None,
        hints: Hints | None = None,
    ) -> Answer:
        """A checked LLM answer (one request), an abstention without any request, or the fallback; the model
        is told the as-of day as today's date."""
        extractive = self.fallback.answer(question, passages, hints)
        *_, final = self.stream(question, passages, as_of, hints, extractive)  # streamed: llm_timeout
        return final  # bounds a stall between pieces, not the whole reply

    def stream(
        self,
        question: str,
        passages: Sequence[Passage],
        as_of: datetime | None = None,
        hints: Hints | None = None,
        extractive: Answer | None = None,
    ) -> Iterator[Answer]:
        """Partial answers as tokens arrive (partial=True), then the checked answer."""
        extractive = extractive or self.fallback.answer(question, passages, hints)
        if extractive.abstained:
            yield self._abstain(extractive)
            return
        today = as_of.date() if as_of else self.today()
        excerpts = self.excerpts(question, passages) if self.prompts.source_chars else None
        messages, sources = self.prompts.messages(question, passages, today, excerpts)
        text = ""
        try:
            for delta in self.backend.stream(messages):
                text += delta
                yield Answer(
                    question=question,
                    text=text,
                    citations=claimed_citations(text, sources),
                    passages=list(sources),
                    backend=self.label,
                    partial=True,
                )
        except BackendError as exc:
            yield self._fall_back(extractive, exc, interrupted=bool(text))
            return
        yield self._finish(question, text, sources, extractive)

    def excerpts(self, question: str, passages: Sequence[Passage]) -> dict[str, str]:
        """Each passage cut to its sentences that best answer the question, with their neighbours, in
        passage order, up to `source_chars`: a small model reads less and better (a few hundred tokens
        for five sources instead of ~1,500)."""
        best: dict[str, list[str]] = {}
        for s in self.fallback.score_sentences(question, passages):
            best.setdefault(s.passage.chunk_id, []).append(s.text)
        out: dict[str, str] = {}
        budget = self.prompts.source_chars
        for passage in passages:
            sentences = split_sentences(passage.text)
            keep: set[int] = set()
            for top in best.get(passage.chunk_id, [])[:EXCERPT_SENTENCES]:
                if top not in sentences:
                    continue
                at = sentences.index(top)
                for i in (at, at - 1, at + 1):  # the sentence first, then its neighbours, while they fit
                    if not 0 <= i < len(sentences):
                        continue
                    if not keep or len(" ".join(sentences[j] for j in keep | {i})) <= budget:
                        keep.add(i)
            pieces: list[str] = []
            last = -2
            for i in sorted(keep):
                pieces.append(("" if i == last + 1 or not pieces else "… ") + sentences[i])
                last = i
            out[passage.chunk_id] = (" ".join(pieces) or passage.text)[:budget]
        return out

    def _finish(self, question: str, text: str, sources: list[Passage], extractive: Answer) -> Answer:
        refusal = self.prompts.refusal
        if (
            not text.strip()
            or refusal.lower().rstrip(".") in strip_markers(text).lower()[: len(refusal) + 20]
        ):
            return Answer(question, refusal, abstained=True, passages=list(sources), backend=self.label)
        result = self.checker.check(text, sources)
        unsupported = [s for s in result.sentences if not s.supported]
        if not result.citations:
            note = f"The {self.label} answer could not be verified against the articles; extractive answer shown."
            return replace(extractive, notices=[*extractive.notices, note])
        notices = []
        changed = sum(1 for s in result.sentences if set(s.claimed) != set(s.cited) and s.supported)
        if changed:
            notices.append(
                f"{changed} sentence(s) had citations that did not hold; they were moved or dropped."
            )
        if unsupported:
            notices.append(
                f"{len(unsupported)} sentence(s) marked {UNSUPPORTED_MARK}: no retrieved article supports them."
            )
        checked = Answer(
            question=question,
            text=result.text,
            citations=result.citations,
            passages=list(sources),
            sentences=result.sentences,
            backend=self.label,
            notices=notices,
        )
        return by_article(checked)

    def _abstain(self, extractive: Answer) -> Answer:
        return replace(extractive, text=self.prompts.refusal, backend=self.label)

    def _fall_back(self, extractive: Answer, exc: BackendError, interrupted: bool = False) -> Answer:
        cut = " The answer stream broke off." if interrupted else ""
        note = f"{exc}{cut} Showing the extractive answer instead."
        return replace(extractive, notices=[*extractive.notices, note])


def claimed_citations(text: str, sources: Sequence[Passage]) -> list[Citation]:
    """Unchecked citations for the markers written so far (for streaming displays)."""
    numbers = sorted({n for n in marker_numbers(text) if 1 <= n <= len(sources)})
    return [Citation(n=n, passage=sources[n - 1], sentence="", verified=False) for n in numbers]
