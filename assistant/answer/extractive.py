"""The no-LLM answer: the sentences of the retrieved passages that best answer the question, each cited."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from assistant.answer.compose import (
    Pick,
    Side,
    digest_label,
    digest_topic,
    in_period,
    in_span,
    lead_of,
    reads_as_prose,
    resolve,
    sides,
    states_something,
    wants_digest,
)
from assistant.answer.sources import by_article
from assistant.embedding import Embedder
from assistant.retrieval.hints import LATEST, Hints
from assistant.retrieval.support import asked
from assistant.retrieval.when import read_time
from assistant.store.sentences import unpack
from assistant.text import content_terms, split_sentences
from assistant.types import NOT_COVERED, Answer, Citation, Passage, evidence_found

MIN_SENTENCE_CHARS = 25
MAX_SENTENCE_CHARS = 600
MAX_EMBEDDED = 16  # sentences without stored vectors embedded per question, picked by the cheap score
# A sentence's score: SIMILARITY_WEIGHT x cosine with the question + OVERLAP_WEIGHT x share of the
# question's content terms it holds + PASSAGE_WEIGHT x its passage's retrieval score.
SIMILARITY_WEIGHT = 0.6
OVERLAP_WEIGHT = 0.3
PASSAGE_WEIGHT = 0.1
MIN_ANSWER_SIMILARITY = 0.3  # a best sentence this close to the question answers it, whatever its score
MIN_OVERLAP = 0.25  # otherwise it needs a relevant score and more than this share of the question's terms
WINDOW_KEEP = 0.6  # a sentence from inside the question's window ('last weekend') leads at this share
KEEP_SHARE = 0.8  # later sentences must score at least this share of the best one
MIN_SUPPORT_SIMILARITY = 0.3  # ... and be at least this close to the question
SIDE_SHARE = 0.6  # a side's statement must be this close to the question, as a share of the best one's
TOPIC_SHARE = 0.6  # a digest line holds this share of the period question's topic terms
MAX_REPEAT = 0.5  # ... and share at most this Jaccard of content terms with a sentence already chosen


@dataclass(frozen=True)
class ScoredSentence:
    """A candidate answer sentence from one passage."""

    text: str
    passage: Passage
    similarity: float  # cosine with the question
    overlap: float  # share of the question's content terms found in the sentence
    score: float


class ExtractiveAnswerer:
    """Composes a short cited answer by picking verbatim sentences; abstains when nothing fits."""

    def __init__(
        self,
        embedder: Embedder,
        max_sentences: int = 3,
        min_relevance: float = 0.4,
        max_embedded: int = MAX_EMBEDDED,
        max_digest: int = 5,
    ) -> None:
        self.embedder = embedder
        self.max_digest = max_digest  # stories in a period digest
        self.max_sentences = max_sentences
        self.min_relevance = min_relevance
        self.max_embedded = max_embedded  # candidates embedded per question (0: all of them)

    def score_sentences(self, question: str, passages: Sequence[Passage]) -> list[ScoredSentence]:
        """The passages' sentences scored against the question, best first.

        Sentences whose vectors were computed at ingest (store/sentences.py) are all scored; of the
        others, only the `max_embedded` best by the model-free part of the score (term overlap, passage
        score) are embedded now, since the similarity dominates the score.
        """
        q_terms = content_terms(question)
        candidates: list[tuple[str, Passage, float]] = []
        stored: dict[str, np.ndarray] = {}
        seen: set[str] = set()
        for passage in passages:
            vectors = unpack(passage.sentence_blob, passage.text)
            for sentence in split_sentences(passage.text):
                key = " ".join(sentence.lower().split())
                if len(sentence) < MIN_SENTENCE_CHARS or len(sentence) > MAX_SENTENCE_CHARS or key in seen:
                    continue
                if not states_something(sentence):
                    continue
                seen.add(key)
                overlap = len(q_terms & content_terms(sentence)) / len(q_terms) if q_terms else 0.0
                candidates.append((sentence, passage, overlap))
                if sentence in vectors:
                    stored[sentence] = vectors[sentence]
        if not candidates:
            return []
        fresh = [i for i, (s, _, _) in enumerate(candidates) if s not in stored]
        if self.max_embedded and len(fresh) > self.max_embedded:
            fresh = sorted(fresh, key=lambda i: -_cheap_score(*candidates[i][1:]))[: self.max_embedded]
        keep = sorted({i for i, (s, _, _) in enumerate(candidates) if s in stored} | set(fresh))
        embedded = self.embedder.embed_cached([question] + [candidates[i][0] for i in fresh])
        vectors_of = {**stored, **dict(zip((candidates[i][0] for i in fresh), embedded[1:], strict=True))}
        scored = []
        for sentence, passage, overlap in (candidates[i] for i in keep):
            sim = float(vectors_of[sentence] @ embedded[0])
            score = SIMILARITY_WEIGHT * sim + _cheap_score(passage, overlap)
            scored.append(ScoredSentence(sentence, passage, sim, overlap, score))
        return sorted(scored, key=lambda s: s.score, reverse=True)

    def is_relevant(self, best: ScoredSentence) -> bool:
        """Whether the best sentence is on topic enough to answer from (else: abstain).

        Retrieval has already checked that the passages hold the question's names, numbers, years and
        events (retrieval/support.py), so a sentence about as close as a paraphrase of one part of a long
        question answers; the stricter score-and-overlap rule refused 32 % of answerable dev questions.
        """
        if best.similarity >= MIN_ANSWER_SIMILARITY:
            return True
        return best.score >= self.min_relevance and best.overlap > MIN_OVERLAP

    def answer(self, question: str, passages: Sequence[Passage], hints: Hints | None = None) -> Answer:
        """A cited answer from the passages, or an abstention when they do not cover the question
        (`hints`: what retrieval read in the question: outlets, periods; shapes the answer)."""
        if passages and not evidence_found(passages):  # retrieval judged the index does not cover it
            return Answer(question=question, text=NOT_COVERED, abstained=True, passages=list(passages))
        scored = self.score_sentences(question, passages)
        digest = wants_digest(question, hints)
        topic = digest_topic(hints.stripped if hints and hints.stripped else question) if digest else set()
        headlines = digest and not topic  # 'what happened this week?'
        if not scored or not (headlines or self.is_relevant(scored[0])):
            return Answer(question=question, text=NOT_COVERED, abstained=True, passages=list(passages))
        if wants_news(
            question
        ):  # current events: of the sentences that answer about as well, the newest leads
            near = [c for c in scored if c.score >= KEEP_SHARE * scored[0].score]
            lead = max(near, key=lambda c: c.passage.published_at or "")
            window = hints.window if hints else None
            if window is not None and not in_span(lead.passage, window):  # 'last weekend': a report from it
                inside = [
                    c
                    for c in scored
                    if c.score >= WINDOW_KEEP * scored[0].score and in_span(c.passage, window)
                ]
                lead = inside[0] if inside else lead
            scored = [lead, *(c for c in scored if c is not lead)]
        picks: list[Pick | str] = []
        if headlines:  # the passages are the period's top stories, in order: each one's lead
            picks = self._headlines(passages, in_period(hints))
        elif digest:
            picks = list(self._digest(scored, in_period(hints), topic))
        else:
            names = asked(hints.stripped if hints and hints.stripped else question).names
            side_list = sides(question, hints, names)
            if side_list:
                picks = self._per_side(scored, side_list)
        if not any(isinstance(p, Pick) for p in picks):
            picks = list(self._choose(scored))
        return self._compose(question, picks, passages)

    def _compose(self, question: str, picks: Sequence[Pick | str], passages: Sequence[Passage]) -> Answer:
        """The answer text: each picked sentence (after the sentences it refers back to) with its [n]."""
        numbers: dict[str, int] = {}
        citations: list[Citation] = []
        lines: list[str] = []
        for pick in picks:
            if isinstance(pick, str):  # a side no article covers: said, not cited
                lines.append(pick)
                continue
            n = numbers.setdefault(pick.passage.chunk_id, len(numbers) + 1)
            parts = []
            for sentence in (*pick.context, pick.sentence):
                citations.append(Citation(n=n, passage=pick.passage, sentence=sentence, verified=True))
                parts.append(f"{sentence} [{n}]")
            lines.append(f"{pick.label} {' '.join(parts)}" if pick.label else " ".join(parts))
        digest = any(isinstance(p, Pick) and p.label.endswith(":") for p in picks)
        text = "\n".join(f"- {line}" for line in lines) if digest else " ".join(lines)
        answer = Answer(question=question, text=text, citations=citations, passages=list(passages))
        return by_article(answer)

    def _choose(self, scored: list[ScoredSentence]) -> list[Pick]:
        best = scored[0].score
        chosen: list[Pick] = []
        shown: list[str] = []
        for candidate in scored:
            if len(chosen) >= self.max_sentences or (chosen and candidate.score < KEEP_SHARE * best):
                break
            if chosen and candidate.similarity < MIN_SUPPORT_SIMILARITY:
                continue
            terms = content_terms(candidate.text)
            if any(_jaccard(terms, content_terms(s)) > MAX_REPEAT for s in shown):
                continue
            context = resolve(candidate.text, candidate.passage, shown)
            if context is None:  # it refers back to something its passage does not name: skip it
                continue
            chosen.append(Pick(candidate.text, candidate.passage, context))
            shown += [*context, candidate.text]
        return chosen

    def _per_side(self, scored: list[ScoredSentence], side_list: Sequence[Side]) -> list[Pick | str]:
        """The best statement for each side the question names, in its order (or that none covers it)."""
        picks: list[Pick | str] = []
        shown: list[str] = []
        floor = max(MIN_SUPPORT_SIMILARITY, SIDE_SHARE * scored[0].similarity)
        for side in side_list:
            pick: Pick | str = side.uncovered
            for candidate in scored:
                if candidate.text in shown or candidate.similarity < floor:
                    continue
                if not side.speaks_for(candidate.passage, candidate.text):
                    continue
                context = resolve(candidate.text, candidate.passage, shown)
                if context is not None:
                    pick = Pick(candidate.text, candidate.passage, context)
                    shown += [*context, candidate.text]
                    break
            picks.append(pick)
        chosen = [p for p in picks if isinstance(p, Pick)]
        if chosen:  # room left: the best other sentences, as a plain answer would have them
            extra = [
                p
                for p in self._choose(scored)
                if p.sentence not in shown
                and any(side.speaks_for(p.passage, p.sentence) for side in side_list)
            ]
            picks += extra[: max(0, self.max_sentences - len(chosen))]
        return picks

    def _headlines(self, passages: Sequence[Passage], within: Callable[[Passage], bool]) -> list[Pick | str]:
        """One line per story in the order given (most outlets first), its lead sentence, at most
        `max_digest`, then in date order."""
        picked = [p for p in passages if within(p) and lead_of(p)][: self.max_digest]
        ordered = sorted(picked, key=lambda p: p.published_at or "")
        return [Pick(lead_of(p) or "", p, (), digest_label(p)) for p in ordered]

    def _digest(
        self, scored: list[ScoredSentence], within: Callable[[Passage], bool], topic: set[str]
    ) -> list[Pick]:
        """One line per story of the period on the topic (its best sentence), dated, oldest first, at
        most `max_digest`."""
        best: dict[str, ScoredSentence] = {}
        for candidate in scored:
            if not within(candidate.passage):  # retrieval steers to the period; the digest keeps to it
                continue
            found = topic & content_terms(f"{candidate.passage.title} {candidate.text}")
            if topic and len(found) < TOPIC_SHARE * len(topic):  # on the question's topic
                continue
            if candidate.similarity < MIN_SUPPORT_SIMILARITY and best:
                continue
            story = candidate.passage.story_id or candidate.passage.article_id or candidate.passage.chunk_id
            if story in best or len(best) >= self.max_digest or not reads_as_prose(candidate.text):
                continue
            best[story] = candidate
        ordered = sorted(best.values(), key=lambda c: c.passage.published_at or "")
        return [Pick(lead_of(c.passage) or c.text, c.passage, (), digest_label(c.passage)) for c in ordered]


def wants_news(question: str) -> bool:
    """Whether a question asks about current events ('now', 'new', 'latest', 'this week'): then, of reports
    that differ, the newest leads."""
    return read_time(question, datetime.now(UTC)).recent or bool(LATEST.search(question))


def _cheap_score(passage: Passage, overlap: float) -> float:
    """The part of a sentence's score that needs no embedding: question-term overlap and passage score."""
    return OVERLAP_WEIGHT * overlap + PASSAGE_WEIGHT * passage.score


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0
