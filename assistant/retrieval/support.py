"""Does the evidence hold what the question asks about? Its names, numbers and years, and its main event.

A retrieval step (retriever.search runs it on the final passages); both answer modes refuse when it fails.

Retrieval always returns the closest passages, even for a question the index cannot answer ("Who won the
2024 US presidential election?" over 2023 news). Before answering, both modes check that the question's
specific names, numbers and years occur in the retrieved passages, and that an event the question asks
about ("won", "filed for bankruptcy", "was fined") is reported in one of their sentences; otherwise the
answer refuses and says what is missing and what the closest articles are about.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.text import split_sentences
from assistant.types import Passage

_NAME = re.compile(r"(?<![\w’'])(?:[A-Z][\w’'&.-]*[a-z0-9][\w’'&-]*|[A-Z][A-Z.&]+s?)(?![\w’'])")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Capitalised words that name no particular thing: question words, openers, calendar words, media words.
_GENERIC_WORDS = """
    a an the this that these those what which who whom whose when where why how is are was were did
    do does has have had can could would should will may might according considering based given
    following after before between during since while if and or but both either neither also as at
    by for from in into of on to with without about among among per than then there here it its his
    her their our your my article articles report reports reported story stories news source sources
    piece post posts times journal daily weekly magazine review editorial opinion analysis update mr
    mrs ms dr january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday
    saturday sunday today yesterday tomorrow week month year yes no not none am pm ceo cfo
    compare describe explain list summarize summarise tell show give name find please
"""
_GENERIC = frozenset(_GENERIC_WORDS.split())
# Events a question may ask about ("who won ..."), each with the words a report of it uses.
_EVENTS: dict[str, str] = {  # word forms (regex, whole words)
    "won": r"won|wins?|winning|winners?|(?:re-?)?elected|beat(?:s|en)?|defeat(?:s|ed)|champions?|awarded"
    r"|took home|crowned"
    r"|triumph(?:s|ed)|clinch(?:es|ed)",
    "bankrupt": r"bankrupt(?:cy|cies)?|chapter 11|insolven(?:t|cy)|receivership|administration",
    "fined": r"fines?|fined|penalt(?:y|ies)|settle(?:d|ment|s)?|ordered to pay|sanction(?:s|ed)?",
    "arrested": r"arrest(?:s|ed)?|detain(?:s|ed)?|custody|charged",
    "died": r"died|dies|dead|death|killed|passed away|obituary",
    "resigned": r"resign(?:s|ed|ation)?|step(?:s|ped)? down|quit(?:s)?|ousted|fired|departure",
}
_EVENT_CUES = {
    "won": re.compile(r"\b(?:won|wins?)\b", re.I),  # the question's verb, not "a 16th victory"
    "bankrupt": re.compile(r"\bbankrupt(?:cy)?\b|\bchapter 11\b", re.I),
    "fined": re.compile(r"\b(?:fined|fines?d?)\b", re.I),
    "arrested": re.compile(r"\barrest(?:ed)?\b", re.I),
    "died": re.compile(r"\b(?:died|dies|death of)\b", re.I),
    "resigned": re.compile(r"\b(?:resign(?:ed|s)?|step(?:ped)? down)\b", re.I),
}


@dataclass(frozen=True)
class Asked:
    """What a question asks about: specific names, numbers and years, and events (keys of _EVENTS)."""

    names: tuple[str, ...]
    numbers: tuple[str, ...]
    events: tuple[str, ...]
    years: tuple[str, ...] = ()


def _key(word: str) -> str:
    """A name or word as compared: lower case, no dots or possessive ("U.S." = "US", "Apple's" = "Apple")."""
    word = re.sub(r"['’]s$", "", word)
    return word.replace(".", "").lower()


_MONTHS = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?"
    r"|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DATE = re.compile(
    rf"\b{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS}"
    rf"(?:,?\s+\d{{4}})?\b|\b(?:19|20)\d\d(?:-\d\d){{0,2}}\b|\b\d{{1,2}}:\d\d(?::\d\d)?\b"
)


def without_dates(text: str) -> str:
    """The text with its dates, years and times blanked out."""
    return _DATE.sub(" ", text)


def asked(question: str) -> Asked:
    """The names, numbers and events of a question (a sentence-initial word is a name only when it is
    not a common opener: "Apple said..." keeps Apple, "Considering..." is dropped)."""
    names: list[str] = []
    end = -2
    for match in _NAME.finditer(question):
        name = re.sub(r"['’]s$|-[a-z][\w-]*$", "", match.group(0).rstrip(".-&"))  # "Prime-themed": Prime
        key = _key(name)
        if not key or key in _GENERIC or key.isdigit():
            continue
        joined = names and question[end : match.start()] == " " and not re.search(r"['’]s$", question[:end])
        if joined:  # "Eddy Cue", "Jane Street": one name (not "Amazon's CEO")
            names[-1] += " " + name
        elif key not in map(_key, names):
            names.append(name)
        end = match.end()
    # Dates are when, not what: retrieval steers by them and articles carry them as metadata.
    # Small numbers ("under 30", "$8 billion" written "eight") are too often worded otherwise to rule on.
    numbers = [
        n.replace(",", "")
        for n in _NUMBER.findall(_DATE.sub(" ", question))
        if len(n.replace(",", "")) >= 3 or "." in n
    ]
    years = [y for y in re.findall(r"\b(?:19|20)\d\d\b", question)]
    events = tuple(name for name, cue in _EVENT_CUES.items() if cue.search(question))
    return Asked(tuple(names), tuple(dict.fromkeys(numbers)), events, tuple(dict.fromkeys(years)))


def _evidence_words(passages: Sequence[Passage]) -> set[str]:
    words: set[str] = set()
    for p in passages:
        header = f"{p.title} {p.source or ''} {p.author or ''} {(p.published_at or '')[:4]}"
        for token in re.findall(r"[\w’'.&-]+", f"{header} {p.text}"):
            key = _key(token.strip(".-&"))
            words.add(key)
            words.update(_WORD.findall(key))  # "ai-powered" also as "ai", "powered"
        words.update(n.replace(",", "") for n in _NUMBER.findall(p.text))
    return words


NAME_GAP_SHARE = 0.34  # refuse when more than a third of the question's names are in none of the passages


def unsupported(question: Asked, passages: Sequence[Passage]) -> list[str]:
    """What the question asks about that the passages do not hold, when that is reason to refuse (else []).

    Names: a multi-part question may lean on one article retrieval missed, so a single name of several
    missing is tolerated; more than a third missing is a question about something else (measured on the
    MultiHop-RAG dev set: null questions refused 0.91, answerable ones 0.02). Numbers, years and events
    must each be found.
    """
    if not passages:
        return []
    words = _evidence_words(passages)
    names = [f'"{n}"' for n in question.names if not _parts_found(_key(n), words)]
    gaps = names if question.names and len(names) / len(question.names) >= NAME_GAP_SHARE else []
    gaps += [n for n in question.numbers if n not in words]
    published = {(p.published_at or "")[:4] for p in passages}
    gaps += [y for y in question.years if y not in words and y not in published]
    anchors = list(question.years) or [_key(n) for n in question.names]
    for event in question.events:
        # reported: the event's words in one sentence with the question's year (else one of its names)
        said = any(
            re.search(rf"\b(?:{_EVENTS[event]})\b", sentence, re.I)
            and (
                not anchors
                or any(a in f"{_key_text(sentence)} {(p.published_at or '')[:4]}" for a in anchors)
            )
            for p in passages
            for sentence in split_sentences(p.text)
        )
        if not said:
            with_what = " or ".join(question.years or question.names)
            gaps.append(f'"{event}" with {with_what}' if with_what else f'"{event}"')
    return gaps


def refusal_notice(gaps: Sequence[str], passages: Sequence[Passage]) -> str:
    """Why the question was not answered, and what the closest articles are about."""
    articles: dict[str, Passage] = {}
    for p in passages:  # each article once, best first
        articles.setdefault(p.article_id or p.chunk_id, p)
    closest = "; ".join(f"{p.title} ({p.outlet}, {p.day})" for p in list(articles.values())[:3])
    missing = ", ".join(gaps)
    if len(articles) == 1:
        what = f"mention {missing}" if gaps else "answer it"
        return f"The closest article does not {what}: {closest}."
    what = f"mentions {missing}" if gaps else "answers it"
    return f"None of the {len(articles)} closest articles {what}. Closest: {closest}."


def _key_text(sentence: str) -> str:
    return " ".join(_key(w) for w in re.findall(r"[\w’'.&-]+", sentence))


def _parts_found(name: str, words: set[str]) -> bool:
    parts = [w for w in _WORD.findall(name) if len(w) > 1]
    return bool(parts) and all(w in words for w in parts)
