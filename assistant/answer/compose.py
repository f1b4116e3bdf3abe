"""Shaping the extractive answer so it reads as one: referents kept, one statement per side, dated digests.

The scorer (extractive.py) ranks sentences; this module decides which to show and in what order:
- `resolve`: a sentence that opens with "They", "Her remarks" or "The company" brings the sentence before it
  in its passage (verbatim, so nothing is invented), or is skipped when it has none;
- `per_side`: a question naming several outlets (or comparing named people or companies) gets the best
  statement for each, in the question's order, and says which the index does not cover;
- `digest`: "what happened between 1 Oct and 15 Nov?" gets one dated line per story, in date order.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.dates import parse_date
from assistant.retrieval.hints import Hints
from assistant.retrieval.support import without_dates
from assistant.retrieval.when import WINDOW, Period
from assistant.text import content_terms, split_sentences
from assistant.types import Passage, day

HEADING_WORDS = 12  # a line this short that does not end as a sentence ends is a heading or caption
CAPITALS_SHARE = 0.8  # a line with this share of its letters in capitals is a headline
_CREDIT = re.compile(
    r"(?:/|\bvia\s+|\()\s*(?:Getty Images|Reuters|AFP)\b|AP Photo|Photograph(?:er)?:|\(Photo by|Image credit|"
    r"Photo credit|"
    r"\bin this (?:courtroom sketch|photo|file photo|handout photo|picture|image|illustration)\b",
    re.I,
)
_LABEL = re.compile(  # a link's label: 'MORE:', 'READ MORE:', 'WATCH:', 'RELATED:'
    r"(?:READ |SEE |WATCH |ALSO )?(?:MORE|ALSO|RELATED|WATCH|LISTEN|VIDEO|PHOTOS?|READ)\b[^:]{0,20}:"
)
_LEAD_IN = r"(?:(?:But|And|However|Still|Yet|Meanwhile|Also|Instead|Now|Then|Later|So),?\s+)?"
_TIME_WORDS = (
    r"year|week|month|morning|afternoon|evening|weekend|season|time|summer|fall|autumn|winter|spring"
)
_REFERRING = re.compile(
    _LEAD_IN + r"(?:(?:He|She|It|They|His|Her|Its|Their|Them|This|That|These|Those|Such)\b"
    rf"(?!\s+(?:{_TIME_WORDS})\b)"  # "This year, ..." refers to nothing
    r"|The\s+(?:company|companies|firm|group|minister|report|president|agency|bank|team|study|move|deal|"
    r"decision|statement|official|officials|spokesperson|spokesman|spokeswoman|executive|court|judge|"
    r"lawsuit|complaint|organization|organisation|startup|platform|service|plan|proposal|bill|law|country|"
    r"government|club|player|coach|league|app|device|product|update|network|outlet|paper|case|trial|"
    r"former|latter|two|three|pair|couple|star|singer|actor|actress|prince|king|queen|chief|leader)\b)",
    re.IGNORECASE,  # "But it ...", "And they ..."
)
_COMPARE = re.compile(
    r"\b(?:compar\w*|both|versus|vs\.?|differ\w*|same|consistent\w*|agree\w*|while|whereas)\b", re.I
)
_DIGEST = re.compile(
    r"\bwhat\b[^?]{0,40}?\b(?:happened|news|stories|headlines|developments|was reported|were reported)\b"
    r"|\bwhat\s+did\s+.{1,60}?\s+(?:report|write|publish|cover)\b"
    r"|\b(?:news|stories|headlines|developments)\s+(?:about|on|in|from)\b",
    re.I,
)
MAX_ANTECEDENTS = 2  # sentences brought in front of a referring one


@dataclass(frozen=True)
class Pick:
    """A chosen sentence of a passage, and the sentences before it that it needs (its referents)."""

    sentence: str
    passage: Passage
    context: tuple[str, ...] = ()
    label: str = ""  # a digest line's "12 Oct 2023, TechCrunch:" or a side's name


def refers_back(sentence: str) -> bool:
    """Whether a sentence opens with a reference to something named before it ("They", "The company")."""
    return bool(_REFERRING.match(sentence.strip()))


def resolve(sentence: str, passage: Passage, shown: Sequence[str]) -> tuple[str, ...] | None:
    """The sentences of its passage a referring sentence needs in front of it (() when it needs none;
    None when its referent is not in the passage: skip it)."""
    if not refers_back(sentence):
        return ()
    sentences = split_sentences(passage.text)
    try:
        at = sentences.index(sentence)
    except ValueError:
        return None
    context: list[str] = []
    for before in reversed(sentences[max(0, at - MAX_ANTECEDENTS) : at]):
        if before in shown:  # the referent is already in the answer, right before
            return tuple(context)
        context.insert(0, before)
        if not refers_back(before):
            return tuple(context)
    return None


def unresolved(text: str, sources: Sequence[Passage]) -> tuple[int, int]:
    """(sentences of an answer that open with a reference nothing before them resolves, all sentences):
    a referring sentence is resolved when the answer's sentence before it is the one before it in a
    source passage."""
    plain = split_sentences(re.sub(r"\s*\[[^\]]*\]", "", text))
    orders = [split_sentences(p.text) for p in sources]
    bad = 0
    for i, sentence in enumerate(plain):
        if not refers_back(sentence):
            continue
        before = plain[i - 1] if i else None
        if not any(
            before is not None
            and sentence in order
            and order.index(sentence) > 0
            and order[order.index(sentence) - 1] == before
            for order in orders
        ):
            bad += 1
    return bad, len(plain)


@dataclass(frozen=True)
class Side:
    """One side a question asks about: an outlet it names (its outlets) or a named person or company."""

    label: str
    outlets: frozenset[str] = frozenset()

    def speaks_for(self, passage: Passage, sentence: str) -> bool:
        """Whether a sentence of a passage speaks for this side."""
        if self.outlets:
            return passage.source in self.outlets
        return self.label.lower() in sentence.lower()

    @property
    def uncovered(self) -> str:
        """What the answer says when no article speaks for this side."""
        if self.outlets:
            return f"None of the indexed articles from {self.label} covers this."
        return f"None of the retrieved articles mentions {self.label}."


def sides(question: str, hints: Hints | None, names: Sequence[str]) -> list[Side]:
    """The sides a question asks about, in its order: each outlet it names, or (when it compares) each
    named person or company; [] when it names fewer than two."""
    found: list[tuple[int, Side]] = []
    if hints is not None:
        for part in hints.parts:
            if part.outlets:
                at = question.find(part.text[:20]) if part.text else len(found)
                found.append((at, Side(min(part.outlets, key=len), frozenset(part.outlets))))
    if len({side.label for _, side in found}) < 2 and len(names) >= 2 and _COMPARE.search(question):
        found = [(question.find(name), Side(name)) for name in names]
    unique: dict[str, tuple[int, Side]] = {}
    for at, side in found:
        unique.setdefault(side.label, (at, side))
    return [side for _, side in sorted(unique.values(), key=lambda item: item[0])] if len(unique) >= 2 else []


def wants_digest(question: str, hints: Hints | None) -> bool:
    """A period question ("What happened in AI between 1 Oct and 15 Nov?", "... this month?")."""
    has_period = hints is not None and bool(hints.periods or hints.window)
    return has_period and bool(_DIGEST.search(question))


def digest_label(passage: Passage) -> str:
    """A digest line's opening: '12 Oct 2023, TechCrunch:'."""
    return f"{day(passage.published_at, long=True)}, {passage.outlet}:"


def digest_span(hints: Hints | None) -> Period | None:
    """The stretch a period question covers: from its first named date to its last ("between 1 Oct and
    15 Nov" names two days), or its relative window ("this month")."""
    periods = [*(hints.periods if hints else ()), *((hints.window,) if hints and hints.window else ())]
    if not periods:
        return None
    return Period(min(p.start for p in periods), max(p.end for p in periods))


def in_span(passage: Passage, span: Period | None) -> bool:
    """Whether a passage was published inside the span (an undated one never is)."""
    when = parse_date(passage.published_at) if passage.published_at else None
    return span is not None and when is not None and span.start <= when <= span.end


def in_period(hints: Hints | None) -> Callable[[Passage], bool]:
    """A test of whether a passage was published inside the question's span (`digest_span`)."""
    span = digest_span(hints)
    return lambda passage: in_span(passage, span)


def states_something(sentence: str) -> bool:
    """Whether a sentence can be quoted as a statement: not a question (it states nothing), not a line
    ending in a colon (it leads to what is not quoted) or cut off ('…'), not a heading or caption (a short
    line without a full stop, a photo's caption), not a line in capitals or behind a link's label (another
    story's headline set into the text)."""
    plain = sentence.rstrip(" \"'’”)]")
    if plain.endswith(("…", "...")) or _LABEL.match(sentence) or _CREDIT.search(sentence):
        return False  # cut off; 'MORE: ...'; a photo's caption ('... Photograph: X/Getty Images')
    end = plain[-1:]
    if end in "?:" or (end not in ".!" and len(sentence.split()) <= HEADING_WORDS):
        return False
    letters = [c for c in sentence if c.isalpha()]
    return sum(c.isupper() for c in letters) < CAPITALS_SHARE * len(letters)


def reads_as_prose(sentence: str) -> bool:
    """A sentence fit to stand for a story: not a quoted post, a link or a fragment."""
    plain = sentence.strip()
    return bool(plain[:1].isupper()) and "http" not in plain and "@" not in plain and not refers_back(plain)


def lead_of(passage: Passage) -> str | None:
    """The article's lead sentence when the passage is its first chunk (chunk ids end in -0000)."""
    if not passage.chunk_id.endswith("-0000"):
        return None
    first = next(iter(split_sentences(passage.text)), "")
    return first if 40 <= len(first) <= 400 and reads_as_prose(first) and states_something(first) else None


_CALENDAR = [n for n in (*calendar.month_name, *calendar.month_abbr, *calendar.day_name) if n]
_NOT_TOPIC = re.compile(  # news words, and the calendar's ('in November 2023' names no topic)
    rf"\b(?:{'|'.join(['what', 'happened', 'news', 'stories', 'headlines', 'developments', *_CALENDAR])})\b"
    r"|\b(?:19|20)\d\d\b",
    re.I,
)


def digest_topic(stripped_question: str) -> set[str]:
    """What a period question is about ("AI" in "What AI news was reported in October?"), as content terms:
    the question without its dates, outlets and news words (empty: any story of the period)."""
    from assistant.retrieval.query import topic

    text = _NOT_TOPIC.sub(" ", topic(WINDOW.sub(" ", without_dates(stripped_question))))
    return content_terms(text)
