"""Refresh and wire stories into a real Chroma store, feeds served by a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.assistant import Assistant
from assistant.cli import main as cli_module
from assistant.cli.plain import answer_text
from assistant.errors import ConfigError
from assistant.ingest.watch import STATE_FILE, PollReport, Watcher, parse_every
from tests.conftest import ROOT, interruptible
from tests.news_server import FLOODS, RATES, NewsServer, page, rss

Make = Callable[..., Assistant]
WIRE = [
    "GENEVA (Wire) - Negotiators from forty countries agreed on Friday to cut plastic production by a "
    "fifth before 2035, ending two weeks of talks that had repeatedly stalled over financing.",
    "The accord still needs ratification by national parliaments, and several oil-producing states said "
    "they would seek exemptions for medical and food packaging.",
]


def _feed(server: NewsServer, path: str, title: str, items: list[tuple[str, str]], etag: str = '"v1"') -> str:
    """An RSS feed with an ETag whose items link to pages on the server."""
    entries = [{"title": t, "link": server.url(p), "guid": server.url(p)} for t, p in items]
    return server.add(path, rss(title, entries), content_type="application/rss+xml", etag=etag)


def _chunk_article_ids(assistant: Assistant) -> list[str]:
    got = assistant.index.collection.get(include=["metadatas"])
    return [str(m["article_id"]) for m in got["metadatas"] or []]


def test_second_poll_with_etag_transfers_and_indexes_nothing(
    server: NewsServer, make_assistant: Make
) -> None:
    server.add("/rates", page("Bank holds rates", RATES, "Port Daily"))
    feed = _feed(server, "/rss", "Port Daily", [("Bank holds rates", "/rates")])
    assistant = make_assistant(allow_private_urls=True)
    watcher = Watcher(assistant, [feed])
    first = watcher.poll()
    assert (first.added, first.failed) == (1, [])
    sent = dict(server.bytes_sent)
    second = watcher.poll()
    assert second.not_modified == 1 and second.entries_new == 0 and second.added == 0
    assert server.not_modified["/rss"] == 1
    assert server.bytes_sent == sent  # nothing transferred: a 304 without a body
    assert server.hits["/rates"] == 1  # the page was not fetched again
    state = json.loads((Path(assistant.settings.index) / STATE_FILE).read_text())
    assert state["feeds"][feed]["etag"] == '"v1"'


def test_restart_neither_loses_nor_duplicates(server: NewsServer, make_assistant: Make) -> None:
    server.add("/rates", page("Bank holds rates", RATES, "Port Daily"))
    server.add("/floods", page("River floods lower town", FLOODS, "Port Daily"))
    feed = _feed(server, "/rss", "Port Daily", [("Bank holds rates", "/rates")])
    Watcher(make_assistant(allow_private_urls=True), [feed]).poll()
    # a new entry while the watcher was stopped; a fresh process picks up from feeds.json
    _feed(
        server,
        "/rss",
        "Port Daily",
        [("River floods lower town", "/floods"), ("Bank holds rates", "/rates")],
        '"v2"',
    )
    restarted = make_assistant(allow_private_urls=True)
    reports: list[PollReport] = []
    Watcher(restarted, [feed]).run(every=0.01, polls=2, on_report=reports.append)
    assert [(r.added, r.not_modified) for r in reports] == [(1, 0), (0, 1)]
    ids = _chunk_article_ids(restarted)
    assert len(set(ids)) == 2 and len(ids) == 2  # each article once, one chunk each
    assert server.hits["/rates"] == 1 and server.hits["/floods"] == 1  # the known entry was not refetched
    # killed after indexing but before saving its state: the next run re-reads, the index holds no copies
    (Path(restarted.settings.index) / STATE_FILE).unlink()
    again = Watcher(make_assistant(allow_private_urls=True), [feed]).poll()
    assert (again.added, again.unchanged) == (0, 2)
    assert len(_chunk_article_ids(restarted)) == 2


def test_failing_feed_and_page_are_logged_and_retried_later(server: NewsServer, make_assistant: Make) -> None:
    server.add("/rates", page("Bank holds rates", RATES, "Port Daily"))
    good = _feed(server, "/good", "Port Daily", [("Bank holds rates", "/rates"), ("Floods", "/floods")])
    assistant = make_assistant(allow_private_urls=True)
    watcher = Watcher(assistant, [server.url("/broken"), good])
    first = watcher.poll()
    assert first.added == 1
    assert [f.origin for f in first.failed] == [server.url("/broken"), server.url("/floods")]
    # the page that failed comes back: the next poll fetches the whole feed again (no 304) and adds it
    server.add("/floods", page("River floods lower town", FLOODS, "Port Daily"))
    second = watcher.poll()
    assert second.not_modified == 0 and second.entries_new == 1 and second.added == 1
    assert watcher.poll().not_modified == 1  # all done: now the ETag is used


def test_wire_story_from_two_outlets_is_one_story_with_both_sources(
    server: NewsServer, make_assistant: Make
) -> None:
    server.add("/a/plastic", page("Nations agree to cut plastic", WIRE, "Alpha Times"))
    server.add(
        "/b/plastic",
        page("Plastic accord reached in Geneva", [*WIRE, "(Reporting by Wire staff)"], "Beta Post"),
    )
    server.add("/b/floods", page("River floods lower town", FLOODS, "Beta Post"))
    alpha = _feed(server, "/a/rss", "Alpha Times", [("Nations agree to cut plastic", "/a/plastic")])
    beta = _feed(server, "/b/rss", "Beta Post", [("Plastic accord", "/b/plastic"), ("Floods", "/b/floods")])
    assistant = make_assistant(allow_private_urls=True)
    assert Watcher(assistant, [alpha, beta]).poll().added == 3
    metas = assistant.index.collection.get(include=["metadatas"])["metadatas"] or []
    stories = {str(m["source"]) + ":" + str(m["title"]): m["story_id"] for m in metas}
    assert (
        stories["Alpha Times:Nations agree to cut plastic"]
        == stories["Beta Post:Plastic accord reached in Geneva"]
    )
    assert stories["Beta Post:River floods lower town"] != stories["Alpha Times:Nations agree to cut plastic"]
    passages = assistant.retrieve("What did negotiators agree about plastic production?", k=3)
    plastic = [p for p in passages if "plastic" in p.text]
    assert len(plastic) == 1  # the story once
    [story] = plastic
    assert {story.source, *story.also_reported_by} == {"Alpha Times", "Beta Post"}
    assert story.source not in story.also_reported_by
    answer = assistant.ask("What did negotiators agree about plastic production?")
    assert answer.citations and answer.citations[0].passage.also_reported_by
    assert "also reported by: " in answer_text(answer)
    cited = answer.to_dict()["citations"][0]
    assert {cited["source"], *cited["also_reported_by"]} == {"Alpha Times", "Beta Post"}


def test_later_version_of_the_same_url_replaces_the_earlier(server: NewsServer, make_assistant: Make) -> None:
    url = server.add("/rates", page("Bank holds rates", RATES, "Port Daily"))
    assistant = make_assistant(allow_private_urls=True)
    assert assistant.ingest(assistant.read([url])).added == 1
    server.add("/rates", page("Bank cuts rates", [RATES[0].replace("held", "cut"), RATES[1]], "Port Daily"))
    report = assistant.ingest(assistant.read([url]))
    assert (report.added, report.updated) == (0, 1)
    got = assistant.index.collection.get(include=["documents", "metadatas"])
    assert [m["title"] for m in got["metadatas"] or []] == ["Bank cuts rates"]
    assert "cut its main interest rate" in (got["documents"] or [""])[0]


def test_cli_ingest_feed_opml_and_watch_once(
    server: NewsServer, make_assistant: Make, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server.add("/rates", page("Bank holds rates", RATES, "Port Daily"))
    server.add("/floods", page("River floods lower town", FLOODS, "Metro"))
    port = _feed(server, "/port", "Port Daily", [("Bank holds rates", "/rates")])
    metro = _feed(server, "/metro", "Metro", [("River floods lower town", "/floods")])
    opml = tmp_path / "feeds.opml"
    opml.write_text(f'<opml><body><outline xmlUrl="{metro}"/></body></opml>', encoding="utf-8")
    monkeypatch.setattr(cli_module, "build_assistant", lambda settings: make_assistant(index=settings.index))
    run = CliRunner().invoke
    refused = run(cli_module.cli, ["--index", str(tmp_path / "ix"), "ingest", "-q", "--feed", port])
    assert refused.exit_code == 1 and "--allow-private-urls" in refused.output
    ok = run(
        cli_module.cli,
        ["--index", str(tmp_path / "ix"), "ingest", "-q", "--allow-private-urls", "--feed", port, str(opml)],
    )
    assert ok.exit_code == 0, ok.output
    assert "2 added, 0 updated, 0 unchanged, 0 failed" in ok.output
    args = [
        "--index",
        str(tmp_path / "ix"),
        "watch",
        "--once",
        "--every",
        "30m",
        "--allow-private-urls",
        port,
        str(opml),
    ]
    first = run(cli_module.cli, args)
    assert first.exit_code == 0, first.output
    assert "2 new or changed entries: 0 added, 0 updated, 2 unchanged" in first.output
    second = run(cli_module.cli, args)
    assert "2 feeds (2 not modified), 0 new or changed entries" in second.output
    none = run(cli_module.cli, ["--index", str(tmp_path / "ix"), "watch", "--once"])
    assert none.exit_code == 1 and "No feeds to watch" in none.output


def test_parse_every() -> None:
    assert [parse_every(t) for t in ("30m", "1h", "90s", "45", "1.5h")] == [1800, 3600, 90, 45, 5400]
    with pytest.raises(ConfigError, match="not an interval"):
        parse_every("soon")


def test_watch_process_stops_on_ctrl_c_and_resumes(server: NewsServer, tmp_path: Path) -> None:
    server.add("/rates", page("Bank holds rates", RATES, "Port Daily"))
    feed = _feed(server, "/rss", "Port Daily", [("Bank holds rates", "/rates")])
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NEWSQA_INDEX": str(tmp_path / "ix")}
    command = [sys.executable, "-m", "assistant", "watch", "--every", "1s", "--allow-private-urls", feed]
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # blocks until the first poll is reported
        assert "1 added" in first, first
        second = proc.stdout.readline()
        assert "1 not modified" in second, second
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "stopped" in err
    again = subprocess.run(
        [*command, "--once"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert "1 feeds (1 not modified), 0 new or changed entries" in again.stdout, again.stderr
    assert server.hits["/rates"] == 1
