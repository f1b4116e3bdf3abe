"""Plain text and Markdown articles: a title line, then the body, with optional headers."""

from __future__ import annotations

import re
from typing import Any

import yaml

from assistant.errors import InputError
from assistant.ingest.records import FIELDS, record_to_article
from assistant.types import Article

_HEADER = re.compile(r"^([A-Za-z][A-Za-z _-]{0,30}):\s*(.*)$")
_KNOWN_KEYS = {key for names in FIELDS.values() for key in names if key not in FIELDS["body"]}
_MD_HEADING = re.compile(r"^#{1,6}\s+")


def _front_matter(text: str, origin: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---"):
        return {}, text
    match = re.match(r"^---[ \t]*\n(.*?)\n(---|\.\.\.)[ \t]*(\n|$)", text, re.S)
    if not match:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise InputError(origin, f"front matter is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(origin, "front matter must be YAML key: value pairs")
    return data, text[match.end() :]


def _header_lines(text: str) -> tuple[dict[str, str], str]:
    """Leading `Key: value` lines with recognised keys, up to the first line that is not one."""
    headers: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        match = _HEADER.match(lines[i].strip())
        key = match.group(1).strip().lower().replace(" ", "_").replace("-", "_") if match else ""
        if not match or key not in _KNOWN_KEYS:
            break
        headers[key] = match.group(2).strip()
        i += 1
    return headers, "\n".join(lines[i:])


def read_text(text: str, origin: str) -> Article:
    """Read the seed's shape: first non-empty line is the title, the rest is the body."""
    meta, rest = _front_matter(text.lstrip("\ufeff"), origin)
    headers, rest = _header_lines(rest.lstrip("\n"))
    record: dict[str, Any] = {**headers, **{str(k).lower(): v for k, v in meta.items()}}
    lines = rest.strip("\n").split("\n")
    if "title" not in record and "headline" not in record:
        while lines and not lines[0].strip():
            lines.pop(0)
        if lines:
            record["title"] = _MD_HEADING.sub("", lines.pop(0)).strip()
        after, rest = _header_lines("\n".join(lines).lstrip("\n"))  # 'Source:' / 'Date:' under the title
        record = {**after, **record}
        lines = rest.split("\n")
    record["body"] = "\n".join(lines).strip()
    if not record["body"]:
        raise InputError(origin, "no body text after the title line")
    return record_to_article(record, origin)
