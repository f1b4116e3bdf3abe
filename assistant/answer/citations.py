"""Citation checking after generation: each sentence's [n] markers are tested against the cited passages."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from assistant.embedding import Embedder
from assistant.text import STOP_WORDS, content_terms, split_sentences, words
from assistant.types import UNSUPPORTED_MARK, Citation, Passage, SentenceCheck

STRONG_SIMILARITY = 0.72  # cosine (MiniLM) above which a sentence counts as a paraphrase of a passage span
MIN_TERM_COVERAGE = 0.5  # share of the sentence's key terms that must appear in the passage
MIN_CONTRIBUTION = 0.5  # a second cited passage is kept when it holds this share of the sentence's facts
MIN_SHARED_FACTS = 0.2  # a passage holding more than this share of the facts counts as a contributor

_MARKER = re.compile(r"\[\s*(?:sources?\s*)?(\d+(?:\s*[,;]\s*(?:sources?\s*)?\d+)*)\s*\]", re.IGNORECASE)
_MARKER_RUN = r"(?:\s*\[\s*(?:sources?\s*)?\d+(?:\s*[,;]\s*(?:sources?\s*)?\d+)*\s*\])+"
_AFTER_PUNCT = re.compile(r"([.!?])(" + _MARKER_RUN + ")", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_HYPHENATED = re.compile(r"\w+(?:-\w+)+")
_NAME = re.compile(r"\b(?:[A-Z][\w’'-]*[a-z0-9][\w’'-]*|[A-Z]{2,}s?)\b")
_NUMBER_WORDS = {
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "fifteen": "15", "twenty": "20",
    "thirty": "30", "forty": "40", "fifty": "50", "hundred": "100", "thousand": "1000",
}  # fmt: skip
_META_TERMS = content_terms("source sources article articles according here answer question")
_REFUSAL_HINTS = (
    "do not cover",
    "does not cover",
    "no information",
    "do not say",
    "does not say",
    "not mention",
    "none of the indexed articles",
    "none of the retrieved articles",
)


@dataclass(frozen=True)
class Facts:
    """What a sentence claims: its numbers, its names and its other key terms (stemmed)."""

    numbers: frozenset[str]
    names: frozenset[str]
    terms: frozenset[str]
    lead: str | None = None  # the capitalised first word: a name when the source capitalises it too
    lead_term: str | None = None  # its stem, checked as a term otherwise

    @property
    def size(self) -> int:
        """How many items there are to find."""
        return len(self.numbers) + len(self.names) + len(self.terms) + (1 if self.lead else 0)

    @property
    def checkable(self) -> bool:
        """Whether the sentence states anything a source would have to say."""
        return bool(self.numbers or self.names or (self.lead and self.terms)) or len(self.terms) >= 3


@dataclass(frozen=True)
class Evidence:
    """What a passage (or several together) contains, in the shape facts are compared with."""

    numbers: frozenset[str]
    words: frozenset[str]
    names: frozenset[str]
    terms: frozenset[str]

    @classmethod
    def of(cls, text: str, header: str = "") -> Evidence:
        """Index a passage's text (and its title/outlet header, for names only) for fact look-ups."""
        both = f"{header}\n{text}"
        return cls(
            numbers_in(text),
            # hyphenated words whole too: a name like "Bankman-Fried" is one fact of a sentence
            frozenset(_name_key(w) for w in [*words(both), *_HYPHENATED.findall(both)]),
            frozenset(_name_key(m.group(0)) for m in _NAME.finditer(both)),
            frozenset(content_terms(text)),
        )

    def __or__(self, other: Evidence) -> Evidence:
        return Evidence(
            self.numbers | other.numbers,
            self.words | other.words,
            self.names | other.names,
            self.terms | other.terms,
        )

    def _terms(self, facts: Facts) -> set[str]:
        terms = set(facts.terms)
        if facts.lead and facts.lead_term and facts.lead not in self.names:
            terms.add(facts.lead_term)
        return terms

    def coverage(self, facts: Facts) -> float:
        """Share of the sentence's facts found here."""
        lead = 1 if facts.lead and facts.lead in self.names else 0
        found = (
            len(facts.numbers & self.numbers) + len(facts.names & self.words) + len(facts.terms & self.terms)
        )
        found += lead or (1 if facts.lead_term in self.terms else 0)
        return found / facts.size if facts.size else 0.0

    def lexical(self, facts: Facts) -> tuple[bool, float]:
        """(every number and name is found, share of the other key terms found)."""
        exact = facts.numbers <= self.numbers and facts.names <= self.words
        terms = self._terms(facts)
        return exact, len(terms & self.terms) / len(terms) if terms else 1.0


@dataclass
class CheckResult:
    """The checked answer: rewritten text, the citations kept (all verified) and each sentence's outcome."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    sentences: list[SentenceCheck] = field(default_factory=list)


def numbers_in(text: str) -> frozenset[str]:
    """Numbers in a text, normalised ("1,000" -> "1000"; "three" -> "3")."""
    found = {m.group(0).replace(",", "").rstrip(".") for m in _NUMBER.finditer(text)}
    found |= {_NUMBER_WORDS[w] for w in words(text) if w in _NUMBER_WORDS}
    return frozenset(found)


def _name_key(word: str) -> str:
    return word.lower().replace("’", "'").removesuffix("'s")


def facts_of(sentence: str) -> Facts:
    """The facts a sentence states."""
    names = set()
    lead = None
    for match in _NAME.finditer(sentence):
        token = _name_key(match.group(0))
        if token in STOP_WORDS:
            continue
        if match.start() == 0 or sentence[: match.start()].rstrip().endswith((":", '"', "“")):
            lead = lead or token  # a capital at the start says nothing by itself
            continue
        names.add(token)
    numbers = numbers_in(sentence)
    skip = content_terms(" ".join([*names, *numbers, lead or ""])) | _META_TERMS | set(_NUMBER_WORDS)
    terms = frozenset(t for t in content_terms(sentence) - skip if not t[0].isdigit())
    lead_terms = content_terms(lead or "")
    return Facts(numbers, frozenset(names), terms, lead, next(iter(lead_terms), None))


def marker_numbers(text: str) -> list[int]:
    """The citation numbers in a text, in order ("[1][3]", "[1, 3]" and "[Source 2]" all count)."""
    return [int(n) for group in _MARKER.findall(text) for n in re.findall(r"\d+", group)]


def strip_markers(text: str) -> str:
    """The text without [n] markers."""
    return re.sub(r"\s+([.,;:!?])", r"\1", " ".join(_MARKER.sub(" ", text).split()))


def normalize_markers(text: str) -> str:
    """Move markers written after the full stop ("claim.[1]" / "claim. [1]") in front of it."""
    return _AFTER_PUNCT.sub(lambda m: " " + _render(marker_numbers(m.group(2))) + m.group(1), text)


def _render(numbers: Sequence[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def is_refusal(sentence: str, refusal: str) -> bool:
    """Whether a sentence says the sources do not answer (nothing to cite)."""
    low = strip_markers(sentence).lower()
    return refusal.lower().rstrip(".") in low or any(h in low for h in _REFUSAL_HINTS)


class CitationChecker:
    """Tests each cited claim against its passage; drops, moves or marks citations that do not hold."""

    def __init__(self, embedder: Embedder, refusal: str = "") -> None:
        self.embedder = embedder
        self.refusal = refusal

    def check(self, text: str, sources: Sequence[Passage]) -> CheckResult:
        """Check `text` whose [n] markers point at sources[n-1]; return the corrected text and citations."""
        run = _Run(self.embedder, sources)
        out_lines: list[str] = []
        checks: list[SentenceCheck] = []
        supporting: dict[int, str] = {}
        for line in normalize_markers(text.strip()).split("\n"):  # lines kept: paragraphs and bullet lists
            out: list[str] = []
            for raw in split_sentences(line[len(_indent(line)) :]):
                plain = strip_markers(raw)
                if not re.sub(r"(?i)^(sources?|references?)\b", "", plain).strip(" .,;:-*"):
                    continue  # only markers, or a "Sources: [1], [2]" line
                claimed = tuple(dict.fromkeys(marker_numbers(raw)))
                check = self._check_sentence(plain, claimed, run)
                checks.append(check)
                for n in check.cited:
                    supporting.setdefault(n, run.best_span(plain, n - 1))
                out.append(_rebuild(plain, check))
            if out or not line.strip():
                out_lines.append(_indent(line) + " ".join(out))
        citations = [
            Citation(n=n, passage=sources[n - 1], sentence=supporting[n], verified=True)
            for n in sorted(supporting)
        ]
        return CheckResult(re.sub(r"\n{3,}", "\n\n", "\n".join(out_lines)).strip(), citations, checks)

    def _check_sentence(self, plain: str, claimed: tuple[int, ...], run: _Run) -> SentenceCheck:
        facts = facts_of(plain)
        valid = [n for n in claimed if 1 <= n <= len(run.sources)]
        if not facts.checkable or plain.endswith(":") or is_refusal(plain, self.refusal):
            kept = tuple(n for n in valid if run.supports(plain, facts, n - 1))
            return SentenceCheck(plain, claimed, kept, supported=True)
        full = [n for n in valid if run.supports(plain, facts, n - 1)]
        if full:
            extra = [n for n in valid if n not in full and run.contributes(facts, n - 1)]
            return SentenceCheck(plain, claimed, tuple(sorted(full + extra, key=valid.index)), True)
        contributors = [n for n in valid if run.evidence[n - 1].coverage(facts) > MIN_SHARED_FACTS]
        if len(contributors) > 1:
            joint = run.evidence[contributors[0] - 1]
            for n in contributors[1:]:
                joint = joint | run.evidence[n - 1]
            exact, terms = joint.lexical(facts)
            if exact and terms >= MIN_TERM_COVERAGE:
                return SentenceCheck(plain, claimed, tuple(contributors), True)
        order = sorted(range(len(run.sources)), key=lambda i: run.evidence[i].coverage(facts), reverse=True)
        for i in order:
            if i + 1 not in valid and run.supports(plain, facts, i):
                return SentenceCheck(plain, claimed, (i + 1,), True)
        return SentenceCheck(plain, claimed, (), supported=False)


class _Run:
    """One check's sources, their indexed evidence and (lazily) their embedded sentence spans."""

    def __init__(self, embedder: Embedder, sources: Sequence[Passage]) -> None:
        self.embedder = embedder
        self.sources = sources
        self.evidence = [Evidence.of(p.text, f"{p.title}\n{p.source or ''}") for p in sources]
        self._spans: dict[int, np.ndarray] = {}

    def contributes(self, facts: Facts, i: int) -> bool:
        """Whether source i, cited beside one that supports the sentence, holds its names, numbers and much else."""
        return self.evidence[i].lexical(facts)[0] and self.evidence[i].coverage(facts) >= MIN_CONTRIBUTION

    def supports(self, plain: str, facts: Facts, i: int) -> bool:
        """Whether source i states the sentence: all numbers and names, and its terms or its meaning."""
        exact, terms = self.evidence[i].lexical(facts)
        if not exact:
            return False
        return terms >= MIN_TERM_COVERAGE or self.similarity(plain, i) >= STRONG_SIMILARITY

    def similarity(self, plain: str, i: int) -> float:
        """Best cosine between the sentence and a sentence (or two adjacent ones) of source i."""
        if i not in self._spans:
            sentences = split_sentences(self.sources[i].text) or [self.sources[i].text]
            spans = sentences + [f"{a} {b}" for a, b in pairwise(sentences)]
            self._spans[i] = self.embedder.embed(spans)
        return float(np.max(self._spans[i] @ self.embedder.embed_one(plain)))

    def best_span(self, plain: str, i: int) -> str:
        """The sentence of source i that holds most of the sentence's facts."""
        sentences = split_sentences(self.sources[i].text) or [self.sources[i].text]
        facts = facts_of(plain)
        return max(sentences, key=lambda s: Evidence.of(s).coverage(facts))


def _indent(line: str) -> str:
    """A list item's leading bullet ("- ", "* ", "1. ") to keep in front of the checked sentences."""
    match = re.match(r"\s*(?:[-*•]|\d+[.)])\s+", line)
    return match.group(0) if match else ""


def _rebuild(plain: str, check: SentenceCheck) -> str:
    body, end = (plain[:-1], plain[-1]) if plain[-1] in ".!?" else (plain, "")
    if check.cited:
        return f"{body} {_render(check.cited)}{end}"
    if not check.supported:
        return f"{body} {UNSUPPORTED_MARK}{end}"
    return plain
