"""RSS/Atom feeds (via feedparser) and OPML feed lists: each entry's linked page becomes an Article."""

from __future__ import annotations

import calendar
import hashlib
import html
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

import feedparser

from assistant.dates import parse_date
from assistant.errors import InputError
from assistant.ingest.fetch import FEED_TYPES, HTML_TYPES, Fetcher, FetchResult
from assistant.ingest.records import ReadResult, record_to_article
from assistant.ingest.web import read_page
from assistant.types import Article

log = logging.getLogger(__name__)

_BLOCK_END = re.compile(r"(?i)</(p|div|li|h\d|blockquote)>|<br\s*/?>")
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed: what the feed itself says about an article."""

    key: str  # the entry's id, else its link, else a hash of its title
    link: str | None
    title: str
    summary: str  # plain text of the entry's content or summary
    published_at: datetime | None
    author: str | None
    category: str | None

    @property
    def fingerprint(self) -> str:
        """Changes when the feed changes what it says about the entry (an update to the article)."""
        parts = [self.key, self.link or "", self.title, self.summary, str(self.published_at)]
        return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Feed:
    """A fetched feed: its title, entries and the validators for the next conditional request."""

    url: str
    title: str | None
    entries: tuple[FeedEntry, ...]
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (a feed summary), paragraphs kept apart."""
    text = _BLOCK_END.sub("\n\n", fragment)
    return re.sub(r"\n{3,}", "\n\n", html.unescape(_TAG.sub("", text))).strip()


def _date(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    return parse_date(entry.get("published") or entry.get("updated"))


def _entry(entry: Any) -> FeedEntry:
    contents = [c.get("value", "") for c in entry.get("content") or []]
    summary = html_to_text(max(contents, key=len) if contents else entry.get("summary") or "")
    title = html_to_text(entry.get("title") or "")
    link = entry.get("link") or None
    key = entry.get("id") or link or "title:" + hashlib.sha1(title.encode("utf-8")).hexdigest()[:16]
    tags = [t.get("term") for t in entry.get("tags") or [] if t.get("term")]
    return FeedEntry(
        key=str(key),
        link=str(link) if link else None,
        title=title,
        summary=summary,
        published_at=_date(entry),
        author=entry.get("author") or None,
        category=str(tags[0]) if tags else None,
    )


def parse_feed(result: FetchResult, url: str) -> Feed:
    """Parse a fetched RSS 0.9x/1.0/2.0 or Atom document; InputError if it is not a feed."""
    if result.not_modified:
        return Feed(url, None, (), result.etag, result.last_modified, not_modified=True)
    parsed = feedparser.parse(result.body, response_headers={"content-location": result.url})
    if not parsed.get("version") and not parsed.entries:
        problem = parsed.get("bozo_exception")
        detail = f": {problem}" if problem else ""
        raise InputError(url, f"not an RSS or Atom feed{detail}")
    title = html_to_text(parsed.feed.get("title") or "") or None
    entries = tuple(_entry(e) for e in parsed.entries)
    return Feed(url, title, entries, result.etag, result.last_modified)


def fetch_feed(url: str, fetcher: Fetcher, etag: str | None = None, last_modified: str | None = None) -> Feed:
    """Fetch and parse a feed, conditionally when validators from the last poll are given."""
    result = fetcher.fetch(url, FEED_TYPES | HTML_TYPES | {"text/plain"}, etag, last_modified)
    return parse_feed(result, url)


def entry_article(entry: FeedEntry, feed: Feed, fetcher: Fetcher) -> Article:
    """The entry's linked page read in full; the feed's own fields fill what the page lacks.

    When the page cannot be had, the entry's summary is indexed instead, marked partial.
    """
    hints = {
        "title": entry.title,
        "published_at": entry.published_at,
        "author": entry.author,
        "source": feed.title,
        "category": entry.category,
    }
    origin = entry.link or f"{feed.url} entry {entry.title[:60]!r}"
    if entry.link:
        try:
            article = read_page(entry.link, fetcher, hints)
        except InputError as exc:
            reason = exc.reason
        else:
            return _prefer_entry_date(article, entry.published_at)
    else:
        reason = "the entry has no link"
    if not entry.summary:
        raise InputError(origin, f"{reason}, and the feed gives no summary to index instead")
    log.warning("%s: %s; indexing the feed's summary instead (partial)", origin, reason)
    record = {**hints, "body": entry.summary, "url": entry.link}
    return record_to_article(record, origin).with_changes(partial=True)


def _prefer_entry_date(article: Article, entry_date: datetime | None) -> Article:
    """The entry's timestamp over a page date that is only a day (page dates are often guesses)."""
    page_date = article.published_at
    if entry_date is None or (page_date is not None and page_date.time() != time(0, 0)):
        return article
    return article.with_changes(published_at=entry_date, id=article.id)


def feed_articles(feed: Feed, fetcher: Fetcher) -> Iterator[ReadResult]:
    """Every entry of a parsed feed as an Article, or the reason it could not be read."""
    for entry in feed.entries:
        try:
            yield entry_article(entry, feed, fetcher)
        except InputError as exc:
            yield exc


def read_feed(url: str, fetcher: Fetcher) -> Iterator[ReadResult]:
    """Articles from every entry of the feed at url (a failed feed yields one InputError)."""
    try:
        feed = fetch_feed(url, fetcher)
    except InputError as exc:
        yield exc
        return
    yield from feed_articles(feed, fetcher)


def read_feed_result(result: FetchResult, url: str, fetcher: Fetcher) -> Iterator[ReadResult]:
    """Articles from a feed already fetched (a url given without saying it is a feed)."""
    yield from feed_articles(parse_feed(result, url), fetcher)


def read_opml(text: str, origin: str) -> list[str]:
    """The feed urls (xmlUrl of every outline) in an OPML subscription list."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise InputError(origin, f"not valid OPML (XML error: {exc})") from None
    urls: list[str] = []
    for outline in root.iter("outline"):
        url = outline.get("xmlUrl") or outline.get("xmlurl")
        if url and url.strip() not in urls:
            urls.append(url.strip())
    if not urls:
        raise InputError(origin, "the OPML file lists no feeds (no <outline xmlUrl=...> elements)")
    return urls
