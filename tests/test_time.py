"""Questions are answered as of a moment: relative time ('this year', 'this week', 'new') against it,
nothing published after it, explicit years honoured, and a widened window said out loud."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.assistant import Assistant
from assistant.cli import main as cli_module
from assistant.evaluation.common import load_queries
from assistant.retrieval.hints import HintParser, date_problems
from assistant.retrieval.when import read_time
from assistant.types import Filters
from assistant.web.util import parse_filters

Make = Callable[..., Assistant]
ARTICLES = [
    (
        "Harbor Prize goes to Ada Lind",
        "2022-10-07T10:00:00Z",
        "The Harbor Prize for peace work was awarded to Ada Lind on Friday. The committee praised her "
        "mediation between the two river towns. Lind will receive the medal in December.",
    ),
    (
        "Harbor Prize goes to Tomas Vey",
        "2023-10-06T10:00:00Z",
        "The Harbor Prize for peace work was awarded to Tomas Vey on Friday. The committee praised his "
        "mediation between the two river towns. Vey will receive the medal in December.",
    ),
    (
        "Parliament elects Mara Olsen as speaker",
        "2021-11-02T09:00:00Z",
        "The parliament elected Mara Olsen as its speaker on Tuesday after two rounds of voting. Olsen "
        "promised shorter sessions.",
    ),
    (
        "Parliament elects Jon Edel as new speaker",
        "2023-10-25T09:00:00Z",
        "The parliament elected Jon Edel as its new speaker on Wednesday after three weeks without one. "
        "Edel promised shorter sessions.",
    ),
    (
        "Bakery chain Crumb files for bankruptcy",
        "2018-03-14T09:00:00Z",
        "The local bakery chain Crumb filed for bankruptcy on Wednesday, closing four shops.",
    ),
    (
        "Pharmacy chain Medix files for bankruptcy",
        "2023-10-16T09:00:00Z",
        "The national pharmacy chain Medix filed for bankruptcy on Monday, citing lawsuits and debt.",
    ),
]


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory, embedder: object) -> Assistant:
    from assistant.settings import Settings

    root = tmp_path_factory.mktemp("dated")
    records = [
        {"title": t, "body": b, "published_at": d, "source": "Harbor Times", "url": f"https://ht.example/{i}"}
        for i, (t, d, b) in enumerate(ARTICLES)
    ]
    (root / "news.json").write_text(json.dumps(records), encoding="utf-8")
    assistant = Assistant(Settings.load(env={}, index=root / "index"), embedder=embedder)  # type: ignore[arg-type]
    assert assistant.ingest(assistant.read([str(root / "news.json")])).added == len(ARTICLES)
    return assistant


def _as_of(day: str) -> Filters:
    return Filters(as_of=datetime.fromisoformat(day).replace(hour=23, minute=59, tzinfo=UTC))


def _titles(assistant: Assistant, question: str, day: str) -> list[str]:
    return [p.title for p in assistant.retrieve(question, k=3, filters=_as_of(day))]


def test_this_year_and_new_follow_the_as_of_date(dated: Assistant) -> None:
    question = "Who won this year's Harbor Prize?"
    assert _titles(dated, question, "2023-10-10")[0] == "Harbor Prize goes to Tomas Vey"
    earlier = _titles(dated, question, "2022-10-20")
    assert earlier[0] == "Harbor Prize goes to Ada Lind"
    assert "Harbor Prize goes to Tomas Vey" not in earlier  # published after the as-of moment: unused
    speaker = _titles(dated, "Who is the new speaker of the parliament?", "2023-10-30")
    assert speaker[0] == "Parliament elects Jon Edel as new speaker"
    chain = _titles(dated, "Which chain filed for bankruptcy this week?", "2023-10-19")
    assert chain[0] == "Pharmacy chain Medix files for bankruptcy"


def test_historical_questions_go_to_their_year(dated: Assistant) -> None:
    assert (
        _titles(dated, "Who won the Harbor Prize in 2022?", "2023-10-10")[0]
        == "Harbor Prize goes to Ada Lind"
    )
    assert _titles(dated, "Who was elected speaker in 2021?", "2023-10-30")[0] == (
        "Parliament elects Mara Olsen as speaker"
    )


def test_a_window_with_nothing_in_it_widens_and_says_so(dated: Assistant) -> None:
    answer = dated.ask("Who did the parliament elect as speaker this week?", filters=_as_of("2023-12-20"))
    assert (
        answer.citations and answer.citations[0].passage.title == "Parliament elects Jon Edel as new speaker"
    )
    assert any(
        n.startswith(
            "No article from this week covers this; the most recent report found is from 25 Oct 2023"
        )
        for n in answer.notices
    ), answer.notices
    inside = dated.ask("Which chain filed for bankruptcy this week?", filters=_as_of("2023-10-19"))
    assert not any(n.startswith("No article from") for n in inside.notices)


def test_a_named_day_widens_to_its_month_and_a_day_no_calendar_has_is_said(dated: Assistant) -> None:
    answer = dated.ask("Which chain filed for bankruptcy on 31 October 2023?", filters=_as_of("2023-12-20"))
    assert answer.citations[0].passage.title == "Pharmacy chain Medix files for bankruptcy"  # 16 October
    assert answer.notices == ["No article from 31 October 2023 covers this; searched October 2023."]
    question = "What happened to the pharmacy chain Medix on 25 October 2023?"  # that day: the speaker
    digest = dated.ask(question, filters=_as_of("2023-12-20"))
    assert digest.citations[0].passage.title == "Pharmacy chain Medix files for bankruptcy"
    assert digest.notices == ["No article from 25 October 2023 covers this; searched October 2023."]
    on_the_day = dated.ask(
        "Which chain filed for bankruptcy on 16 October 2023?", filters=_as_of("2023-12-20")
    )
    assert on_the_day.citations[0].passage.title == "Pharmacy chain Medix files for bankruptcy"
    assert not on_the_day.notices
    answer = dated.ask("Which chain filed for bankruptcy on 31 September 2023?", filters=_as_of("2023-12-20"))
    assert answer.citations and answer.notices[0] == (
        "There is no 31 September 2023 (September 2023 has 30 days); searched all of September 2023."
    )
    answer = dated.ask("Which chain filed for bankruptcy on 2023-10-32?", filters=_as_of("2023-12-20"))
    assert not any(n.startswith("There is no") for n in answer.notices)  # 32 is no day of any month
    feb = dated.ask("Who won the Harbor Prize on 29 February 2023?", filters=_as_of("2023-12-20"))
    assert "There is no 29 February 2023 (February 2023 has 28 days)" in feb.notices[0]
    (searched,) = HintParser([]).parse("Who spoke on 31 June 2023?").periods  # the month, not a day
    assert (searched.start, searched.end) == (
        datetime(2023, 6, 1, tzinfo=UTC),
        datetime(2023, 6, 30, 23, 59, 59, tzinfo=UTC),
    )
    assert not date_problems("What happened on 29 February 2024, or Feb 29?")  # leap days are dates
    assert not date_problems("In March 45 people were arrested; why may 31 matter?")  # no day named
    assert date_problems("news from 2023-06-31T10:00Z") == [
        "There is no 2023-06-31 (June 2023 has 30 days); searched all of June 2023."
    ]
    assert date_problems("the 30th of February") == [
        "There is no 30th of February (February has 29 days); searched all of February."
    ]


def test_as_of_from_the_cli_the_setting_the_api_and_eval_files(
    dated: Assistant, make_assistant: Make, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(cli_module, "build_assistant", lambda settings: dated)
    out = CliRunner().invoke(
        cli_module.cli, ["ask", "--json", "--as-of", "2022-10-20", "Who won this year's Harbor Prize?"]
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["citations"][0]["title"] == "Harbor Prize goes to Ada Lind"
    configured = Assistant(
        dated.settings.replace(as_of="2022-10-20"), index=dated.index, embedder=dated.embedder
    )
    assert (
        configured.retrieve("Who won this year's Harbor Prize?")[0].title == "Harbor Prize goes to Ada Lind"
    )
    assert parse_filters(None, None, None, "2023-10-08").as_of == datetime(
        2023, 10, 8, 23, 59, 59, tzinfo=UTC
    )
    questions = tmp_path / "q.json"
    questions.write_text(
        json.dumps(
            [
                {"query": "a", "question_date": "2023/10/08"},
                {"query": "b", "as_of": "2022-01-02"},
                {"query": "c"},
            ]
        )
    )
    dates = [q.as_of for q in load_queries(questions)]
    assert dates == [
        datetime(2023, 10, 8, 23, 59, 59, tzinfo=UTC),
        datetime(2022, 1, 2, 23, 59, 59, tzinfo=UTC),
        None,
    ]


def test_relative_phrases_resolve_against_the_moment() -> None:
    wednesday = datetime(2023, 10, 25, 15, tzinfo=UTC)
    cases = {
        "What happened yesterday?": ("2023-10-24", "2023-10-24"),
        "What did Apple announce on Tuesday?": ("2023-10-24", "2023-10-24"),
        "What was decided last month?": ("2023-09-01", "2023-09-30"),
        "Which films came out this summer?": ("2023-06-01", "2023-08-31"),
        "How many jobs were added so far this year?": ("2023-01-01", "2023-10-25"),
        "What did the bank do this week?": ("2023-10-18", "2023-10-25"),
        "Who won the cup final last weekend?": ("2023-10-21", "2023-10-23"),  # reported up to Monday
        "What happened over the weekend?": ("2023-10-21", "2023-10-23"),
    }
    for question, (start, end) in cases.items():
        window = read_time(question, wednesday).window
        assert window is not None, question
        assert (window.start.date().isoformat(), window.end.date().isoformat()) == (start, end), question
    sunday = datetime(2023, 10, 29, 9, tzinfo=UTC)
    during = read_time("Who won last weekend?", sunday).window  # asked during one: the weekend before
    assert during is not None and during.start == datetime(2023, 10, 21, tzinfo=UTC)
    this = read_time("What happened this weekend?", sunday).window
    assert this is not None and (this.start, this.end) == (datetime(2023, 10, 28, tzinfo=UTC), sunday)
    assert read_time("Who is the new speaker?", wednesday).recent
    assert not read_time("What happened in New York in 2017?", wednesday).recent  # a name and a year
    assert not read_time("Who was the first woman ever to win?", wednesday).recent
    compared = read_time("Are exports higher compared to the previous year?", wednesday)
    assert compared.window is None and compared.recent  # a baseline to compare with, about now
    assert read_time("Did sales fall this week compared with last week?", wednesday).label == "this week"
    assert read_time("Is inflation higher than last month?", wednesday).window is None


def test_answers_citing_different_days_show_each_day_beside_its_marker() -> None:
    from assistant.cli.plain import answer_text
    from assistant.types import Answer, Citation, Passage
    from assistant.web.render import answer_html

    old = Passage("c1", "a1", "Prize 2022", "Ada Lind won.", published_at="2022-10-07T10:00:00Z")
    new = Passage("c2", "a2", "Prize 2023", "Tomas Vey won.", published_at="2023-10-06T10:00:00Z")
    answer = Answer(
        "Who won?",
        "Tomas Vey won. [1] Ada Lind won a year earlier. [2]",
        [Citation(1, new, "Tomas Vey won."), Citation(2, old, "Ada Lind won.")],
    )
    assert "Tomas Vey won. [1, 6 Oct 2023] Ada Lind won a year earlier. [2, 7 Oct 2022]" in answer_text(
        answer
    )
    assert ">[1, 6 Oct 2023]<" in answer_html(answer)
    same_day = Answer("Who won?", "Tomas Vey won. [1]", [Citation(1, new, "Tomas Vey won.")])
    assert answer_text(same_day).startswith("Tomas Vey won. [1]\n")  # one day: the sources list says it


def test_reports_that_differ_lead_with_the_newer_one_and_its_date(dated: Assistant) -> None:
    from assistant.cli.plain import answer_text

    # two near-identical reports (2022 and 2023): without the news rule the 2022 one scored first
    prize = dated.ask("Who won the Harbor Prize recently?", filters=_as_of("2023-10-30"))
    assert prize.text.startswith("The Harbor Prize for peace work was awarded to Tomas Vey"), prize.text
    assert prize.citations[0].passage.day == "2023-10-06"  # its date is the cited source's
    speaker = dated.ask("Who is the speaker of the parliament now?", filters=_as_of("2023-10-30"))
    assert speaker.text.startswith("The parliament elected Jon Edel"), speaker.text
    assert "[1, 25 Oct 2023]" in answer_text(speaker) and "[2, 2 Nov 2021]" in answer_text(speaker)
