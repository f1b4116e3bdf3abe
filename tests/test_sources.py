"""One source per article: an article cited for several sentences or passages is one number and one card."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from assistant.answer.sources import by_article
from assistant.assistant import Assistant
from assistant.types import Answer, Citation, Passage, SentenceCheck
from assistant.web.render import answer_html, sources_html


def passage(chunk: str, article: str, text: str) -> Passage:
    return Passage(chunk_id=chunk, article_id=article, title=f"Title {article}", text=text, source="Outlet")


A1 = passage("a#0", "a", "Alpha rose 5% on Monday. Analysts cheered.")
A2 = passage("a#1", "a", "Later, alpha fell 2% on Tuesday. Traders sold.")
B1 = passage("b#0", "b", "Beta was fined $3m by the regulator.")


def test_passages_of_one_article_share_a_number_and_markers_are_renumbered() -> None:
    answer = Answer(
        question="q",
        text="Alpha rose 5% on Monday [1]. Beta was fined $3m [3]. Alpha fell 2% on Tuesday [2][1].",
        citations=[
            Citation(1, A1, "Alpha rose 5% on Monday."),
            Citation(2, A2, "Later, alpha fell 2% on Tuesday."),
            Citation(3, B1, "Beta was fined $3m by the regulator."),
        ],
        sentences=[SentenceCheck("Alpha fell 2% on Tuesday.", claimed=(2, 1), cited=(2, 1))],
    )
    merged = by_article(answer)
    assert merged.text == "Alpha rose 5% on Monday [1]. Beta was fined $3m [2]. Alpha fell 2% on Tuesday [1]."
    assert [c.n for c in merged.citations] == [1, 2]
    first = merged.citations[0]
    assert [(p.chunk_id, s) for p, s in first.cited] == [
        ("a#0", ["Alpha rose 5% on Monday."]),
        ("a#1", ["Later, alpha fell 2% on Tuesday."]),
    ]
    assert merged.sentences[0].cited == (1,)
    data = merged.to_dict()["citations"][0]
    assert data["chunk_id"] == "a#0" and data["sentence"] == "Alpha rose 5% on Monday."  # old fields kept
    assert [p["chunk_id"] for p in data["passages"]] == ["a#0", "a#1"]
    cards = sources_html(merged)
    assert cards.count('class="nq-card"') == 2 and cards.count("<mark>") == 3
    assert answer_html(merged).count('data-n="1"') == 2  # both mentions open the one source
    assert by_article(merged) == merged  # idempotent


def test_two_sentences_of_one_passage_are_one_source_with_both_highlighted() -> None:
    answer = Answer(
        question="q",
        text="Alpha rose 5% on Monday. [1] Analysts cheered. [1]",
        citations=[Citation(1, A1, "Alpha rose 5% on Monday."), Citation(1, A1, "Analysts cheered.")],
    )
    merged = by_article(answer)
    assert len(merged.citations) == 1
    assert merged.citations[0].cited == [(A1, ["Alpha rose 5% on Monday.", "Analysts cheered."])]
    assert sources_html(merged).count("<mark>") == 2


def test_ask_json_numbers_articles(make_assistant: Callable[..., Assistant], tmp_path: Path) -> None:
    body = " ".join(
        f"Paragraph {i}: the harbour bridge repair in Port Ellis will cost {i + 10} million euros, the council said."
        for i in range(40)
    )
    (tmp_path / "bridge.json").write_text(
        json.dumps(
            [
                {
                    "title": "Bridge repair costs",
                    "body": body,
                    "source": "Ellis Post",
                    "published_at": "2024-03-01",
                }
            ]
        )
    )
    assistant = make_assistant(max_answer_sentences=3)
    assert not assistant.ingest(assistant.read([str(tmp_path / "bridge.json")])).failed
    answer = assistant.ask("How much will the harbour bridge repair in Port Ellis cost?")
    assert not answer.abstained and answer.citations
    ids = [c.passage.article_id for c in answer.citations]
    assert len(ids) == len(set(ids)) and [c.n for c in answer.citations] == list(range(1, len(ids) + 1))
    cited = sum(len(sentences) for c in answer.citations for _, sentences in c.cited)
    assert cited == len(answer.text.split("[")) - 1  # every marked sentence is listed under its source
