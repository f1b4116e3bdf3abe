"""Article urls: fetch each page politely and extract its main text and metadata with trafilatura."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from assistant.ingest.fetch import FEED_TYPES, HTML_TYPES, Fetcher, FetchResult
from assistant.ingest.html import extract_html
from assistant.ingest.records import record_to_article
from assistant.types import Article

URL = re.compile(r"^https?://\S+$", re.I)
_FEED_START = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(rss|feed|rdf:RDF)\b", re.S)


def is_url(spec: str) -> bool:
    """True for an http(s) url (what the command line and url lists may hold besides paths)."""
    return bool(URL.match(spec.strip()))


def url_list(text: str) -> list[str] | None:
    """The urls of a url-list text file (one per line, # comments allowed), or None if it is not one."""
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    return lines if lines and all(is_url(ln) for ln in lines) else None


def looks_like_feed(result: FetchResult) -> bool:
    """True when a fetched resource is an RSS/Atom feed rather than a page."""
    if result.content_type in FEED_TYPES - {"application/xml", "text/xml"}:
        return True
    return bool(_FEED_START.match(result.body[:2048]))


def page_record(result: FetchResult, url: str) -> dict[str, Any]:
    """A fetched page as an article record; its source is the site name, not just the host."""
    record = extract_html(result.text, url, url)
    host = urlsplit(result.url).hostname or ""
    if record.get("source") in (host, host.removeprefix("www.")):
        record["source"] = None  # a bare host name; a feed's title is a better outlet name
    record["url"] = url
    return record


def merge(record: dict[str, Any], hints: Mapping[str, Any]) -> dict[str, Any]:
    """The page's record with the hints (e.g. a feed entry's fields) filling whatever the page lacks."""
    merged = dict(record)
    for key, value in hints.items():
        if value not in (None, "", []) and merged.get(key) in (None, "", []):
            merged[key] = value
    return merged


def read_page(url: str, fetcher: Fetcher, hints: Mapping[str, Any] | None = None) -> Article:
    """Fetch one article page and read it; InputError says why it could not be."""
    result = fetcher.fetch(url, HTML_TYPES)
    return article_from_page(result, url, hints)


def article_from_page(result: FetchResult, url: str, hints: Mapping[str, Any] | None = None) -> Article:
    """The Article in a fetched page, hints filling missing fields and the host naming the outlet last."""
    record = merge(page_record(result, url), hints or {})
    if not record.get("source"):
        record["source"] = (urlsplit(url).hostname or "").removeprefix("www.") or None
    return record_to_article(record, url)
