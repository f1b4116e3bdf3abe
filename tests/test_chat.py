"""Follow-up questions in chat: rewritten to stand alone (LLM condense or carried entities), cited every turn."""

from __future__ import annotations

import html
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from assistant.answer.followups import FollowUps, is_follow_up, named_entities, turns_from_messages
from assistant.embedding import Embedder
from assistant.types import Answer, Filters, Turn
from assistant.web.handlers import App
from assistant.web.render import answer_html
from assistant.web.searched import ASK_WITHOUT_CONTEXT, searched_line
from tests.llm_servers import ScriptedLLM, source_with
from tests.test_llm import index_dir, llm_assistant, new_assistant

__all__ = ["index_dir"]  # the module-scoped index fixture, shared with test_llm

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
FIRST = "What did Putin and Trump discuss in their phone calls?"
FOLLOW = "and what did he say about Iran?"
STANDALONE = "What did Putin tell Trump about Iran in their phone calls?"
MEDIATE = "mediate between Israel and Iran"


def scripted(body: dict[str, Any]) -> str:
    """Condense requests get the standalone question; answer requests a cited answer."""
    text = "\n".join(str(m["content"]) for m in body["messages"])
    if "Standalone question:" in text:
        return STANDALONE
    if "Iran" in text.rsplit("Question:", 1)[-1]:
        n = source_with(body, MEDIATE)
        return f"Putin offered Moscow's help to mediate between Israel and Iran [{n}]."
    n = source_with(body, "50 minutes")
    return f"One of the calls between Putin and Trump lasted approximately 50 minutes [{n}]."


def test_follow_up_detection_and_entities() -> None:
    assert named_entities(FIRST) == ["Putin", "Trump"]
    assert named_entities("Tell me about the Federal Reserve in 2023") == ["Federal Reserve", "2023"]
    assert is_follow_up(FOLLOW) and is_follow_up("What about the Fed?") and is_follow_up("Why?")
    assert not is_follow_up("What did the Federal Reserve decide in November 2023?")


def test_without_llm_entities_are_carried_but_never_filters() -> None:
    previous = Turn(FIRST, "They spoke three times [1].", filters=Filters(sources=("TASS",)))
    rewrite = FollowUps(None, PROMPTS).rewrite(FOLLOW, [previous])
    assert rewrite.method == "entities" and rewrite.question == f"{FOLLOW} (Putin, Trump)"
    assert rewrite.filters is None  # the filters are what the user sent now: cleared means off
    standalone = FollowUps(None, PROMPTS).rewrite("What did the Fed decide in 2023?", [previous])
    assert standalone.question == "What did the Fed decide in 2023?" and standalone.filters is None


def test_a_follow_up_naming_its_own_time_does_not_carry_the_earlier_dates() -> None:
    def follow(question: str, earlier: str) -> str:
        return FollowUps(None, PROMPTS).rewrite(question, [Turn(earlier, "Ferry crews struck [1].")]).question

    strike = "Who went on strike in Port Ellis on 31 September 2026?"
    assert follow("What happened this week?", strike) == "What happened this week? (Port Ellis)"
    assert follow("Why?", strike) == "Why? (Port Ellis, September, 2026)"  # no time of its own: all carried
    apple = "What did Apple announce in September 2023?"
    assert follow("What about in October?", apple) == "What about in October? (Apple, 2023)"  # its year kept


def test_an_unrelated_question_after_filtered_turns_carries_nothing() -> None:
    """The report: filters set, a question asked, filters cleared, then an unrelated question."""
    previous = Turn(
        "What did TechCrunch report about AI startups?",
        "Several raised money [1].",
        filters=Filters(sources=("TechCrunch",)),
    )
    followups = FollowUps(None, PROMPTS)
    apple = "What did Apple say in court about its Google Search deal?"  # 'its' refers to Apple, right here
    rewrite = followups.rewrite(apple, [previous], Filters())
    assert (rewrite.question, rewrite.method, rewrite.filters) == (apple, "none", Filters())
    markup = "<img src=x onerror=alert(1)>"
    assert followups.rewrite(markup, [previous], Filters()).question == markup  # nothing carried into it
    assert not is_follow_up(apple) and not is_follow_up(markup)
    assert is_follow_up("and in Europe?") and is_follow_up("What did they say about it?")


def test_chat_without_llm_answers_the_follow_up_with_citations(index_dir: Path, embedder: Embedder) -> None:
    assistant = new_assistant(index_dir, embedder)
    first = assistant.chat(FIRST)
    assert first.citations and first.standalone_question is None
    answer = assistant.chat(FOLLOW, [Turn.of(first)])
    assert answer.question == FOLLOW and answer.standalone_question == f"{FOLLOW} (Putin, Trump)"
    assert answer.citations and all(c.verified for c in answer.citations)
    assert any("Iran" in c.passage.text for c in answer.citations)


def test_chat_with_llm_condenses_and_cites_every_turn(index_dir: Path, embedder: Embedder) -> None:
    with ScriptedLLM("openai", scripted) as server:
        assistant = llm_assistant(index_dir, embedder, server)
        first = assistant.chat("How long did one of the Putin-Trump calls last?")
        assert len(server.requests) == 1  # no history: no condense call
        second = list(assistant.chat_stream(FOLLOW, [Turn.of(first)]))
    condense, answer_request = server.requests[1], server.requests[2]
    assert "User: How long did one of the Putin-Trump calls last?" in condense.text
    assert (
        "Assistant: One of the calls between Putin and Trump lasted approximately 50 minutes."
        in condense.text
    )
    assert f"Last message: {FOLLOW}" in condense.text
    assert f"Question: {STANDALONE}" in answer_request.text  # retrieval and answer used the rewrite
    final = second[-1]
    assert all(a.question == FOLLOW for a in second) and final.standalone_question == STANDALONE
    for turn in (first, final):
        assert turn.citations and all(c.verified for c in turn.citations) and not turn.notices
    assert MEDIATE in final.text and MEDIATE in final.citations[0].passage.text


def test_condense_failure_falls_back_to_carried_entities(index_dir: Path, embedder: Embedder) -> None:
    with ScriptedLLM("openai", scripted, status=503) as server:
        assistant = llm_assistant(index_dir, embedder, server)
        answer = assistant.chat(FOLLOW, [Turn(FIRST, "They spoke three times [1].")])
    assert answer.standalone_question == f"{FOLLOW} (Putin, Trump)"
    assert answer.citations and "HTTP 503" in answer.notices[0] and server.url in answer.notices[0]
    assert "extractive answer" in answer.notices[-1]


def test_turns_from_chat_messages() -> None:
    messages = [
        {"role": "user", "content": FIRST},
        {"role": "assistant", "content": "They spoke three times [1]."},
        {"role": "assistant", "content": {"path": "plot.png"}},
        {"role": "user", "content": "Unanswered?"},
    ]
    assert turns_from_messages(messages) == [Turn(FIRST, "They spoke three times [1]."), Turn("Unanswered?")]


@pytest.mark.parametrize("question", ["", "   "])
def test_no_history_no_rewrite(question: str) -> None:
    rewrite = FollowUps(None, PROMPTS).rewrite(question, [])
    assert rewrite.question == question and rewrite.method == "none"


def test_chat_answers_record_the_filters_they_ran_with(index_dir: Path, embedder: Embedder) -> None:
    """Answer.filters is what the question really ran with (the API gets it as plain data); a follow-up
    after a filtered turn runs with the filters sent now, and a cleared filter is off."""
    assistant = new_assistant(index_dir, embedder, as_of="2030-01-01")
    since = datetime(2020, 1, 1, tzinfo=UTC)
    first = assistant.chat(FIRST, filters=Filters(since=since, sources=("Nowhere Daily",)))
    end = datetime(2030, 1, 1, 23, 59, 59, tzinfo=UTC)  # the as_of setting, a bare day counted to its end
    assert first.filters == Filters(since=since, sources=("Nowhere Daily",), as_of=end)
    assert json.loads(json.dumps(first.to_dict()))["filters"] == {
        "since": "2020-01-01T00:00:00Z",
        "until": None,
        "sources": ["Nowhere Daily"],
        "as_of": "2030-01-01T23:59:59Z",
    }
    assert not first.citations  # the outlet filter was applied: no article is from it
    *_, follow = assistant.chat_stream(FOLLOW, [Turn.of(first, first.filters)], filters=Filters())
    assert follow.filters == Filters(as_of=end) and follow.citations  # nothing carried from the first turn
    assert searched_line(follow) == f"Searched for: {follow.standalone_question} · As of 1 Jan 2030"
    plain = new_assistant(index_dir, embedder).chat(FIRST)
    assert plain.filters == Filters() and not plain.filters.active and searched_line(plain) == ""
    assert plain.to_dict()["filters"] == {"since": None, "until": None, "sources": [], "as_of": None}


def test_searched_line_says_what_was_searched_and_is_escaped() -> None:
    day1, day2 = datetime(2023, 11, 1, tzinfo=UTC), datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC)
    asked = Answer(question="What did Apple say?", text="...", filters=Filters())
    assert searched_line(asked) == "" and "nq-searched" not in answer_html(asked)
    filtered = replace(asked, filters=Filters(since=day1, until=day2, sources=("TechCrunch", "The Verge")))
    line = "Searched with filters: Outlets: TechCrunch, The Verge · From 1 Nov 2023 to 31 Dec 2023"
    assert searched_line(filtered) == line
    assert (
        searched_line(replace(asked, filters=Filters(since=day1))) == "Searched with filters: From 1 Nov 2023"
    )
    assert (
        searched_line(replace(asked, filters=Filters(until=day2)))
        == "Searched with filters: Up to 31 Dec 2023"
    )
    follow = replace(asked, question="and why?", standalone_question="and why? (Apple)", filters=None)
    assert searched_line(follow) == "Searched for: and why? (Apple)"
    markup = "<img src=x onerror=alert(1)>"
    evil = replace(follow, standalone_question=f"and {markup}?", filters=Filters(sources=("<b>x</b>",)))
    shown = answer_html(evil)
    assert "<img" not in shown and "<b>" not in shown  # inert text
    assert f"Searched for: and {markup}? · Outlets: <b>x</b>" in html.unescape(shown)


def test_ask_without_context_re_asks_the_follow_up_alone(index_dir: Path, embedder: Embedder) -> None:
    app = App(new_assistant(index_dir, embedder))
    *_, (_, history, _, turns) = app.chat(FIRST, [], [], 5, None, None, None)
    assert "options" not in history[-1]  # asked as typed: nothing to undo
    *_, (_, history, _, turns) = app.chat(FOLLOW, history, turns, 5, None, None, None)
    assert history[-1]["options"] == [{"label": ASK_WITHOUT_CONTEXT, "value": FOLLOW}]
    assert "Searched for: " in html.unescape(history[-1]["content"])
    *_, (history, cards, turns) = app.ask_without_context(history, turns, 5, None, None, ["Nowhere Daily"])
    assert len(history) == 6 and html.unescape(history[-2]["content"]) == FOLLOW  # the user's own words
    last = html.unescape(history[-1]["content"])
    assert "Searched for" not in last and "Searched with filters: Outlets: Nowhere Daily" in last
    assert "options" not in history[-1] and "nq-card" not in cards  # the panel's outlet filter was used
    assert len(turns) == 3 and turns[-1].question == FOLLOW and turns[-1].standalone is None
    [(unchanged, _, same)] = list(app.ask_without_context(history, turns, 5, None, None, None))
    assert unchanged == history and same == turns  # the last answer was not rewritten: nothing to do


def test_the_ask_api_returns_the_filters_it_ran_with(index_dir: Path, embedder: Embedder) -> None:
    result = App(new_assistant(index_dir, embedder)).ask_api(FIRST, 5, "2020-01-01", None, None, None)
    assert result["filters"] == {"since": "2020-01-01T00:00:00Z", "until": None, "sources": [], "as_of": None}
    assert result["citations"] and result["standalone_question"] is None
