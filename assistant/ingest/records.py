"""Structured dumps: JSON (one article or a list), JSON Lines and CSV with a header row."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, TextIO

from assistant.dates import date_problem, parse_date
from assistant.errors import InputError
from assistant.ingest.clean import clean_text
from assistant.types import Article

# Field names we recognise, in order of preference, compared case-insensitively.
FIELDS: dict[str, tuple[str, ...]] = {
    "title": ("title", "headline"),
    "body": ("body", "text", "content", "article", "maintext"),
    "published_at": ("published_at", "date", "published", "pubdate", "publishedat", "datetime", "time"),
    "source": ("source", "outlet", "publisher", "site_name", "sitename"),
    "url": ("url", "link", "canonical_url"),
    "author": ("author", "authors", "byline"),
    "category": ("category", "section", "categories"),
}
log = logging.getLogger(__name__)
_LIST_KEYS = ("articles", "items", "data", "records", "results", "documents")

ReadResult = Article | InputError


def _pick(record: Mapping[str, Any], name: str) -> Any:
    lowered = {str(k).lower().replace(" ", "_"): v for k, v in record.items()}
    for key in FIELDS[name]:
        value = lowered.get(key)
        if value not in (None, "", []):
            return value
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        value = ", ".join(str(v.get("name", v)) if isinstance(v, dict) else str(v) for v in value if v)
    elif isinstance(value, dict):
        value = value.get("name") or value.get("title") or value.get("href") or ""
    text = " ".join(str(value).split())
    return text or None


def _date(record: Mapping[str, Any], origin: str) -> datetime | None:
    """The record's publication date; one that is unreadable or outside 1900-2100 is unknown, with a warning."""
    value = _pick(record, "published_at")
    problem = date_problem(value)
    if problem:
        log.warning("%s: %s; the article is stored as undated", origin, problem)
    return parse_date(value)


def record_to_article(record: Any, origin: str) -> Article:
    """Map one record with any of the recognised field names to an Article."""
    if not isinstance(record, Mapping):
        raise InputError(origin, f"expected an object with title and body, got {type(record).__name__}")
    body_value = _pick(record, "body")
    body = clean_text(str(body_value)) if body_value is not None else ""
    title = _text(_pick(record, "title")) or ""
    if not body:
        fields = ", ".join(FIELDS["body"])
        raise InputError(origin, f"record has no body text (looked for fields: {fields})")
    if not title:
        first = body.split("\n", 1)[0]
        title = first if len(first) <= 200 else first[:197] + "..."
    return Article(
        title=title,
        body=body,
        published_at=_date(record, origin),
        source=_text(_pick(record, "source")),
        url=_text(_pick(record, "url")),
        author=_text(_pick(record, "author")),
        category=_text(_pick(record, "category")),
        origin=origin,
    )


def _label(origin: str, where: str, record: Any) -> str:
    title = _text(_pick(record, "title")) if isinstance(record, Mapping) else None
    return f"{origin} {where}" + (f" ({title[:60]!r})" if title else "")


def read_json(text: str, origin: str) -> Iterator[ReadResult]:
    """One article object, a list of them, or an object holding a list under a common key."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        yield InputError(origin, f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
        return
    if isinstance(data, Mapping):
        nested = next((data[k] for k in _LIST_KEYS if isinstance(data.get(k), list)), None)
        data = nested if nested is not None else [data]
    if not isinstance(data, list):
        yield InputError(origin, "expected a JSON object or a list of objects")
        return
    for i, record in enumerate(data):
        yield from _convert(record, origin, f"record {i + 1}")


def read_jsonl(text: str | Iterable[str], origin: str) -> Iterator[ReadResult]:
    """One JSON object per line (the text, or its lines as a stream); a bad line is reported and the
    others still go in."""
    lines = text.splitlines() if isinstance(text, str) else text
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield InputError(f"{origin} line {lineno}", f"malformed JSON at column {exc.colno}: {exc.msg}")
            continue
        yield from _convert(record, origin, f"line {lineno}")


def read_csv(text: str | TextIO, origin: str) -> Iterator[ReadResult]:
    """CSV (or TSV) with a header row naming the fields (the text, or a seekable stream of it)."""
    csv.field_size_limit(2**31 - 1)
    stream: TextIO
    if isinstance(text, str):
        sample, stream = text[:8192], io.StringIO(text)
    else:
        sample, stream = text.read(8192), text
        stream.seek(0)
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        delimiter = sniffed.delimiter
        quotechar = sniffed.quotechar if sniffed.quotechar in ('"', "'") else '"'
    except csv.Error:
        delimiter, quotechar = ",", '"'
    # The sniffer's guesses of quoting are unreliable (it turned off "" escapes on a standard file, which
    # split one article into four): quoting is always RFC 4180, and strict, so an unterminated quote is an
    # error for its row instead of swallowing the rest of the file into one field.
    reader = csv.DictReader(stream, delimiter=delimiter, quotechar=quotechar, doublequote=True, strict=True)
    try:
        headers = [h.lower() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        yield InputError(origin, f"malformed CSV header: {exc}")
        return
    if not any(h in FIELDS["body"] for h in headers):
        yield InputError(origin, f"CSV header has no body column (one of: {', '.join(FIELDS['body'])})")
        return
    while True:  # a malformed row is a failure of its own; the rows after it still go in
        at = reader.line_num
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield InputError(f"{origin} row {at + 1}", f"malformed CSV: {exc}")
            if reader.line_num == at:  # the reader cannot get past it
                return
            continue
        yield from _convert(record, origin, f"row {reader.line_num}")


def _convert(record: Any, origin: str, where: str) -> Iterator[ReadResult]:
    label = _label(origin, where, record)
    try:
        yield record_to_article(record, label)
    except InputError as exc:
        yield exc
