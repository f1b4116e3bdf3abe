"""HTML pages: main text and metadata extracted with trafilatura, furniture left out."""

from __future__ import annotations

from typing import Any

import trafilatura

from assistant.errors import InputError
from assistant.ingest.records import record_to_article
from assistant.types import Article

_DATE_PARAMS = {"original_date": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z", "extensive_search": True}


def extract_html(html: str, origin: str, url: str | None = None) -> dict[str, Any]:
    """The page's main text and metadata as a record (title, body, date, source, url, author, category)."""
    doc = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        favor_precision=True,
        date_extraction_params=_DATE_PARAMS,
    )
    if doc is None:
        raise InputError(origin, "no article text found in the HTML page")
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    text = (data.get("text") or "").strip()
    title = (data.get("title") or "").strip()
    first, _, rest = text.partition("\n")
    if title and first.strip() == title:
        text = rest.strip()
    categories = data.get("categories") or []
    return {
        "title": title,
        "body": text,
        "published_at": data.get("date"),
        "source": data.get("sitename") or data.get("hostname"),
        "url": data.get("url") or url,
        "author": data.get("author"),
        "category": categories[0] if categories else None,
    }


def read_html(html: str, origin: str, url: str | None = None) -> Article:
    """Read one article page."""
    return record_to_article(extract_html(html, origin, url), origin)
