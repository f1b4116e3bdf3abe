"""Dates: parsing any common format to aware UTC, and the epoch seconds Chroma filters compare."""

from __future__ import annotations

from datetime import UTC, datetime

from dateutil import parser as dateparser


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


def epoch(dt: datetime | None) -> int | None:
    """Seconds since 1970 (Chroma filters compare numbers only)."""
    return int(dt.timestamp()) if dt else None
