"""The Article type, stable ids, and date parsing."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from dateutil import parser as dateparser

_TRACKING_PARAMS = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|cmpid|ncid|ocid)$", re.I)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Article:
    """One news article as read from a source, before chunking."""

    title: str
    body: str
    published_at: datetime | None = None
    source: str | None = None
    url: str | None = None
    author: str | None = None
    category: str | None = None
    origin: str = ""  # where it was read from (file path, url), for messages
    partial: bool = False  # only a summary could be had (e.g. a feed entry whose page failed)
    id: str = field(default="")

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", article_id(self.url, self.title, self.body))

    @property
    def content_hash(self) -> str:
        """Hash of everything that ends up in the index; a change means the article was updated."""
        parts = [self.title, self.body, iso(self.published_at) or "", self.source or "", self.url or ""]
        parts += [self.author or "", self.category or "", str(self.partial)]
        return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]

    def with_changes(self, **changes: object) -> Article:
        """A copy with some fields changed; the id is recomputed unless given."""
        changes.setdefault("id", "")
        return replace(self, **changes)  # type: ignore[arg-type]


def canonical_url(url: str | None) -> str | None:
    """Normalise a url so that the same article always gets the same id."""
    if not url or not url.strip():
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in {"http", "https"}:
        return url.strip()
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if not _TRACKING_PARAMS.match(k)])
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https", parts.netloc.lower().removeprefix("www."), path, query, ""))


def article_id(url: str | None, title: str, body: str) -> str:
    """Stable id: from the canonical url, else from title and body (whitespace-insensitive)."""
    canon = canonical_url(url)
    key = f"url:{canon}" if canon else "text:" + _SPACE.sub(" ", f"{title}\n{body}").strip().lower()
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def parse_date(value: object) -> datetime | None:
    """Parse a date in any common format to an aware UTC datetime; naive times are taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, int | float):
        dt = datetime.fromtimestamp(float(value) / (1000 if value > 10**11 else 1), tz=UTC)
    else:
        text = str(value).strip()
        if text.isdigit() and len(text) >= 9:
            return parse_date(int(text))
        try:
            dt = dateparser.parse(text, fuzzy=False)
        except (ValueError, OverflowError, TypeError):
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def iso(dt: datetime | None) -> str | None:
    """ISO-8601 text of a UTC datetime, or None when undated."""
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z") if dt else None


def epoch(dt: datetime | None) -> int | None:
    """Seconds since 1970 (Chroma filters compare numbers only)."""
    return int(dt.timestamp()) if dt else None


def display_date(dt: datetime | None) -> str:
    """Date as shown to people: YYYY-MM-DD, or 'undated'."""
    return dt.strftime("%Y-%m-%d") if dt else "undated"
