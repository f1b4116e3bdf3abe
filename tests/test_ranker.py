"""The learned ranker: sentence-term features checked by hand, weights applied as stated, and in retrieval
over a real store it puts the chunk whose single sentence states the asked fact first."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from assistant.assistant import Assistant
from assistant.retrieval.ranker import FEATURES, WEIGHTS, Candidates, features, learned_order
from assistant.retrieval.retriever import Retriever
from assistant.retrieval.terms import SentenceTerms
from assistant.retrieval.tuning import Tuning
from assistant.store.sentences import SentenceTable, unpack
from assistant.text import sentence_starts, tokenize, tokenize_pieces

Make = Callable[..., Assistant]

TEXTS = [
    "The mayor opened the bridge. Rain fell all day.",
    "The mayor spoke. The bridge opened later. Rain fell.",
    "Nothing relevant is here at all.",
]


def _terms() -> SentenceTerms:
    return SentenceTerms.of_texts(TEXTS)


def test_sentence_terms_match_by_hand() -> None:
    terms = _terms()
    n = len(TEXTS)

    def idf(word: str) -> float:  # BM25's idf over the three chunks
        df = sum(word in tokenize(t) for t in TEXTS)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    query = tokenize("mayor opened bridge")  # stems: mayor, open, bridg
    total = sum(idf(w) for w in set(query))
    got = terms.match([0, 1, 2], [query])
    # chunk 0: one sentence holds all three terms and both adjacent pairs? "mayor open bridg": yes
    assert got[0, 0].tolist() == pytest.approx([1.0, 1.0, 1.0])
    # chunk 1: "The bridge opened later" holds bridg + open; "The mayor spoke" holds mayor
    best = (idf("bridg") + idf("open")) / total
    assert got[1, 0].tolist() == pytest.approx([best, best + idf("mayor") / total, 0.0])
    assert got[2, 0].tolist() == pytest.approx([0.0, 0.0, 0.0])


def test_learned_order_is_features_times_weights() -> None:
    assert len(WEIGHTS) == len(FEATURES)
    terms = _terms()
    rows = np.array([2, 1, 0])  # by fused score: the chunk with no match is "best"
    zeros = np.zeros(3)
    c = Candidates(
        rows,
        np.array([0.9, 0.8, 0.5]),
        np.zeros((1, 3)),
        np.zeros((1, 3)),
        zeros,
        [2, 1, 0],
        np.array([2, 1, 0]),
        np.zeros((3, 3)),
        zeros,
        np.zeros((1, 3)),
    )
    texts = ["mayor opened bridge"]
    x = features(c, texts, terms)
    assert x.shape == (3, len(FEATURES))
    assert x[:, FEATURES.index("chunk_rank")].tolist() == [1.0, 0.5, 1 / 3]
    only_rank = [1.0 if f == "chunk_rank" else 0.0 for f in FEATURES]
    only_sentences = [1.0 if f == "sentence_terms" else 0.0 for f in FEATURES]
    assert learned_order(c, texts, terms, only_rank) == [2, 1, 0]
    assert learned_order(c, texts, terms, only_sentences) == [0, 1, 2]


def _article(title: str, body: str, source: str, slug: str) -> dict[str, str]:
    url = f"https://{source.lower().replace(' ', '')}.example/{slug}"
    return {
        "title": title,
        "body": body,
        "source": source,
        "published_at": "2023-10-03T09:00:00Z",
        "url": url,
    }


ARTICLES = [
    _article(  # the question's words, spread over sentences and the title: no answer
        "Harbor bridge repair: who will pay?",
        "Who will pay for the harbor bridge? The repair question came up again. Pay rises for staff were "
        "also discussed. The council met on Tuesday. The harbor repair list is long. Nobody knows who "
        "will pay, the harbor master said.",
        "Daily Port",
        "notes",
    ),
    _article(  # one sentence states the answer
        "Funding announced",
        "The state will pay 40 million dollars to repair the harbor bridge, the governor said. Work starts "
        "in spring. Officials expect traffic delays during the works.",
        "State Wire",
        "funding",
    ),
    _article(
        "Chip plant opens",
        "A chip maker opened a plant that brings 900 jobs to the region, the company said. Officials said "
        "the plan had been discussed for months.",
        "Tech Weekly",
        "plant",
    ),
    _article(
        "Rail line delayed",
        "The rail line will open late because of repair work on tracks, the operator said. Passengers were "
        "told to expect delays.",
        "Tech Weekly",
        "rail",
    ),
]


def test_retrieval_puts_the_one_sentence_fact_first(make_assistant: Make, tmp_path: Path) -> None:
    assistant = make_assistant()
    path = tmp_path / "news.json"
    path.write_text(json.dumps(ARTICLES), encoding="utf-8")
    assert assistant.ingest(assistant.read([str(path)])).failed == []
    question = "Who will pay to repair the harbor bridge?"
    rules = Retriever(assistant.index, assistant.embedder, Tuning(learned_pool=0))
    learned = Retriever(assistant.index, assistant.embedder, Tuning())
    assert rules.retrieve(question, k=2)[0].title == "Harbor bridge repair: who will pay?"
    assert [p.title for p in learned.retrieve(question, k=2)] == [
        "Funding announced",
        "Harbor bridge repair: who will pay?",
    ]


def test_term_counts_stored_at_ingest_give_the_same_sentences_as_the_text(
    make_assistant: Make, tmp_path: Path
) -> None:
    assistant = make_assistant()
    path = tmp_path / "news.json"
    path.write_text(json.dumps(ARTICLES), encoding="utf-8")
    assert assistant.ingest(assistant.read([str(path)])).failed == []
    keywords = assistant.index.keywords
    rows = keywords.rows
    got = assistant.index.collection.get(include=["documents"])
    texts = dict(zip(got["ids"], got["documents"] or [], strict=True))
    stored = SentenceTerms(keywords.view())
    for i, row in enumerate(rows):  # each sentence's distinct terms, as the text's own sentences give them
        terms, per, _, _ = stored.sentences(i)
        text = texts[row.id]
        pieces = tokenize_pieces(text, sentence_starts(text))
        expected = [sorted({0, *(keywords.vocab[w] + 1 for w in piece)}) for piece in pieces]
        found = np.split(terms, np.cumsum(per)[:-1])
        assert [sorted(x.tolist()) for x in found] == expected
        assert len(per) >= 2  # every article here has several sentences


def test_best_sentence_cosine_matches_the_unpacked_vectors(make_assistant: Make, tmp_path: Path) -> None:
    assistant = make_assistant()
    path = tmp_path / "news.json"
    path.write_text(json.dumps(ARTICLES), encoding="utf-8")
    assert assistant.ingest(assistant.read([str(path)])).failed == []
    rows = assistant.index.keywords.rows
    got = assistant.index.collection.get(include=["documents"])
    texts = dict(zip(got["ids"], got["documents"] or [], strict=True))
    query = assistant.embedder.embed(["Who pays for the bridge repair?", "rail delays"])
    best = SentenceTable(assistant.index.keywords.parts()).best(np.arange(len(rows)), query)
    blobs = assistant.index.keywords.blobs()
    for i, row in enumerate(rows):
        vectors = np.stack(list(unpack(blobs[row.id], texts[row.id]).values()))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        assert best[i].tolist() == pytest.approx((vectors @ query.T).max(axis=0).tolist(), abs=1e-4)
    assert rows[int(np.argmax(best[:, 1]))].title == "Rail line delayed"
