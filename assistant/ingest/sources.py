"""Readers turn sources (files, folders, globs, OPML lists, url lists, article and feed urls) into Articles."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from assistant.errors import InputError
from assistant.ingest.feeds import read_feed, read_feed_result, read_opml
from assistant.ingest.fetch import FEED_TYPES, HTML_TYPES, Fetcher
from assistant.ingest.files import expand, read_file
from assistant.ingest.records import ReadResult
from assistant.ingest.web import article_from_page, is_url, looks_like_feed, url_list
from assistant.settings import Settings
from assistant.types import Article

__all__ = ["ReadResult", "read_sources"]

URL_LIST_EXTS = {".txt", ".urls", ".list"}


def read_sources(
    specs: Iterable[str], settings: Settings | None = None, feeds: Iterable[str] = ()
) -> Iterator[ReadResult]:
    """Articles from every source named, with an InputError for each thing that could not be read.

    A spec is a file, folder or glob; an http(s) url of an article page or a feed; an .opml file of
    feeds; or a text file of urls, one per line. `feeds` are read as feeds whatever they look like.
    Files over `max_file_mb` and articles over `max_article_chars` are named failures, never a stall.
    """
    settings = settings or Settings()
    for item in _read(specs, settings, feeds):
        if isinstance(item, Article) and len(item.body) > settings.max_article_chars:
            yield InputError(
                item.origin,
                f"the article is {len(item.body):,} characters, over the limit of {settings.max_article_chars:,} "
                "(setting max_article_chars): split it, or raise the limit",
            )
        else:
            yield item


def _read(specs: Iterable[str], settings: Settings, feeds: Iterable[str]) -> Iterator[ReadResult]:
    urls: list[str] = []
    paths: list[str] = []
    for spec in specs:
        if is_url(spec):
            urls.append(spec.strip())
        elif "://" in spec:
            yield InputError(spec, "only http:// and https:// urls can be read")
        else:
            paths.append(spec)
    with Fetcher(settings) as fetcher:
        for feed in feeds:
            yield from read_feed(feed, fetcher)
        for item in expand(paths):
            if isinstance(item, InputError):
                yield item
            elif item.suffix.lower() == ".opml":
                yield from _read_opml_file(item, fetcher)
            elif (listed := _url_list(item)) is not None:
                yield from read_urls(listed, fetcher)
            elif (size := item.stat().st_size) > settings.max_file_mb * 1_000_000:
                yield InputError(
                    str(item),
                    f"the file is {size / 1e6:,.0f} MB, over the limit of {settings.max_file_mb} MB per file "
                    "(setting max_file_mb): split it, or raise the limit",
                )
            else:
                yield from read_file(item)
        yield from read_urls(urls, fetcher)


def feed_urls(specs: Iterable[str]) -> list[str]:
    """Feed urls from urls and .opml files (for `newsqa watch`); InputError if an OPML file is bad."""
    found: list[str] = []
    for spec in specs:
        listed = [spec] if is_url(spec) else _opml_urls(Path(spec).expanduser())
        found += [url for url in listed if url not in found]
    return found


def _opml_urls(path: Path) -> list[str]:
    try:
        return read_opml(path.read_text(encoding="utf-8-sig"), str(path))
    except OSError as exc:
        raise InputError(str(path), f"cannot read the OPML file: {exc.strerror or exc}") from None


def _read_opml_file(path: Path, fetcher: Fetcher) -> Iterator[ReadResult]:
    try:
        urls = _opml_urls(path)
    except InputError as exc:
        yield exc
        return
    for url in urls:
        yield from read_feed(url, fetcher)


def _url_list(path: Path) -> list[str] | None:
    """The urls in a text file made only of urls (one per line), else None."""
    if path.suffix.lower() not in URL_LIST_EXTS:
        return None
    try:
        return url_list(path.read_text(encoding="utf-8-sig", errors="replace"))
    except OSError:
        return None  # read_file reports it


def read_urls(urls: Iterable[str], fetcher: Fetcher) -> Iterator[ReadResult]:
    """Articles from page urls (feed urls are read as feeds); one failure never stops the rest."""
    for url in urls:
        try:
            result = fetcher.fetch(url, HTML_TYPES | FEED_TYPES)
            if looks_like_feed(result):
                yield from read_feed_result(result, url, fetcher)
            else:
                yield article_from_page(result, url)
        except InputError as exc:
            yield exc
