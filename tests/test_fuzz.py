"""Fuzzing with hypothesis, bounded so that it fits CI: every reader and the whole question path (hint
parsing, retrieval, the extractive answer, an LLM answer of arbitrary text through the citation check)
take arbitrary input without a traceback. A reader's answer is an Article or an InputError, never an
exception; a question is answered or refused, never a crash."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.answer.compose import digest_topic, refers_back, sides, wants_digest
from assistant.assistant import Assistant
from assistant.embedding import Embedder
from assistant.errors import InputError
from assistant.ingest.files import read_file
from assistant.retrieval.hints import HintParser
from assistant.retrieval.support import asked
from assistant.settings import Settings
from assistant.types import Article
from tests.conftest import SEED
from tests.llm_servers import ScriptedLLM

EXAMPLES = 60  # per property: ~8 properties, ~500 inputs, well under a minute
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)

# Text people and feeds really send: words, dates, numbers, quotes, markup, control and odd characters.
PIECES = st.sampled_from(
    [
        "Reuters",
        "BBC",
        "2023-24",
        "December 31",
        "9999-12-31",
        "0001-01-01T00:00:00+05:00",
        "1e20",
        '""',
        '"',
        ",",
        ";",
        "\t",
        "\n",
        "\r\n",
        "\x00",
        "\ufeff",
        "<img src=x onerror=alert(1)>",
        "title",
        "body",
        "published_at",
        "source",
        "url",
        "{",
        "}",
        "[",
        "]",
        ":",
        "Title: x",
        "Date: ",
        "---",
        "# heading",
        "this week",
        "in 2017",
        "Who",
        "?",
        "and",
        "what about",
        "Q3",
        "3.5%",
        "Putin",
        "Trump",
        "2023-10-05",
        "May",
        "last month",
        "on 31 February 2023",
        "June 31st",
        "on 5 October 2023",
        "2023-02-29",
        "compared to the previous year",
        "What happened",
        "yesterday",
        "\u202e",
        "é",
        "日本",
        "🙂",
    ]
)
TEXT = st.lists(st.one_of(PIECES, st.text(max_size=12)), max_size=40).map(" ".join)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | TEXT,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.one_of(PIECES, st.text(max_size=8)), inner, max_size=5)
    ),
    max_leaves=20,
)


def _read(name: str, data: bytes) -> list[object]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        results = list(read_file(path))
    for item in results:
        assert isinstance(item, Article | InputError), item
        if isinstance(item, InputError):
            assert item.origin and item.reason
    return results


@FUZZ
@given(value=JSON_VALUE)
def test_json_and_jsonl_readers_never_raise(value: Any) -> None:
    text = json.dumps(value, allow_nan=True)
    _read("dump.json", text.encode())
    _read("dump.jsonl", (text + "\n" + text).encode())


@FUZZ
@given(text=TEXT)
def test_csv_text_and_html_readers_never_raise(text: str) -> None:
    for name in ("rows.csv", "note.txt", "page.html"):
        _read(name, f"title,body,published_at\n{text}".encode(errors="surrogatepass"))


@FUZZ
@given(data=st.binary(max_size=300))
def test_any_bytes_are_an_article_or_a_reason(data: bytes) -> None:
    for name in ("x.json", "x.csv", "x.txt"):
        _read(name, data)


@FUZZ
@given(question=TEXT)
def test_hint_parsing_never_raises(question: str) -> None:
    parser = HintParser(["Reuters", "BBC News", "The Verge"])
    hints = parser.parse(question)
    assert all(p.start <= p.end for p in hints.periods)


@FUZZ
@given(question=TEXT)
def test_reading_what_a_question_asks_never_raises(question: str) -> None:
    """The support check and the answer's shaping read every question (retrieval/support, answer/compose)."""
    hints = HintParser(["Reuters", "BBC News", "The Verge"]).parse(question)
    what = asked(hints.stripped or question)
    assert all(name.strip() for name in what.names) and all(
        n.replace(".", "").isdigit() for n in what.numbers
    )
    sides(question, hints, what.names)
    wants_digest(question, hints)
    digest_topic(question)
    refers_back(question)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Assistant]:
    index = tmp_path_factory.mktemp("fuzz") / "index"
    assistant = Assistant(Settings.load(env={}, index=index), embedder=embedder)
    assert not assistant.ingest(assistant.read([str(SEED)])).failed
    yield assistant


def test_questions_never_crash_retrieval_or_the_extractive_answer(seeded: Assistant) -> None:
    @FUZZ
    @given(question=TEXT, k=st.integers(1, 20))
    def run(question: str, k: int) -> None:
        answer = seeded.ask(question, k=k)
        assert answer.abstained or answer.citations

    run()


def test_arbitrary_llm_text_goes_through_the_citation_check(
    seeded: Assistant, embedder: Embedder, tmp_path: Path
) -> None:
    said: list[str] = [""]
    with ScriptedLLM("openai", lambda _body: said[0]) as server:
        settings_ = seeded.settings.replace(
            llm="openai:fuzz", llm_base_url=server.url, llm_api_key="k", llm_timeout=10.0
        )
        assistant = Assistant(settings_, embedder=embedder, index=seeded.index)

        @FUZZ
        @given(
            reply=st.lists(
                st.one_of(TEXT, st.sampled_from(["[1]", "[2]", "[99]", "[1, 2]", "[source 1]"])), max_size=12
            ).map(" ".join)
        )
        def run(reply: str) -> None:
            said[0] = reply
            answer = assistant.ask("How long did one of the Putin-Trump calls last?")
            numbers = {c.n for c in answer.citations}
            assert all(f"[{n}]" in answer.text for n in numbers)  # every citation shown is in the text

        run()
