"""The types every stage passes along: Article, Passage, Filters, Citation, Answer and the reports.

This module imports nothing else from newsqa (tests/test_layout.py checks), so any room can use it and
importing an `Answer` loads no model, store or web library.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

NOT_COVERED = "The indexed articles do not cover this question."
UNSUPPORTED_MARK = "[unsupported]"  # put in the answer text after a sentence no cited passage supports
UNKNOWN_OUTLET = "unknown outlet"  # shown (and counted in stats) for an article that names no outlet
UNDATED = "undated"
EVIDENCE_THRESHOLD = 0.5  # Passage.evidence at or above: retrieval judged the question covered

_TRACKING_PARAMS = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|cmpid|ncid|ocid)$", re.I)
_SPACE = re.compile(r"\s+")


def iso(dt: datetime | None) -> str | None:
    """ISO-8601 text of a UTC datetime (how dates are stored), or None when undated."""
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z") if dt else None


def day(value: datetime | str | None, long: bool = False) -> str:
    """A date as shown to people: YYYY-MM-DD, or with `long` '12 Sep 2023' (of a datetime or a stored ISO
    string), or 'undated'."""
    if isinstance(value, str):
        text = value
        if not long:
            return text[:10] or UNDATED
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text[:10] or UNDATED
    if value is None:
        return UNDATED
    return f"{value.day} {value:%b %Y}" if long else value.strftime("%Y-%m-%d")


def outlet_name(source: str | None) -> str:
    """The outlet as shown to people ('unknown outlet' when none was given)."""
    return source or UNKNOWN_OUTLET


def canonical_url(url: str | None) -> str | None:
    """Normalise a url so that the same article always gets the same id."""
    if not url or not url.strip():
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in {"http", "https"}:
        return url.strip()
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if not _TRACKING_PARAMS.match(k)])
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https", parts.netloc.lower().removeprefix("www."), path, query, ""))


def article_id(url: str | None, title: str, body: str) -> str:
    """Stable id: from the canonical url, else from title and body (whitespace-insensitive)."""
    canon = canonical_url(url)
    key = f"url:{canon}" if canon else "text:" + _SPACE.sub(" ", f"{title}\n{body}").strip().lower()
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Article:
    """One news article as read from a source, before chunking."""

    title: str
    body: str
    published_at: datetime | None = None
    source: str | None = None
    url: str | None = None
    author: str | None = None
    category: str | None = None
    origin: str = ""  # where it was read from (file path, url), for messages
    partial: bool = False  # only a summary could be had (e.g. a feed entry whose page failed)
    id: str = field(default="")

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", article_id(self.url, self.title, self.body))

    @property
    def content_hash(self) -> str:
        """Hash of everything that ends up in the index; a change means the article was updated."""
        parts = [self.title, self.body, iso(self.published_at) or "", self.source or "", self.url or ""]
        parts += [self.author or "", self.category or "", str(self.partial)]
        return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]

    def with_changes(self, **changes: object) -> Article:
        """A copy with some fields changed; the id is recomputed unless given."""
        changes.setdefault("id", "")
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk with its article's fields, its score and its rank (1-based)."""

    chunk_id: str
    article_id: str
    title: str
    text: str
    source: str | None = None
    published_at: str | None = None
    url: str | None = None
    author: str | None = None
    category: str | None = None
    score: float = 0.0
    rank: int = 0
    story_id: str | None = None  # wire copies of one story share it (store/stories.py)
    also_reported_by: tuple[str, ...] = ()  # the other outlets that carried this story
    evidence: float = 1.0  # 0..1: retrieval judges the question covered (same on all; 1 = not judged)
    sentence_blob: str | None = field(default=None, repr=False, compare=False)  # store/sentences.py

    @property
    def outlet(self) -> str:
        """The outlet as shown to people."""
        return outlet_name(self.source)

    @property
    def day(self) -> str:
        """The publication day as shown to people (YYYY-MM-DD or 'undated')."""
        return day(self.published_at)


def evidence_found(passages: Sequence[Passage], threshold: float = EVIDENCE_THRESHOLD) -> bool:
    """Whether retrieval judged that the passages hold evidence for the question."""
    return bool(passages) and passages[0].evidence >= threshold


@dataclass(frozen=True)
class Filters:
    """Restrictions a user puts on retrieval."""

    since: datetime | None = None
    until: datetime | None = None
    sources: tuple[str, ...] = field(default_factory=tuple)
    as_of: datetime | None = None  # the moment the question is asked (None: now); later articles unused

    @property
    def active(self) -> bool:
        """Whether any restriction is set (else the whole index, as of now)."""
        return bool(self.since or self.until or self.sources or self.as_of)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data: ISO dates (or None) and the outlets as a list."""
        return {
            "since": iso(self.since),
            "until": iso(self.until),
            "sources": list(self.sources),
            "as_of": iso(self.as_of),
        }


@dataclass(frozen=True)
class Citation:
    """Marker [n] in the answer text: the passage it points to and the sentence that supports the claim."""

    n: int
    passage: Passage
    sentence: str
    verified: bool = True
    more: tuple[tuple[Passage, str], ...] = ()  # other cited passages (and sentences) of the same article

    @property
    def score(self) -> float:
        """Retrieval score of the cited passage."""
        return self.passage.score

    @property
    def cited(self) -> list[tuple[Passage, list[str]]]:
        """Each cited passage of the article once, with the sentences cited from it, in citation order."""
        grouped: dict[str, tuple[Passage, list[str]]] = {}
        for passage, sentence in ((self.passage, self.sentence), *self.more):
            _, sentences = grouped.setdefault(passage.chunk_id, (passage, []))
            if sentence and sentence not in sentences:
                sentences.append(sentence)
        return list(grouped.values())


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
    filters: Filters | None = None  # the filters the question ran with (None: not recorded)

    @property
    def citation_days(self) -> dict[int, str]:
        """Each citation's article day ('12 Sep 2023') when the answer cites articles of different days
        (shown next to its [n], so a reader sees how fresh each fact is); {} when all share one."""
        days = {c.n: day(c.passage.published_at, long=True) for c in self.citations}
        return days if len(set(days.values())) > 1 else {}

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
                    "passages": [
                        {
                            "chunk_id": p.chunk_id,
                            "snippet": p.text,
                            "sentences": sentences,
                            "score": round(p.score, 4),
                        }
                        for p, sentences in c.cited
                    ],
                }
                for c in self.citations
            ],
            "backend": self.backend,
            "partial": self.partial,
            "standalone_question": self.standalone_question,
            "filters": self.filters.to_dict() if self.filters is not None else None,
            "sentences": [s.to_dict() for s in self.sentences],
        }


class Failure(Protocol):
    """Something that could not be read, and why (errors.InputError is one)."""

    origin: str
    reason: str


ReadResult = Article | Failure  # what reading a source yields, one per article or per failure
ProgressFn = Callable[[int, int], None]  # (articles done, chunks written) since the last call


@dataclass(frozen=True)
class Turn:
    """One earlier exchange: the user's question, the answer text, and what retrieval used."""

    question: str
    answer: str = ""
    standalone: str | None = None
    filters: Filters | None = None

    @classmethod
    def of(cls, answer: Answer, filters: Filters | None = None) -> Turn:
        """A turn from an Answer the assistant gave."""
        return cls(answer.question, answer.text, answer.standalone_question, filters)


@dataclass
class IngestReport:
    """What an ingest did: counts per outcome and each failure with its origin and reason."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: list[Failure] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0
    no_outlet: list[str] = field(default_factory=list)  # titles of written articles that name no outlet
    undated: list[str] = field(default_factory=list)  # ... and of those without a publication date

    def warnings(self) -> list[str]:
        """What a reader of the answers will miss about the articles just written."""
        out = []
        for titles, what in ((self.no_outlet, "no outlet"), (self.undated, "no date")):
            if titles:
                shown = "; ".join(titles[:3]) + (f" and {len(titles) - 3} more" if len(titles) > 3 else "")
                out.append(
                    f"{len(titles)} article(s) have {what} ({shown}): answers cannot say "
                    f"{'who reported them' if what == 'no outlet' else 'when'}. Add a "
                    f"{'Source' if what == 'no outlet' else 'Date'}: line (or field) and add them again."
                )
        return out

    def summary(self) -> str:
        """One line for people."""
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.failed)} failed ({self.chunks} chunks in {self.seconds:.1f}s)"
        )


@dataclass(frozen=True)
class IndexStats:
    """What the index holds."""

    articles: int
    chunks: int
    outlets: dict[str, int]
    earliest: str | None
    latest: str | None
    undated: int
    size_bytes: int | None
    location: str
