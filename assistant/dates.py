"""Dates: parsing any common format to aware UTC, and the epoch seconds Chroma filters compare."""

from __future__ import annotations

from datetime import UTC, datetime

from dateutil import parser as dateparser

EARLIEST_YEAR, LATEST_YEAR = 1900, 2100  # news outside these years is a typo or a placeholder date


def parse_date(value: object) -> datetime | None:
    """Parse a date in any common format to an aware UTC datetime; naive times are taken as UTC.
    None when there is no date, it cannot be read, or it lies outside 1900-2100 (see `date_problem`)."""
    dt = _parse(value)
    return dt if dt is not None and EARLIEST_YEAR <= dt.year <= LATEST_YEAR else None


def date_problem(value: object) -> str | None:
    """Why a given date is stored as unknown (None when it reads fine or none was given)."""
    if value is None or value == "" or parse_date(value) is not None:
        return None
    dt = _parse(value)
    if dt is None:
        return f"the date {str(value)[:40]!r} cannot be read"
    return f"the date {str(value)[:40]!r} is outside {EARLIEST_YEAR}-{LATEST_YEAR}"


def _parse(value: object) -> datetime | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        if isinstance(value, datetime):
            dt = value
        elif isinstance(value, int | float):
            dt = datetime.fromtimestamp(float(value) / (1000 if value > 10**11 else 1), tz=UTC)
        else:
            text = str(value).strip()
            if text.isdigit() and len(text) >= 9:
                return _parse(int(text))
            dt = dateparser.parse(text, fuzzy=False)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.astimezone(UTC)
    except (ValueError, OverflowError, OSError, TypeError):  # 1e20, year 9999 at -05:00, 'soon'
        return None


def epoch(dt: datetime | None) -> int | None:
    """Seconds since 1970 (Chroma filters compare numbers only)."""
    return int(dt.timestamp()) if dt else None
