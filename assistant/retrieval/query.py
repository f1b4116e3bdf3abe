"""Step 1 of retrieval: a question parsed into what is searched (its topic, the parts and clauses it asks
about) and the hints that steer the search (outlets, periods, recency)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from assistant.retrieval.hints import HintParser, Hints, Part
from assistant.retrieval.tuning import Tuning
from assistant.text import tokenize

# Words that say how a question is asked about the news, not what it is about.
_FURNITURE = re.compile(
    r"\b(articles?|reports?|reported|reporting|stor(?:y|ies)|pieces?|news|sources?|outlets?|published|"
    r"publication|mentioned|according|covered|coverage|suggests?|indicates?|implies|claims?|"
    r"portrayal|portray(?:ed|s)?|consistent|inconsistent|consistency|discrepancy|change|changed|"
    r"between|does|did|do|both|also|another|later|earlier|first|second|same|similar|different)\b",
    re.IGNORECASE,
)
_CLAUSE = re.compile(
    r"[,;?]|\s(?:and|while|whereas|but|also|which|who|whose|that|in contrast to|compared to|"
    r"according to|as reported by|reported by|as per)\s",
    re.IGNORECASE,
)


_PUNCT = ".,;:!?\"'()[]"


@dataclass(frozen=True)
class Query:
    """A parsed question: the texts searched (the topic first, then one per part, then clauses)."""

    question: str
    hints: Hints
    texts: list[str]
    parts: list[Part]  # the parts that texts[1 : 1 + len(parts)] stand for

    @property
    def clause_texts(self) -> list[str]:
        """The clause pieces (after the topic and the parts)."""
        return self.texts[1 + len(self.parts) :]


def parse_query(question: str, parser: HintParser, t: Tuning, as_of: datetime | None = None) -> Query:
    """Parse a question into its hints and searched texts (as of a moment), as `t` switches the steps on."""
    hints = parser.parse(question, as_of)
    main = (topic(hints.stripped) or question) if t.use_hints else question
    parts = [p for p in hints.parts if t.use_parts]
    pieces = [c for c in clauses(hints.stripped) if len(tokenize(c)) >= t.clause_min_terms]
    pieces = [topic(c) for c in pieces] if t.use_clauses and len(pieces) > 1 else []
    return Query(question, hints, [main, *(topic(p.text) for p in parts), *pieces], parts)


def topic(question: str) -> str:
    """The question without news-question furniture words ('article', 'reported', ...)."""
    return " ".join(_FURNITURE.sub(" ", question).split())


def clauses(text: str) -> list[str]:
    """The pieces of a compound question, split at commas and conjunctions."""
    return [c.strip() for c in _CLAUSE.split(text) if c and c.strip()]


def word_ranges(text: str, piece: str) -> list[tuple[int, int]]:
    """Character ranges in text of the piece's words, matched in order (words text lacks are skipped)."""
    words = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", text)]
    ranges: list[tuple[int, int]] = []
    at = 0
    for word in piece.split():
        for j in range(at, len(words)):
            if words[j][2] == word or words[j][2].strip(_PUNCT) == word.strip(_PUNCT) != "":
                ranges.append(words[j][:2])
                at = j + 1
                break
    return ranges
