"""Text helpers shared by every stage: sentence splitting, the one tokenizer (search terms) and content terms."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from functools import lru_cache

import Stemmer

# Sentence ends: . ! ? (and CJK 。！？) followed by space/quote, not after common abbreviations.
_SENTENCE_END = re.compile(
    r"(?<=[.!?。！？])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9\u4e00-\u9fff])|(?<=[。！？])"
)
_ABBREVIATIONS = re.compile(
    r"\b(Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|Gen|Gov|Sen|Rep|Lt|Col|Capt|Inc|Corp|Ltd|Co|vs|etc|No|U\.S|U\.K|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|[A-Z])\.$"
)
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)  # search terms: letters and digits
_WORD = re.compile(r"[0-9]+(?:[.,][0-9]+)*%?|[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "also",
        "according",
        "said",
        "says",
        "say",
        "did",
        "does",
        "whether",
        "one",
        "ones",
        "many",
        "much",
        "made",
        "make",
        "another",
        "article",
        "articles",
        "report",
        "reported",
        "reports",
        "news",
    ]
)


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping abbreviations like 'U.S.' and 'Dr.' inside."""
    sentences: list[str] = []
    for paragraph in text.split("\n"):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        buffer = ""
        for piece in _SENTENCE_END.split(paragraph):
            if not piece:
                continue
            buffer = f"{buffer} {piece}".strip() if buffer else piece.strip()
            if not _ABBREVIATIONS.search(buffer):
                sentences.append(buffer)
                buffer = ""
        if buffer:
            sentences.append(buffer)
    return sentences


def sentence_starts(text: str) -> list[int]:
    """Where sentences begin in text (after 0), by the rules of `split_sentences`, without copying it."""
    starts = [m.end() for m in re.finditer(r"\n+", text)]
    for m in _SENTENCE_END.finditer(text):
        if not _ABBREVIATIONS.search(text[max(0, m.start() - 6) : m.start()].lstrip("\"'”’)]")):
            starts.append(m.end())
    return sorted(starts)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")  # one Snowball stemmer (and its cache) for every tokenizer here


def tokenize(text: str) -> list[str]:
    """Search terms: lower-cased, stemmed content words (stop words and one-letter tokens dropped).
    BM25, the ranker's sentence matches and retrieval's coverage check all read these."""
    return tokenize_pieces(text, ())[0]


def tokenize_pieces(text: str, starts: Sequence[int]) -> list[list[str]]:
    """`tokenize` of each piece of text cut at `starts` (sorted), in one stemmer call."""
    lowered = text.lower()
    bounds = [0, *starts, len(text)]
    pieces = [
        [w for w in _TOKEN.findall(lowered[a:b]) if len(w) > 1 and w not in STOP_WORDS]
        for a, b in itertools.pairwise(bounds)
    ]
    stems = iter(_stemmer().stemWords([w for piece in pieces for w in piece]))
    return [[next(stems) for _ in piece] for piece in pieces]


def words(text: str) -> list[str]:
    """Lower-cased word and number tokens."""
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def content_terms(text: str) -> set[str]:
    """Stemmed words that carry meaning (no stop words), for checking claims against passages: unlike
    `tokenize`, numbers keep their decimals and percent sign ("3.5%"), since a number is a fact."""
    tokens = [w for w in words(text) if w not in STOP_WORDS and (len(w) > 1 or w.isdigit())]
    return set(_stemmer().stemWords(tokens))
