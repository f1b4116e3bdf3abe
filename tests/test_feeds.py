"""Feeds from a real HTTP server on 127.0.0.1: RSS, Atom, RDF, OPML, entry fallbacks (no index needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from assistant.errors import InputError
from assistant.ingest.feeds import fetch_feed
from assistant.ingest.fetch import Fetcher
from assistant.ingest.sources import feed_urls, read_sources
from assistant.settings import Settings
from assistant.types import Article
from tests.news_server import FLOODS, RATES, NewsServer, atom, page, rss

LOCAL = Settings(allow_private_urls=True, fetch_timeout=2.0)


def _read(
    specs: list[str], feeds: list[str] | None = None, settings: Settings = LOCAL
) -> tuple[list[Article], list[InputError]]:
    results = list(read_sources(specs, settings, feeds or []))
    return [r for r in results if isinstance(r, Article)], [r for r in results if isinstance(r, InputError)]


def _rss_outlet(server: NewsServer) -> str:
    """Port Daily's RSS feed: a full page without date or author, a 404, and a PDF link."""
    server.add("/port/rates", page("Bank holds rates", RATES, "Port Daily", date=""))
    server.add("/port/report.pdf", b"%PDF-1.4", content_type="application/pdf")
    items = [
        {
            "title": "Bank holds rates",
            "link": server.url("/port/rates"),
            "description": "The bank held rates.",
            "pubDate": "Thu, 02 May 2024 09:30:00 GMT",
            "author": "ann@port.example (Ann Lee)",
            "guid": server.url("/port/rates"),
        },
        {
            "title": "Flood forces families out",
            "link": server.url("/port/gone"),
            "description": "<p>Heavy rain flooded the lower town overnight.</p><p>200 families left.</p>",
            "pubDate": "Thu, 02 May 2024 07:00:00 GMT",
        },
        {
            "title": "Annual report",
            "link": server.url("/port/report.pdf"),
            "pubDate": "Wed, 01 May 2024 07:00:00 GMT",
        },
    ]
    return server.add("/port/rss.xml", rss("Port Daily", items), content_type="application/rss+xml")


def test_rss_entries_read_from_their_pages_with_feed_fields_filling_gaps(server: NewsServer) -> None:
    feed = _rss_outlet(server)
    articles, failures = _read([], [feed])
    by_title = {a.title: a for a in articles}
    full = by_title["Bank holds rates"]
    assert not full.partial and full.source == "Port Daily"
    assert "4.5 percent" in full.body and "We use cookies" not in full.body
    assert full.published_at == datetime(2024, 5, 2, 9, 30, tzinfo=UTC)  # the page has none: the entry's
    assert full.author and "Ann Lee" in full.author  # likewise
    assert full.url == server.url("/port/rates")
    flood = by_title["Flood forces families out"]
    assert flood.partial  # page 404: the entry's summary stands in, marked partial
    assert "flooded the lower town" in flood.body and "200 families left." in flood.body
    assert flood.source == "Port Daily" and flood.url == server.url("/port/gone")
    [failure] = failures  # the PDF entry has no summary to fall back on
    assert failure.origin == server.url("/port/report.pdf")
    assert "application/pdf" in failure.reason and "no summary" in failure.reason


def test_atom_feed_and_a_feed_url_given_as_a_plain_url(server: NewsServer) -> None:
    server.add("/metro/floods", page("River floods lower town", FLOODS, "Metro News", author="Bo Chan"))
    entries = [
        {
            "title": "River floods lower town",
            "link": server.url("/metro/floods"),
            "updated": "2024-05-02T06:00:00Z",
            "summary": "Flooding overnight.",
        }
    ]
    feed = server.add("/metro/atom", atom("Metro News", entries), content_type="application/atom+xml")
    [article], failures = _read([feed])  # not marked as a feed: recognised by its content
    assert failures == []
    assert (article.title, article.source, article.author) == (
        "River floods lower town",
        "Metro News",
        "Bo Chan",
    )
    assert "six metres" in article.body and not article.partial


def test_rss_1_0_rdf_and_rss_0_91(server: NewsServer) -> None:
    server.add("/a", page("Bank holds rates", RATES, "Port Daily"))
    rdf = (
        '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="x"><title>RDF News</title></channel>'
        f'<item rdf:about="{server.url("/a")}"><title>Bank holds rates</title><link>{server.url("/a")}</link>'
        "</item></rdf:RDF>"
    )
    one = server.add("/rdf", rdf, content_type="application/rdf+xml")
    old = server.add(
        "/rss091", rss("Old News", [{"title": "Bank holds rates", "link": server.url("/a")}], "0.91")
    )
    articles, failures = _read([], [one, old])
    assert failures == [] and [a.title for a in articles] == ["Bank holds rates"] * 2


def test_opml_list_of_feeds(server: NewsServer, tmp_path: Path) -> None:
    port = _rss_outlet(server)
    server.add("/metro/floods", page("River floods lower town", FLOODS, "Metro News"))
    metro = server.add(
        "/metro/rss",
        rss("Metro", [{"title": "River floods lower town", "link": server.url("/metro/floods")}]),
        content_type="text/xml",
    )
    opml = tmp_path / "subscriptions.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>My news</title></head><body>'
        f'<outline text="Local"><outline text="Port" type="rss" xmlUrl="{port}"/>'
        f'<outline text="Metro" type="rss" xmlUrl="{metro}"/></outline></body></opml>',
        encoding="utf-8",
    )
    assert feed_urls([str(opml)]) == [port, metro]
    articles, failures = _read([str(opml)])
    assert {a.title for a in articles} == {
        "Bank holds rates",
        "Flood forces families out",
        "River floods lower town",
    }
    assert len(failures) == 1  # the PDF entry


def test_bad_feeds_are_reported_by_url(server: NewsServer, tmp_path: Path) -> None:
    not_feed = server.add("/page", page("Bank holds rates", RATES, "Port Daily"))
    bad_opml = tmp_path / "bad.opml"
    bad_opml.write_text("<opml><body><outline", encoding="utf-8")
    articles, failures = _read([str(bad_opml)], [not_feed, server.url("/nofeed")])
    assert articles == []
    reasons = {f.origin: f.reason for f in failures}
    assert "not an RSS or Atom feed" in reasons[not_feed]
    assert "HTTP 404" in reasons[server.url("/nofeed")]
    assert "not valid OPML" in reasons[str(bad_opml)]


def test_feed_on_a_private_address_is_refused_without_the_flag(server: NewsServer) -> None:
    feed = _rss_outlet(server)
    articles, [failure] = _read([], [feed], Settings())
    assert articles == [] and failure.origin == feed and "loopback" in failure.reason
    assert sum(server.hits.values()) == 0


def test_conditional_feed_requests_with_etag_or_last_modified(server: NewsServer) -> None:
    items = [{"title": "Bank holds rates", "link": server.url("/a")}]
    stamp = "Thu, 02 May 2024 10:00:00 GMT"
    by_date = server.add("/dated", rss("Dated", items), content_type="text/xml", last_modified=stamp)
    by_tag = server.add("/tagged", rss("Tagged", items), content_type="text/xml", etag='W/"abc"')
    with Fetcher(LOCAL) as fetcher:
        fresh = fetch_feed(by_date, fetcher)
        assert (fresh.last_modified, len(fresh.entries), fresh.not_modified) == (stamp, 1, False)
        assert fetch_feed(by_date, fetcher, last_modified=fresh.last_modified).not_modified
        tagged = fetch_feed(by_tag, fetcher)
        assert fetch_feed(by_tag, fetcher, etag=tagged.etag).not_modified
        assert not fetch_feed(by_tag, fetcher, etag='"other"').not_modified
    assert server.not_modified == {"/dated": 1, "/tagged": 1}
