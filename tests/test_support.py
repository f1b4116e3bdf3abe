"""Refusal that checks support: the passages must hold the question's names, numbers, years and event."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.assistant import Assistant
from assistant.retrieval.support import asked

ARTICLES = [
    {
        "title": "Biden defeats Trump",
        "body": "Joe Biden won the 2020 US presidential election, defeating Donald Trump. Biden carried "
        "Pennsylvania and Georgia. The result was certified by Congress in January.",
        "source": "Wire Daily",
        "published_at": "2020-11-08",
    },
    {
        "title": "The 2024 race begins",
        "body": "The 2024 US presidential election campaign is under way. Polls show a close race between "
        "the candidates, and analysts say the outcome is anyone's guess.",
        "source": "Wire Daily",
        "published_at": "2023-06-01",
    },
    {
        "title": "Harbour bridge repair",
        "body": "The harbour bridge in Port Ellis will be repaired at a cost of 410 million euros, the council "
        "said on Monday. Work starts in March and lasts two years.",
        "source": "Ellis Post",
        "published_at": "2023-06-02",
    },
]


@pytest.fixture
def assistant(make_assistant: Callable[..., Assistant], tmp_path: Path) -> Assistant:
    path = tmp_path / "news.json"
    path.write_text(json.dumps(ARTICLES))
    built = make_assistant()
    assert not built.ingest(built.read([str(path)])).failed
    return built


def test_what_a_question_asks_about() -> None:
    q = asked(
        "Did Amazon's CEO Andy Jassy say on October 31, 2023 at 10:00 that Prime-themed deals cost $15.99?"
    )
    assert q.names == ("Amazon", "Andy Jassy", "Prime")  # "CEO", "Did" and the date are not names
    assert q.numbers == ("15.99",) and q.years == ("2023",)  # the date's day and the time are not numbers
    assert asked("Who won the 2024 US presidential election?").events == ("won",)
    assert asked("<img src=x onerror=alert(1)>") == asked("")


def test_an_event_the_articles_do_not_report_is_refused_with_what_was_missing(assistant: Assistant) -> None:
    answer = assistant.ask("Who won the 2024 US presidential election?")
    assert answer.abstained and not answer.citations
    note = " ".join(answer.notices)
    assert '"won" with 2024' in note and "The 2024 race begins" in note  # what was missing, what is closest


def test_the_same_event_the_articles_report_is_answered(assistant: Assistant) -> None:
    answer = assistant.ask("Who won the 2020 US presidential election?")
    assert not answer.abstained and "Biden won the 2020" in answer.text


def test_names_none_of_the_passages_hold_are_refused(assistant: Assistant) -> None:
    answer = assistant.ask("Which university did Shubha Satheesh attend before joining Port Ellis council?")
    assert answer.abstained
    assert '"Shubha Satheesh"' in " ".join(answer.notices)
    numbers = assistant.ask("Will the Port Ellis harbour bridge repair cost 950 million euros?")
    assert numbers.abstained and "950" in " ".join(numbers.notices)
    held = assistant.ask("What will the Port Ellis harbour bridge repair cost?")
    assert not held.abstained and "410 million euros" in held.text
