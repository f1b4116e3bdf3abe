"""The extractive answerer scores sentences with vectors stored at ingest, and embeds only a few others."""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from assistant.answer.compose import states_something
from assistant.answer.extractive import MIN_SENTENCE_CHARS, ExtractiveAnswerer
from assistant.assistant import Assistant
from assistant.embedding import Embedder
from assistant.store.sentences import unpack
from assistant.text import split_sentences
from tests.conftest import SEED

QUESTION = "How long did one of the Putin-Trump calls last?"


class _CountingEmbedder:
    """The real embedder, recording every text it is asked to embed."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.dimension = embedder.dimension
        self.texts: list[str] = []

    def embed_cached(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += texts
        return self.embedder.embed(texts)

    embed = embed_cached


def test_answerer_embeds_at_most_m_sentences_and_still_cites_the_answer(
    make_assistant: Callable[..., Assistant], tmp_path: Path
) -> None:
    assistant = make_assistant()
    assert not assistant.ingest(assistant.read([str(SEED)])).failed
    # as from an index built before sentence vectors were stored
    passages = [dataclasses.replace(p, sentence_blob=None) for p in assistant.retrieve(QUESTION)]
    sentences = {s for p in passages for s in split_sentences(p.text) if len(s) >= MIN_SENTENCE_CHARS}
    counting = _CountingEmbedder(assistant.embedder)
    answerer = ExtractiveAnswerer(counting, max_embedded=4)  # type: ignore[arg-type]
    answer = answerer.answer(QUESTION, passages)
    assert len(sentences) > 8  # the cap really leaves sentences out
    assert len(counting.texts) <= 1 + 4  # the question and at most 4 sentences
    assert not answer.abstained and "50 minutes" in answer.citations[0].sentence
    everything = ExtractiveAnswerer(assistant.embedder, max_embedded=0).answer(QUESTION, passages)
    assert everything.citations[0].sentence == answer.citations[0].sentence  # as when embedding all


def test_answerer_uses_the_sentence_vectors_stored_at_ingest(
    make_assistant: Callable[..., Assistant],
) -> None:
    assistant = make_assistant()
    assert not assistant.ingest(assistant.read([str(SEED)])).failed
    passages = assistant.retrieve(QUESTION)
    assert all(unpack(p.sentence_blob, p.text) for p in passages)
    counting = _CountingEmbedder(assistant.embedder)
    answer = ExtractiveAnswerer(counting).answer(QUESTION, passages)  # type: ignore[arg-type]
    assert counting.texts == [QUESTION]  # no sentence went through the model at question time
    assert not answer.abstained and "50 minutes" in answer.citations[0].sentence
    assert answer.citations[0].passage.title == "Putin Praises Talks with Trump"


def test_embed_cached_remembers_recent_texts_only(embedder: Embedder) -> None:
    small = type(embedder).__new__(type(embedder))
    small.__dict__.update(embedder.__dict__)
    small.__dict__.update(cache_size=2, _cache=OrderedDict(), _lock=threading.Lock())  # a cache of its own
    texts = ["first text", "second text", "third text"]
    vectors = small.embed_cached(texts)
    assert np.allclose(vectors, embedder.embed(texts), atol=1e-5)
    assert list(small._cache) == texts[1:]  # least recently used dropped
    assert np.allclose(small.embed_cached(["third text"])[0], vectors[2])


def test_questions_headings_capitals_and_lines_ending_in_a_colon_are_never_an_answer(
    embedder: Embedder,
) -> None:
    from assistant.types import Passage

    text = (
        "Timeline of Sam Altman's departure from OpenAI\n\n"  # a heading
        "Microsoft's chief executive published a statement about Sam Altman leaving OpenAI:\n\n"
        "SAM ALTMAN OUSTED AS OPENAI CEO AFTER BOARD SAYS HE WAS NOT CANDID WITH IT\n\n"  # another story
        "MORE: Sam Altman's departure from OpenAI explained, and what the board said about it\n\n"
        "Meanwhile the board's fight over Sam Altman leaving OpenAI went on, and now…\n\n"  # cut off
        "Sam Altman speaks at OpenAI's developer day in San Francisco before his departure from the company "
        "Photograph: Justin Sullivan/Getty Images\n\n"  # a caption
        "Do you work at OpenAI and know more about Sam Altman's departure? "
        "Sam Altman was fired as chief executive of OpenAI by the company's board on Friday. "
        'Who will replace Sam Altman at OpenAI, the board was asked?"'
    )
    passage = Passage("c1", "a1", "Altman fired", text, score=1.0, rank=1, evidence=1.0)
    answer = ExtractiveAnswerer(embedder).answer("Why did Sam Altman leave OpenAI?", [passage])
    said = [c.sentence for c in answer.citations]
    assert said and all(s.rstrip('"')[-1] not in "?:" for s in said), said
    assert not any(s.startswith(("Timeline", "SAM ALTMAN", "MORE", "Meanwhile")) for s in said), said
    assert not any("Getty" in s for s in said), said
    caption = "Erik ten Hag watches on from the touchline at Old Trafford Photograph: Darren Staples/AFP/Getty Images"
    assert not states_something(caption)
    assert not states_something("Charley Gallay via Getty Images for the Recording Academy, in Los Angeles")
    assert states_something("Getty Images said on Monday that it would cut 200 jobs.")  # a story, no credit
    assert states_something("He is seen as the favourite to replace the chief executive next year.")
    assert "fired as chief executive" in said[0]


def test_a_report_from_the_questions_window_leads_the_answer(embedder: Embedder) -> None:
    from datetime import UTC, datetime

    from assistant.retrieval.hints import HintParser
    from assistant.types import Passage

    question = "Who won the harbour cup final last weekend?"

    def report_of(n: int, when: str, text: str) -> Passage:
        return Passage(
            f"c{n}-0000", f"a{n}", f"Cup story {n}", text, published_at=when, score=1.0, evidence=1.0
        )

    preview = report_of(
        1,
        "2023-10-20T10:00:00Z",
        "The 2019 harbour cup final was won by Port Ellis, who beat Coast Town 3-1 in the final. Tickets for "
        "this year's final sold out in a day.",
    )
    report = report_of(
        2,
        "2023-10-28T18:00:00Z",
        "Coast Town lifted the harbour cup on Saturday after beating Port Ellis 2-1 at the harbour stadium. "
        "Their captain scored in the last minute.",
    )
    hints = HintParser([]).parse(question, datetime(2023, 10, 31, 12, tzinfo=UTC))
    answerer = ExtractiveAnswerer(embedder)
    scored = answerer.score_sentences(question, [preview, report])
    best_inside = next(s for s in scored if s.passage is report)
    assert best_inside.score < 0.8 * scored[0].score  # the 2019 sentence scores higher on the words alone
    answer = answerer.answer(question, [preview, report], hints)
    assert answer.text.startswith("Coast Town lifted the harbour cup on Saturday"), answer.text
