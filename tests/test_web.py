"""Fetching article urls from a real HTTP server on 127.0.0.1: extraction, failures, limits, safety."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from assistant.errors import InputError
from assistant.ingest.fetch import Fetcher, check_url, peer_problem, pinned
from assistant.ingest.sources import read_sources
from assistant.settings import Settings
from assistant.types import Article
from tests.news_server import NewsServer, page

LOCAL = Settings(allow_private_urls=True, fetch_timeout=1.0, fetch_max_bytes=20_000)
BRIDGE = [
    "The harbour council approved the new bridge on Tuesday after a two-year debate.",
    "Construction will cost 40 million euros and is due to finish in 2027, the mayor said.",
]
FURNITURE = [
    "We use cookies",
    "Accept all cookies",
    "Leave a Reply",
    "will not be published",
    "Tweet",
    "Home",
]


def _read(specs: list[str], settings: Settings = LOCAL) -> tuple[list[Article], list[InputError]]:
    results = list(read_sources(specs, settings))
    return [r for r in results if isinstance(r, Article)], [r for r in results if isinstance(r, InputError)]


def test_article_page_main_text_and_metadata_without_furniture(server: NewsServer) -> None:
    url = server.add("/bridge", page("Harbour bridge approved", BRIDGE, "Port Daily", author="Ann Lee"))
    [article], failures = _read([url])
    assert failures == []
    assert article.title == "Harbour bridge approved"
    assert article.source == "Port Daily"
    assert article.author == "Ann Lee"
    assert article.url == url
    assert article.published_at is not None and article.published_at.date().isoformat() == "2024-05-02"
    assert "40 million euros" in article.body and "two-year debate" in article.body
    for junk in FURNITURE:
        assert junk not in article.body
    assert not article.partial
    assert server.user_agents[-1].startswith("newsqa/")


def test_failures_name_the_url_and_the_problem_and_the_rest_still_goes_in(server: NewsServer) -> None:
    good = server.add("/good", page("Good story", BRIDGE, "Port Daily"))
    pdf = server.add("/report.pdf", b"%PDF-1.4 fake", content_type="application/pdf")
    image = server.add("/photo.jpg", b"\xff\xd8\xff", content_type="image/jpeg")
    articles, failures = _read([server.url("/missing"), pdf, good, image])
    assert [a.title for a in articles] == ["Good story"]
    reasons = {f.origin: f.reason for f in failures}
    assert "HTTP 404" in reasons[server.url("/missing")]
    assert "content type application/pdf" in reasons[pdf] and "skipped" in reasons[pdf]
    assert "content type image/jpeg" in reasons[image]
    assert str(failures[0]).startswith(server.url("/missing"))


def test_page_slower_than_the_timeout_is_given_up(server: NewsServer) -> None:
    url = server.add("/slow", page("Slow", BRIDGE, "Slow News"), delay=3.0)
    started = time.monotonic()
    articles, [failure] = _read([url], LOCAL.replace(fetch_timeout=0.5))
    assert articles == []
    assert "timed out" in failure.reason and failure.origin == url
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("send_length", [True, False])
def test_oversized_page_is_refused(server: NewsServer, send_length: bool) -> None:
    url = server.add("/huge", page("Huge", BRIDGE * 400, "Big News"), send_length=send_length)
    articles, [failure] = _read([url])
    assert articles == []
    assert "too large" in failure.reason and "fetch_max_bytes=20000" in failure.reason


def test_retries_with_backoff_on_503_then_succeeds(server: NewsServer) -> None:
    url = server.add("/busy", page("Busy story", BRIDGE, "Port Daily"), fail_first=2)
    with Fetcher(LOCAL, retries=2, backoff=0.01) as fetcher:
        result = fetcher.fetch(url)
    assert result.status == 200 and server.hits["/busy"] == 3
    server.add("/down", "x", status=503)
    with Fetcher(LOCAL, retries=1, backoff=0.01) as fetcher, pytest.raises(InputError, match="HTTP 503"):
        fetcher.fetch(server.url("/down"))
    assert server.hits["/down"] == 2


def test_private_addresses_are_refused_without_the_flag(server: NewsServer) -> None:
    url = server.add("/bridge", page("Harbour bridge approved", BRIDGE, "Port Daily"))
    articles, [failure] = _read([url], Settings())
    assert articles == [] and server.hits["/bridge"] == 0
    assert "loopback" in failure.reason and "--allow-private-urls" in failure.reason
    for bad, words in [
        ("http://10.1.2.3/x", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://192.168.0.1/", "private"),
        ("http://[::1]:8080/", "loopback"),
        ("http://localhost/", "loopback"),
    ]:
        with pytest.raises(InputError, match=words):
            check_url(bad, allow_private=False)


def test_the_address_actually_connected_to_is_checked_too(server: NewsServer) -> None:
    url = server.add("/x", "hello")
    with httpx.Client() as client, client.stream("GET", url) as response:
        problem = peer_problem(response, "news.example")
    assert problem and "'news.example' resolves to 127.0.0.1, a loopback address" in problem


def test_every_redirect_hop_is_checked(server: NewsServer) -> None:
    final = server.add("/final", page("Moved story", BRIDGE, "Port Daily"))
    hop = server.add("/hop", "", status=301, headers={"Location": "/final"})
    jump = server.add("/jump", "", status=302, headers={"Location": "file:///etc/passwd"})
    with Fetcher(LOCAL) as fetcher:
        assert fetcher.fetch(hop).url == final
        with pytest.raises(InputError, match="only http:// and https://"):
            fetcher.fetch(jump)


def test_only_http_urls(tmp_path: Path) -> None:
    articles, failures = _read(["ftp://example.com/a", "file:///etc/passwd"])
    assert articles == [] and len(failures) == 2
    assert all("only http:// and https://" in f.reason for f in failures)


def test_url_list_file_reads_every_url(server: NewsServer, tmp_path: Path) -> None:
    one = server.add("/one", page("First story", BRIDGE, "Port Daily"))
    two = server.add("/two", page("Second story", [p.replace("bridge", "tunnel") for p in BRIDGE], "Metro"))
    listing = tmp_path / "urls.txt"
    listing.write_text(f"# my reading list\n{one}\n\n{two}\n", encoding="utf-8")
    articles, failures = _read([str(listing)])
    assert failures == []
    assert [a.title for a in articles] == ["First story", "Second story"]
    assert [a.source for a in articles] == ["Port Daily", "Metro"]


def test_the_vetted_address_is_the_one_connected_to(
    server: NewsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the host resolves to a public address when checked and to 127.0.0.1 afterwards.
    The request goes to the address that was checked, so nothing reaches the local server."""
    server.add("/admin", "secret")
    port = int(server.url("/").split(":")[2].split("/")[0])
    real = socket.getaddrinfo
    answers = iter(["93.184.216.34"])  # the first lookup (the check) gets a public address

    def rebinding(host: str, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        if host != "rebind.test":
            return real(host, *args, **kwargs)  # type: ignore[arg-type]
        ip = next(answers, "127.0.0.1")  # every later lookup: loopback
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with Fetcher(Settings(fetch_timeout=1.0), retries=0) as fetcher, pytest.raises(InputError):
        fetcher.fetch(f"http://rebind.test:{port}/admin")
    assert server.hits["/admin"] == 0
    assert pinned("https://news.example:8443/a?b=1", "93.184.216.34") == (
        "https://93.184.216.34:8443/a?b=1",
        {"Host": "news.example:8443"},
        {"sni_hostname": "news.example"},
    )
    assert pinned("http://news.example/", "2001:db8::1")[0] == "http://[2001:db8::1]/"
