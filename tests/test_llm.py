"""LLM answers end to end over real HTTP on 127.0.0.1: the real llama-index clients against scripted servers."""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import os
import re
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from assistant.answer.backends import parse_spec
from assistant.answer.citations import CitationChecker, marker_numbers
from assistant.answer.compose import digest_label
from assistant.assistant import Assistant
from assistant.cli.main import cli
from assistant.embedding import Embedder
from assistant.errors import ConfigError
from assistant.settings import Settings
from assistant.types import UNSUPPORTED_MARK, Filters
from tests.llm_servers import ScriptedLLM, source_with, sources_in

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "examples" / "putin-trump-talks.txt"
KEY = "sk-test-secret-4242"
CALL_Q = "How long did one of the Putin-Trump calls last?"
OFF_TOPIC_Q = "What is the best recipe for sourdough bread with rye flour?"
TINY = [
    {
        "title": "Fed holds interest rates steady",
        "source": "Reuters",
        "published_at": "2023-11-01T18:00:00Z",
        "body": "The Federal Reserve kept its benchmark interest rate unchanged at 5.25% to 5.5% on Wednesday. "
        "Fed Chair Jerome Powell said inflation was still too high. "
        "The decision was unanimous among the 12 voting members of the committee.",
    },
    {
        "title": "Putin offers to mediate between Israel and Iran",
        "source": "TASS",
        "published_at": "2025-06-14T09:30:00Z",
        "body": "Vladimir Putin told Donald Trump in a phone call that Russia condemns the Israeli strikes on Iran. "
        "Putin offered Moscow's help to mediate between Israel and Iran, the Kremlin said. "
        "Iran's nuclear programme was the main subject of the call, according to Kremlin aide Yuri Ushakov.",
    },
]


def write_corpus(folder: Path) -> Path:
    """The seed article and two tiny dated articles, as files the readers take."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "seed.txt").write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "tiny.json").write_text(json.dumps(TINY), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """One small real index (seed + tiny articles) shared by this module's tests."""
    base = tmp_path_factory.mktemp("llm")
    assistant = new_assistant(base / "index", embedder)
    report = assistant.ingest(assistant.read([str(write_corpus(base / "corpus"))]))
    assert report.added == 3, report.summary()
    return base / "index"


def new_assistant(index: Path, embedder: Embedder, **overrides: Any) -> Assistant:
    """An Assistant over `index` with the session's embedder and the given settings."""
    return Assistant(Settings.load(env={}, index=index, **overrides), embedder=embedder)


def llm_assistant(index: Path, embedder: Embedder, server: ScriptedLLM, **overrides: Any) -> Assistant:
    """An Assistant whose LLM is the scripted server, through the real llama-index client."""
    model = "test-model" if server.protocol == "openai" else "llama3.1"
    overrides.setdefault("llm_timeout", 10.0)
    return new_assistant(
        index,
        embedder,
        llm=f"{server.protocol}:{model}",
        llm_base_url=server.url,
        llm_api_key=KEY,
        **overrides,
    )


def good_reply(body: dict[str, Any]) -> str:
    n = source_with(body, "50 minutes")
    return f"One of the calls between Putin and Trump lasted approximately 50 minutes [{n}]."


def wrong_source(body: dict[str, Any]) -> int:
    """A source that does not say how long the call lasted (the Iran article when retrieved)."""
    try:
        return source_with(body, "mediate between Israel and Iran")
    except AssertionError:
        return source_with(body, "50 minutes", without=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cited_answer_end_to_end_openai(
    index_dir: Path, embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with ScriptedLLM("openai", good_reply) as server:
        answer = llm_assistant(index_dir, embedder, server).ask(CALL_Q)
    assert len(server.requests) == 1
    request = server.requests[0]
    assert request.path == "/v1/chat/completions" and request.body["model"] == "test-model"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body.get("stream")  # streamed, so llm_timeout bounds a stall, not the whole reply
    assert datetime.now(UTC).date().isoformat() in request.text  # today's date is in the prompt
    sources = sources_in(request.body)
    assert any(re.match(r"\[\d+\] TASS, 2025-06-14 — ", s) for s in sources.values())  # outlet, date first
    n = source_with(request.body, "50 minutes")
    assert answer.backend == "openai:test-model" and not answer.abstained and not answer.notices
    assert answer.text == f"One of the calls between Putin and Trump lasted approximately 50 minutes [{n}]."
    assert [c.n for c in answer.citations] == [n] and all(c.verified for c in answer.citations)
    assert "50 minutes" in answer.citations[0].sentence
    assert answer.sentences[0].supported and answer.sentences[0].cited == (n,)
    assert KEY not in caplog.text and KEY not in json.dumps(answer.to_dict())


def test_planted_wrong_citation_is_moved_to_the_supporting_passage(
    index_dir: Path, embedder: Embedder
) -> None:
    def wrong(body: dict[str, Any]) -> str:
        return f"One of the calls between Putin and Trump lasted approximately 50 minutes [{wrong_source(body)}]."

    with ScriptedLLM("openai", wrong) as server:
        answer = llm_assistant(index_dir, embedder, server).ask(CALL_Q)
    body = server.requests[0].body
    right, fed = source_with(body, "50 minutes"), wrong_source(body)
    assert answer.sentences[0].claimed == (fed,) and answer.sentences[0].cited == (right,)
    assert f"[{right}]" in answer.text and f"[{fed}]" not in answer.text
    assert [c.n for c in answer.citations] == [right] and answer.citations[0].verified
    assert any("moved or dropped" in note for note in answer.notices)


def test_wrong_second_citation_is_dropped_and_unsupported_sentence_marked(
    index_dir: Path, embedder: Embedder
) -> None:
    def reply(body: dict[str, Any]) -> str:
        right, fed = source_with(body, "50 minutes"), wrong_source(body)
        return (
            f"One of the calls between Putin and Trump lasted approximately 50 minutes [{right}][{fed}]. "
            f"Putin and Trump agreed to meet in Helsinki in March 2026 [{right}]."
        )

    with ScriptedLLM("openai", reply) as server:
        answer = llm_assistant(index_dir, embedder, server).ask(CALL_Q)
    right, fed = source_with(server.requests[0].body, "50 minutes"), wrong_source(server.requests[0].body)
    first, second = answer.sentences
    assert first.supported and first.cited == (right,) and first.claimed == (right, fed)
    assert not second.supported and second.cited == () and answer.unsupported == [second]
    assert answer.text.endswith(f"Helsinki in March 2026 {UNSUPPORTED_MARK}.")
    assert [c.n for c in answer.citations] == [right]
    assert answer.to_dict()["sentences"][1]["supported"] is False


def test_no_evidence_means_no_llm_call(index_dir: Path, embedder: Embedder) -> None:
    with ScriptedLLM("openai", good_reply) as server:
        answer = llm_assistant(index_dir, embedder, server).ask(OFF_TOPIC_Q)
        streamed = list(llm_assistant(index_dir, embedder, server).ask_stream(OFF_TOPIC_Q))
    assert server.requests == []  # the server saw nothing
    assert answer.abstained and answer.citations == []
    assert answer.text == (ROOT / "prompts" / "refusal.txt").read_text(encoding="utf-8").strip()
    assert len(streamed) == 1 and streamed[0].abstained


def test_model_refusal_is_an_abstention(index_dir: Path, embedder: Embedder) -> None:
    refusal = (ROOT / "prompts" / "refusal.txt").read_text(encoding="utf-8").strip()
    with ScriptedLLM("openai", lambda body: refusal) as server:
        answer = llm_assistant(index_dir, embedder, server).ask(CALL_Q)
    assert len(server.requests) == 1 and answer.abstained and answer.text == refusal and not answer.citations


def test_openai_sse_streaming_then_checked(index_dir: Path, embedder: Embedder) -> None:
    with ScriptedLLM("openai", good_reply) as server:
        snapshots = list(llm_assistant(index_dir, embedder, server).ask_stream(CALL_Q))
    assert server.requests[0].body["stream"] is True
    partial, final = snapshots[:-1], snapshots[-1]
    assert len(partial) >= 5 and all(a.partial for a in partial) and not final.partial
    assert all(len(a.text) < len(b.text) for a, b in itertools.pairwise(partial))
    assert all(not c.verified for a in partial for c in a.citations)
    n = source_with(server.requests[0].body, "50 minutes")
    assert final.text.endswith(f"50 minutes [{n}].") and [c.verified for c in final.citations] == [True]


@pytest.mark.parametrize("stream", [False, True])
def test_ollama_api_chat(index_dir: Path, embedder: Embedder, stream: bool) -> None:
    with ScriptedLLM("ollama", good_reply) as server:
        assistant = llm_assistant(index_dir, embedder, server, llm_context_window=4096)
        answer = list(assistant.ask_stream(CALL_Q))[-1] if stream else assistant.ask(CALL_Q)
    request = server.requests[0]
    assert request.path == "/api/chat" and request.body["model"] == "llama3.1"
    assert request.body["stream"] is True and request.body["options"]["num_ctx"] == 4096  # ask streams too
    n = source_with(request.body, "50 minutes")
    assert answer.backend == "ollama:llama3.1" and [c.n for c in answer.citations] == [n]
    assert answer.citations[0].verified and not answer.notices


def assert_fell_back(answer: Any, what: str, url: str) -> None:
    assert not answer.abstained and answer.citations and answer.backend == "extractive"
    note = " ".join(answer.notices)
    assert what in note and url in note and "extractive answer" in note and KEY not in note


def test_timeout_falls_back_to_extractive(index_dir: Path, embedder: Embedder) -> None:
    with ScriptedLLM("openai", good_reply, delay=3.0) as server:
        answer = llm_assistant(index_dir, embedder, server, llm_timeout=0.5).ask(CALL_Q)
    assert len(server.requests) == 1  # no retries
    assert_fell_back(answer, "openai:test-model", server.url)
    assert "did not answer within 0.5s" in answer.notices[-1]
    with ScriptedLLM("ollama", good_reply, delay=3.0) as server:
        streamed = list(llm_assistant(index_dir, embedder, server, llm_timeout=0.5).ask_stream(CALL_Q))
    assert len(streamed) == 1 and "did not answer within 0.5s" in streamed[0].notices[-1]
    assert_fell_back(streamed[0], "ollama:llama3.1", server.url)


def test_connection_refused_falls_back(index_dir: Path, embedder: Embedder) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for spec in ("ollama:llama3.1", "openai:test-model"):
        assistant = new_assistant(index_dir, embedder, llm=spec, llm_base_url=url, llm_timeout=5.0)
        answer = assistant.ask(CALL_Q)
        assert_fell_back(answer, spec, url)
        assert "unreachable" in answer.notices[-1]
        streamed = list(assistant.ask_stream(CALL_Q))
        assert len(streamed) == 1 and streamed[0].notices == answer.notices


def test_server_error_falls_back(index_dir: Path, embedder: Embedder) -> None:
    with ScriptedLLM("openai", good_reply, status=500) as server:
        answer = llm_assistant(index_dir, embedder, server).ask(CALL_Q)
    assert_fell_back(answer, "openai:test-model", server.url)
    assert "HTTP 500" in answer.notices[-1]


def test_cli_streams_tokens_and_reads_the_key_from_the_environment(index_dir: Path) -> None:
    with ScriptedLLM("openai", good_reply) as server:
        result = CliRunner().invoke(
            cli,
            [
                "--index",
                str(index_dir),
                "--llm",
                "openai:test-model",
                "--llm-base-url",
                server.url,
                "ask",
                CALL_Q,
            ],
            env={"NEWSQA_LLM_API_KEY": KEY},
        )
    assert result.exit_code == 0, result.output
    assert server.requests[0].body["stream"] is True
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert "lasted approximately 50 minutes [" in result.output and "Sources:" in result.output
    assert KEY not in result.output


def test_backend_specs() -> None:
    assert parse_spec("none") is None
    spec = parse_spec("ollama:llama3.1")
    assert spec is not None and spec.where == "http://127.0.0.1:11434"
    spec = parse_spec("openai:gpt-4o-mini", "http://127.0.0.1:8000/v1/")
    assert spec is not None and spec.describe == "openai:gpt-4o-mini at http://127.0.0.1:8000/v1"
    for bad in ("gpt4", "vllm:x", "openai:", "llamacpp:/models/x.bin"):
        with pytest.raises(ConfigError):
            parse_spec(bad)
    assert Settings.load(env={"NEWSQA_LLM": "ollama:qwen2.5"}).llm == "ollama:qwen2.5"


GGUF = os.environ.get("NEWSQA_TEST_GGUF")
needs_gguf = pytest.mark.skipif(
    not GGUF, reason="set NEWSQA_TEST_GGUF=/path/model.gguf to run the llamacpp: backend for real"
)


def assert_shown_claims_hold(answer: Any, label: str, embedder: Embedder) -> None:
    """What holds whatever a (maybe tiny) model writes: the model's checked answer is shown, or its answer
    could not be verified and the extractive one is (no other failure); and every shown sentence carrying
    [n] is supported by article n's cited passages, checked again here from the shown text alone: the
    citation checker verifies it, or it is quoted word for word (after a digest line's 'date, outlet:')."""
    assert answer.text and not answer.partial
    if answer.backend == "extractive":  # the model ran, but no sentence of its answer held
        assert answer.notices[-1] == (
            f"The {label} answer could not be verified against the articles; extractive answer shown."
        ), answer.notices
    else:
        assert answer.backend == label, answer.notices
        assert all(s.supported or UNSUPPORTED_MARK in answer.text for s in answer.sentences)
    by_n = {c.n: c for c in answer.citations}
    assert set(marker_numbers(answer.text)) == set(by_n), answer.text
    assert all(c.verified for c in answer.citations)
    order = sorted(by_n)  # source i = the article marked order[i - 1]: its cited passages, date and outlet
    number = {n: i for i, n in enumerate(order, 1)}
    text = re.sub(r"\[(\d+)\]", lambda m: f"[{number[int(m.group(1))]}]", answer.text)
    articles = [by_n[n].cited for n in order]
    sources = [
        dataclasses.replace(cited[0][0], text="\n".join(f"{digest_label(p)} {p.text}" for p, _ in cited))
        for cited in articles
    ]
    refusal = (ROOT / "prompts" / "refusal.txt").read_text(encoding="utf-8").strip()
    marked = [s for s in CitationChecker(embedder, refusal).check(text, sources).sentences if s.claimed]
    assert len(marked) >= min(1, len(order))
    for s in marked:
        verified = s.supported and s.cited and set(s.cited) <= set(s.claimed)
        quoted = any(
            s.text.removeprefix(digest_label(p)).strip() in " ".join(p.text.split())
            for n in s.claimed
            for p, _ in articles[n - 1]
        )
        assert verified or quoted, s


@needs_gguf
def test_llamacpp_gguf_model_for_real(index_dir: Path, embedder: Embedder) -> None:
    pytest.importorskip(
        "llama_cpp", reason="llama-cpp-python is not installed (pip install 'newsqa[llamacpp]')"
    )
    label = f"llamacpp:{GGUF}"
    assistant = new_assistant(index_dir, embedder, llm=label, llm_context_window=4096, llm_timeout=300.0)
    assert_shown_claims_hold(assistant.ask(CALL_Q), label, embedder)
    streamed = list(assistant.ask_stream(CALL_Q))
    assert all(a.partial for a in streamed[:-1]) and len(streamed) >= 2  # the model's tokens, then the end
    assert_shown_claims_hold(streamed[-1], label, embedder)


@needs_gguf
def test_llamacpp_gguf_model_past_llm_timeout_falls_back(index_dir: Path, embedder: Embedder) -> None:
    pytest.importorskip(
        "llama_cpp", reason="llama-cpp-python is not installed (pip install 'newsqa[llamacpp]')"
    )
    label = f"llamacpp:{GGUF}"
    assistant = new_assistant(index_dir, embedder, llm=label, llm_context_window=4096, llm_timeout=0.001)
    answer = assistant.ask(CALL_Q)  # reading the prompt alone takes longer than 1 ms
    assert answer.backend == "extractive" and answer.citations and not answer.abstained
    assert f"LLM backend {label} at {GGUF} did not answer within 0.001s" in answer.notices[-1]
    assert "extractive answer" in answer.notices[-1]


def test_a_registered_backend_is_parsed_and_built() -> None:
    from llama_index.core.llms import LLM, ChatMessage, MockLLM

    from assistant.answer.backends import BACKENDS, SPEC_HELP, BackendSpec, LLMBackend, build_llm, register

    config = Settings.load(env={})

    @register("echo")
    def echo(spec: BackendSpec, settings: Settings) -> LLM:
        return MockLLM()  # llama-index's own test LLM: it replies with the prompt it was sent

    try:
        spec = parse_spec("echo:tiny")
        assert spec == BackendSpec("echo", "tiny")
        assert isinstance(build_llm(spec, config), MockLLM)
        reply = LLMBackend(spec, config).chat([ChatMessage(role="user", content="hello echo")])
        assert "hello echo" in reply
        with pytest.raises(ConfigError) as err:
            parse_spec("vllm:x")
        assert str(err.value).endswith("llamacpp:/path/model.gguf or echo:MODEL.")
    finally:
        del BACKENDS["echo"]
    with pytest.raises(ConfigError) as err:
        build_llm(spec, config)  # no longer registered: the error lists the names that are
    assert str(err.value) == f"--llm 'echo:tiny' is not a backend. {SPEC_HELP}"
    assert "ollama:MODEL" in SPEC_HELP and "echo" not in SPEC_HELP


def test_the_llm_is_told_the_as_of_day_as_today(index_dir: Path, embedder: Embedder) -> None:
    as_of = datetime(2025, 6, 20, 23, 59, tzinfo=UTC)
    with ScriptedLLM("openai", good_reply) as server:
        answer = llm_assistant(index_dir, embedder, server).ask(CALL_Q, filters=Filters(as_of=as_of))
    assert "Today's date is 2025-06-20" in server.requests[0].text
    assert datetime.now(UTC).date().isoformat() not in server.requests[0].text
    assert answer.backend == "openai:test-model" and "50 minutes" in answer.text


def test_each_source_is_its_best_sentences_within_the_budget(index_dir: Path, embedder: Embedder) -> None:
    """The model reads each source's best sentences (and neighbours) up to llm_source_chars, not whole
    passages; with 0 it reads whole passages."""
    with ScriptedLLM("openai", good_reply) as server:
        cut = llm_assistant(index_dir, embedder, server, llm_source_chars=200).ask(CALL_Q)
        whole = llm_assistant(index_dir, embedder, server, llm_source_chars=0).ask(CALL_Q)
    short, full = (sources_in(r.body) for r in server.requests)
    assert not cut.abstained and not whole.abstained
    n = source_with(server.requests[0].body, "50 minutes")  # the sentence that answers is kept
    text_of = lambda block: block.split("\n", 2)[1]  # noqa: E731 (line 1: outlet, date, title; 2: text)
    assert all(len(text_of(block)) <= 200 for block in short.values())
    assert sum(len(text_of(b)) for b in full.values()) > 2 * sum(len(text_of(b)) for b in short.values())
    assert "50 minutes" in text_of(short[n])
