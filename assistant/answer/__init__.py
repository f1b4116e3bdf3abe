"""Answers with numbered citations: the types, and the extractive (no-LLM) answerer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.retrieve import Passage

NOT_COVERED = "The indexed articles do not cover this question."
UNSUPPORTED_MARK = "[unsupported]"  # put in the answer text after a sentence no cited passage supports


@dataclass(frozen=True)
class Citation:
    """Marker [n] in the answer text: the passage it points to and the sentence that supports the claim."""

    n: int
    passage: Passage
    sentence: str
    verified: bool = True

    @property
    def score(self) -> float:
        """Retrieval score of the cited passage."""
        return self.passage.score


@dataclass(frozen=True)
class SentenceCheck:
    """One answer sentence after checking: the markers the model wrote, those kept, and whether supported."""

    text: str
    claimed: tuple[int, ...] = ()
    cited: tuple[int, ...] = ()
    supported: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return {
            "text": self.text,
            "claimed": list(self.claimed),
            "cited": list(self.cited),
            "supported": self.supported,
        }


@dataclass(frozen=True)
class Answer:
    """The answer text with [n] markers, its citations, and whether it abstained."""

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    notices: list[str] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    sentences: list[SentenceCheck] = field(default_factory=list)  # filled when citations were checked
    backend: str = "extractive"  # "extractive" or the LLM spec, e.g. "ollama:llama3.1"
    partial: bool = False  # a streaming snapshot: citations not yet checked
    standalone_question: str | None = None  # a chat follow-up as rewritten for retrieval

    @property
    def unsupported(self) -> list[SentenceCheck]:
        """Sentences that no cited passage supports."""
        return [s for s in self.sentences if not s.supported]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `newsqa ask --json` and the UI's API."""
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "notices": list(self.notices),
            "citations": [
                {
                    "n": c.n,
                    "article_id": c.passage.article_id,
                    "title": c.passage.title,
                    "source": c.passage.source,
                    "published_at": c.passage.published_at,
                    "url": c.passage.url,
                    "snippet": c.passage.text,
                    "sentence": c.sentence,
                    "score": round(c.score, 4),
                    "verified": c.verified,
                    "chunk_id": c.passage.chunk_id,
                    "also_reported_by": list(c.passage.also_reported_by),
                }
                for c in self.citations
            ],
            "backend": self.backend,
            "partial": self.partial,
            "standalone_question": self.standalone_question,
            "sentences": [s.to_dict() for s in self.sentences],
        }


def passage_dict(passage: Passage) -> dict[str, Any]:
    """A passage as plain JSON-able data (without the packed sentence vectors)."""
    data = asdict(passage)
    data.pop("sentence_blob", None)
    return data
