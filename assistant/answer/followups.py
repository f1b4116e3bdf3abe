"""Follow-up questions: rewrite a chat turn into a standalone question (LLM condense, or carry entities)."""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole

from assistant.answer.backends import LLMBackend
from assistant.answer.citations import strip_markers
from assistant.answer.prompts import load_prompt
from assistant.errors import BackendError
from assistant.retrieval.when import WINDOW
from assistant.text import STOP_WORDS, words
from assistant.types import Answer, Filters, Turn

HISTORY_TURNS = 4  # how many earlier turns the condense prompt sees
_PRONOUNS = frozenset(
    [
        "he",
        "she",
        "him",
        "her",
        "his",
        "hers",
        "they",
        "them",
        "their",
        "theirs",
        "it",
        "its",
        "that",
        "this",
        "those",
        "these",
        "there",
    ]
)
_FOLLOW_UP_STARTS = ("and ", "but ", "so ", "also", "then ", "what about", "how about", "what else", "why ")
_STARTERS = frozenset(
    [
        "tell",
        "show",
        "give",
        "list",
        "explain",
        "describe",
        "summarize",
        "summarise",
        "compare",
        "please",
        "name",
        "find",
    ]
)
_TAG = re.compile(r"<[^>]*>")
_CALENDAR = {n.lower() for n in (*calendar.month_name, *calendar.month_abbr, *calendar.day_name) if n}
_NAME_RUN = re.compile(r"[A-Z][\w’'.-]*(?:\s+(?:of\s+|de\s+|the\s+)?[A-Z][\w’'.-]*)*|\b\d{4}\b")


def turns_from_messages(messages: Sequence[Mapping[str, Any]]) -> list[Turn]:
    """Turns from chat messages ({'role': 'user'|'assistant', 'content': ...}, e.g. Gradio's history)."""
    turns: list[Turn] = []
    pending: str | None = None
    for message in messages:
        role, content = message.get("role"), message.get("content")
        if not isinstance(content, str):
            continue
        if role == "user":
            if pending is not None:
                turns.append(Turn(pending))
            pending = content
        elif role == "assistant" and pending is not None:
            turns.append(Turn(pending, content))
            pending = None
    if pending is not None:
        turns.append(Turn(pending))
    return turns


@dataclass(frozen=True)
class Rewrite:
    """The standalone question and filters to retrieve with, and how they were obtained."""

    question: str
    original: str
    filters: Filters | None
    method: str  # "none" (already standalone), "entities" or "llm"
    notice: str | None = None

    def apply(self, answer: Answer) -> Answer:
        """The answer re-labelled with the user's own question and the rewrite used for retrieval."""
        notices = [self.notice, *answer.notices] if self.notice else answer.notices
        standalone = self.question if self.question != self.original else None
        return replace(answer, question=self.original, standalone_question=standalone, notices=list(notices))


def named_entities(text: str) -> list[str]:
    """Names (capitalised runs, years) in a question, without question words at its start."""
    found: list[str] = []
    for match in _NAME_RUN.finditer(text):
        name = match.group(0).rstrip(".")
        first = name.split()[0].lower()
        if first in STOP_WORDS or first in _STARTERS:
            rest = name.split(maxsplit=1)
            if len(rest) < 2:
                continue
            name = rest[1]
        if name.lower() not in STOP_WORDS and name not in found:
            found.append(name)
    return found


def is_follow_up(question: str) -> bool:
    """Whether a question leans on an earlier turn: it opens like one ('and in Europe?', 'what about ...',
    'why?'), or uses a pronoun or 'that/there' with no name in the question itself to refer to, or is too
    short to stand alone. Markup is not a question ('<img src=x ...>' carries nothing)."""
    text = _TAG.sub(" ", question).strip()
    low = text.lower()
    tokens = words(low)
    if not tokens:
        return False
    if low.startswith(_FOLLOW_UP_STARTS):
        return True
    names = named_entities(text)
    return not names and (bool(_PRONOUNS & set(tokens)) or len(tokens) <= 6)


def _time_kind(entity: str) -> str:
    """'year' for '2023', 'calendar' for 'September' or 'Monday', '' for any other name."""
    return "year" if entity.isdigit() else "calendar" if entity.lower() in _CALENDAR else ""


def carry_entities(question: str, previous: str) -> str:
    """The question with the previous question's names it lacks appended; not a year or a month when the
    question names its own ('what about October?' keeps the year, 'what happened this week?' takes none)."""
    names = named_entities(question)
    own = {e.lower() for e in names}
    kinds = {"year", "calendar"} if WINDOW.search(question) else {_time_kind(e) for e in names} - {""}
    text = question.lower()
    carried = [
        e
        for e in named_entities(previous)
        if e.lower() not in own and e.lower() not in text and _time_kind(e) not in kinds
    ]
    if not carried:
        return question
    return f"{question.strip()} ({', '.join(carried)})"


class FollowUps:
    """Rewrites chat turns into standalone questions; uses the LLM's condense prompt when one is configured."""

    def __init__(self, backend: LLMBackend | None, prompts_dir: Path) -> None:
        self.backend = backend
        self.prompts_dir = prompts_dir

    def rewrite(self, question: str, history: Sequence[Turn], filters: Filters | None = None) -> Rewrite:
        """The standalone form of `question` given the earlier turns (oldest first)."""
        if not history:
            return Rewrite(question, question, filters, "none")
        previous = history[-1]
        if not is_follow_up(question):  # nothing from earlier turns is carried, filters included
            return Rewrite(question, question, filters, "none")
        notice = None  # filters are always what the user sent now: a cleared filter is off
        if self.backend is not None:
            try:
                return Rewrite(self._condense(question, history), question, filters, "llm")
            except BackendError as exc:
                notice = f"{exc} The follow-up was completed from the previous question instead."
        standalone = carry_entities(question, previous.standalone or previous.question)
        return Rewrite(standalone, question, filters, "entities", notice)

    def _condense(self, question: str, history: Sequence[Turn]) -> str:
        assert self.backend is not None
        lines = []
        for turn in history[-HISTORY_TURNS:]:
            lines.append(f"User: {turn.question}")
            if turn.answer:
                lines.append(f"Assistant: {strip_markers(turn.answer)}")
        prompt = load_prompt("condense", self.prompts_dir).render(history="\n".join(lines), question=question)
        reply = self.backend.chat([ChatMessage(role=MessageRole.USER, content=prompt)])
        lines = [ln.strip() for ln in reply.strip().splitlines() if ln.strip()]
        standalone = lines[0].strip("\"'“”") if lines else ""
        standalone = re.sub(r"^(standalone question|question)\s*:\s*", "", standalone, flags=re.I)
        if not standalone or len(standalone) > 4 * len(question) + 300:
            raise BackendError(
                f"LLM backend {self.backend.spec.describe} gave no usable standalone question."
            )
        return standalone
