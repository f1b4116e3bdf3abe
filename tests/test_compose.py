"""Extractive answers that read as answers: referents kept, one statement per side, dated digests."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest

from assistant.answer.compose import refers_back, unresolved
from assistant.assistant import Assistant
from assistant.types import Filters
from assistant.web.render import answer_html

A = "Harbour Gazette"
B = "Coast Times"
C = "Valley Sports"
ARTICLES = [
    (A, "2024-03-04", "Bridge tolls", "Port Ellis council approved a toll on the harbour bridge on Monday. "
     "The council said the toll of 2 euros would pay for the repair of the bridge. Drivers were angry."),
    (B, "2024-03-20", "Toll anger", "Drivers in Port Ellis protested against the new harbour bridge toll. "
     "They blocked the bridge for two hours on Wednesday and demanded that the toll be scrapped."),
    (A, "2024-04-10", "Repair begins", "Repair work on the Port Ellis harbour bridge began on Wednesday. "
     "Engineers expect the repair to take eighteen months."),
    (B, "2024-05-28", "Bridge reopens lane", "One lane of the Port Ellis harbour bridge reopened after the "
     "first phase of repairs, the council said."),
    (C, "2024-03-15", "Ellis FC win", "Ellis FC beat Harbour United 3-1 in the cup on Saturday. "
     "Their striker scored twice in the second half."),
    ("Tech Daily", "2024-02-01", "Acme results", "Acme Corp reported a record profit of 4.2 billion dollars for "
     "the year. The company said it would raise prices for its cloud service by 8 percent in April."),
]  # fmt: skip


@pytest.fixture
def assistant(make_assistant: Callable[..., Assistant], tmp_path: Path) -> Assistant:
    path = tmp_path / "news.json"
    rows = [{"source": s, "published_at": d, "title": t, "body": b} for s, d, t, b in ARTICLES]
    path.write_text(json.dumps(rows))
    built = make_assistant()
    assert not built.ingest(built.read([str(path)])).failed
    return built


def plain_sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"\s*\[[^\]]*\]\s*", text) if s.strip()]


def test_a_sentence_that_refers_back_brings_its_referent(assistant: Assistant) -> None:
    answer = assistant.ask("Will Acme raise prices for its cloud service?", filters=Filters())
    assert not answer.abstained
    sentences = plain_sentences(answer.text)
    at = next(i for i, s in enumerate(sentences) if s.startswith("The company said"))
    assert at > 0 and sentences[at - 1].startswith("Acme Corp reported")  # the referent comes first
    cited = [p for c in answer.citations for p, _ in c.cited]
    assert unresolved(answer.text, cited) == (0, len(sentences))
    assert refers_back("They blocked the bridge.") and refers_back("But it was late.")
    assert not refers_back("This year, Acme grew.") and not refers_back("Theyre is no such word.")


def test_each_outlet_the_question_names_gets_a_statement_in_its_order(assistant: Assistant) -> None:
    answer = assistant.ask(f"Compare what {B} and {A} reported about the Port Ellis harbour bridge toll.")
    outlets = [c.passage.source for c in sorted(answer.citations, key=lambda c: c.n)]
    assert outlets[:2] == [B, A], answer.text  # the question's order, one statement each
    missing = assistant.ask(f"Compare what {A} and {C} reported about the harbour bridge toll.")
    assert f"None of the indexed articles from {C} covers this." in missing.text
    assert [c.passage.source for c in missing.citations] == [A]


def test_a_period_question_gets_a_dated_digest_in_date_order(assistant: Assistant) -> None:
    answer = assistant.ask("What happened with the harbour bridge between 1 March and 30 April 2024?")
    lines = answer.text.split("\n")
    assert len(lines) >= 2 and all(line.startswith("- ") for line in lines), answer.text
    days = [c.passage.published_at[:10] for c in sorted(answer.citations, key=lambda c: c.n)]
    assert days == sorted(days) and all("2024-03-01" <= d <= "2024-04-30" for d in days)
    assert "2024-05-28" not in days  # outside the period, though about the bridge
    assert re.match(r"- \d{1,2} Mar 2024, (Harbour Gazette|Coast Times): ", lines[0])
    assert not any("Ellis FC" in line for line in lines)  # in the period, but not about the bridge
    assert answer_html(answer).count("<br>") == len(lines) - 1  # one line per story in the chat too


def test_a_yes_no_question_gets_statements_never_a_bare_yes(assistant: Assistant) -> None:
    answer = assistant.ask("Did drivers protest against the harbour bridge toll?")
    assert not answer.abstained and not re.match(r"(?i)(yes|no)\b", answer.text)
    assert "protested" in answer.text and answer.citations


def test_what_happened_this_week_lists_its_top_stories_by_their_leads(
    make_assistant: Callable[..., Assistant], tmp_path: Path
) -> None:
    wire = (
        "The national bank raised its main interest rate to 4.5 percent on Tuesday, the highest level in "
        "fifteen years. The governor said inflation was still far above the target and that further rises "
        "could not be ruled out. Mortgage lenders said they would pass the rise on to borrowers within weeks."
    )
    rows = (
        [  # one story three outlets carried, and one outlet's four stories on the newest day
            {"source": o, "published_at": "2024-06-04", "title": "Bank raises rates", "body": wire, "url": u}
            for o, u in (
                ("Harbour Gazette", "https://hg.example/1"),
                ("Coast Times", "https://ct.example/2"),
                ("Valley Post", "https://vp.example/3"),
            )
        ]
        + [
            {
                "source": "Valley Sports",
                "published_at": "2024-06-07",
                "title": f"Cup round {n}",
                "body": f"Ellis FC beat Harbour United {n}-0 in round {n} of the cup on Friday. The coach praised "
                "the defence after the match.",
            }
            for n in range(1, 5)
        ]
        + [
            {
                "source": "Tech Daily",
                "published_at": "2024-06-05",
                "title": "Acme opens plant",
                "body": "Acme Corp opened a battery plant in Port Ellis on Wednesday, creating 400 jobs. The plant "
                "will make cells for electric buses.",
            },
            {
                "source": "Coast Times",
                "published_at": "2024-05-20",  # before the week
                "title": "Ferry strike",
                "body": "Ferry crews in Port Ellis went on strike on Monday over pay, stranding hundreds of people.",
            },
        ]
    )
    path = tmp_path / "week.json"
    path.write_text(json.dumps(rows))
    built = make_assistant()
    assert not built.ingest(built.read([str(path)])).failed
    as_of = Filters(as_of=datetime(2024, 6, 7, 23, 0, tzinfo=UTC))
    answer = built.ask("What happened this week?", filters=as_of)
    lines = answer.text.split("\n")
    assert not answer.abstained and all(line.startswith("- ") for line in lines), answer.text
    cited = {c.n: c.passage for c in answer.citations}
    bank = [p for p in cited.values() if p.title == "Bank raises rates"]
    assert len(bank) == 1 and len(bank[0].also_reported_by) == 2  # the story once, with its other outlets
    assert bank[0].score == 3.0 and all(p.score == 1.0 for p in cited.values() if p is not bank[0])
    assert "The national bank raised its main interest rate" in answer.text  # each story by its lead
    assert "Acme Corp opened a battery plant" in answer.text
    assert len(lines) == 5 and lines[0].startswith("- 4 Jun 2024, ")  # in date order: the bank first
    assert "Ellis FC beat" in lines[-1]  # the newest day's stories after the others, not instead of them
    assert "Ferry crews" not in answer.text  # before the week
    assert not answer.notices
    later = built.ask("What happened this week?", filters=Filters(as_of=datetime(2024, 6, 20, tzinfo=UTC)))
    assert later.notices == [
        "No article from this week; the top stories of the 7 days to 7 Jun 2024 instead."
    ]
    assert "The national bank raised its main interest rate" in later.text and "Ferry" not in later.text


def test_a_months_top_stories_come_from_all_of_the_month(
    make_assistant: Callable[..., Assistant], tmp_path: Path
) -> None:
    rows = [
        {
            "source": "Harbour Gazette",
            "published_at": f"2024-06-{d:02d}",
            "title": f"Council meeting {d}",
            "body": f"The Port Ellis council met on {d} June and voted on item {d} of its agenda. "
            "The mayor said the vote went as expected.",
            "url": f"https://hg.example/{d}",
        }
        for d in range(1, 31)
    ]
    path = tmp_path / "june.json"
    path.write_text(json.dumps(rows))
    built = make_assistant()
    assert not built.ingest(built.read([str(path)])).failed
    answer = built.ask("What happened in June 2024?", filters=Filters(as_of=datetime(2024, 7, 1, tzinfo=UTC)))
    days = sorted(int(c.passage.published_at[8:10]) for c in answer.citations)
    assert len(set(days)) == 5, answer.text
    assert days[0] <= 4 and days[-1] >= 27 and all(b - a >= 4 for a, b in pairwise(days)), days
