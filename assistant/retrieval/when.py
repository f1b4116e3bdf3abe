"""Time in a question, read the way a news reader means it: relative to the moment it is asked (as-of).

"this week", "yesterday", "last weekend", "last month", "on Tuesday", "this fall", "so far this year" name
a window before the as-of moment; "recently", "new", "just announced", "latest", "current", "upcoming" ask for the
newest reports; "in 2017", "the first ... ever" are historical and must not be pulled toward recent news.
Fixed phrases, so plain patterns read them exactly (dateparser's search_dates reads "new" and "may" as
dates and takes ~10 ms a question; these take microseconds).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_SEASONS = {"spring": (3, 5), "summer": (6, 8), "fall": (9, 11), "autumn": (9, 11), "winter": (12, 2)}
WINDOW = re.compile(  # a window named relative to the as-of moment
    r"\b(?P<phrase>today|tonight|yesterday|(?:this|last|past|previous)\s+(?:weekend|week|month|year)|"
    r"(?:over|at)\s+the\s+weekend|"
    r"so\s+far\s+this\s+year|this\s+(?:spring|summer|fall|autumn|winter)|"
    r"(?:on|last|this)\s+(?P<day>monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b",
    re.IGNORECASE,
)
_RECENT = re.compile(  # 'new' and 'now' in lower case only: 'New York', 'Now This' are names
    r"\b(?:(?i:recent(?:ly)?|just\s+(?:been\s+)?(?:announced|released|named|launched|reported)|latest|"
    r"newest|most\s+recent|current(?:ly)?|upcoming|ongoing|this\s+(?:week|month|year))|new(?:ly)?|now)\b"
)
# 'in 2017': a year the question is about (hints.py steers to it; here it makes a question historical)
NAMED_YEAR = re.compile(
    r"\b(?:in|during|of|for|throughout)\s+(?:the\s+year\s+)?(?P<year>(?:19|20)\d\d)\b(?![-/]\d)", re.I
)
# 'compared to the previous year', 'than last week': a baseline to compare with, not a window to look in
_COMPARED = re.compile(r"\b(?:compared\s+(?:to|with)|than|versus|vs\.?|relative\s+to)\s+(?:the\s+)?$", re.I)
_HISTORICAL = re.compile(r"\bsince\s+(?:19|20)\d\d\b|\bfirst\b.*\bever\b|\bhistor", re.I)


@dataclass(frozen=True)
class Period:
    """A stretch of time a question points at (inclusive, UTC)."""

    start: datetime
    end: datetime


def month_period(year: int, month: int) -> Period:
    """The whole of a calendar month."""
    last = calendar.monthrange(year, month)[1]
    return Period(datetime(year, month, 1, tzinfo=UTC), datetime(year, month, last, 23, 59, 59, tzinfo=UTC))


def year_period(year: int) -> Period:
    """The whole of a calendar year."""
    return Period(datetime(year, 1, 1, tzinfo=UTC), datetime(year, 12, 31, 23, 59, 59, tzinfo=UTC))


@dataclass(frozen=True)
class TimeIntent:
    """What a question says about when: a window before the as-of moment, and whether it wants the news."""

    window: Period | None = None
    label: str = ""  # the phrase that named the window ("this week"), for "No article from this week"
    recent: bool = False  # prefer the newest reports (current events)


def start_of_day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _month_start(moment: datetime, back: int = 0) -> datetime:
    year, month = moment.year, moment.month - back
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, 1, tzinfo=UTC)


def _window(phrase: str, day: str | None, as_of: datetime) -> Period:
    words = phrase.lower().split()
    today = start_of_day(as_of)
    if words[0] in ("today", "tonight"):
        return Period(today, as_of)
    if words[0] == "yesterday":
        return Period(today - timedelta(days=1), today - timedelta(seconds=1))
    if day:  # the most recent such weekday up to as-of ('last Tuesday': the one before that if today)
        back = (today.weekday() - _DAYS.index(day.lower())) % 7 or (7 if words[0] == "last" else 0)
        start = today - timedelta(days=back)
        return Period(start, min(as_of, start + timedelta(days=1, seconds=-1)))
    unit, previous = words[-1], words[0] in ("last", "previous")
    if unit == "weekend":  # the latest Saturday to Monday (weekend results are reported on Monday)
        back = (today.weekday() - 5) % 7
        if previous and back <= 1:  # 'last weekend', asked during one: the weekend before
            back += 7
        start = today - timedelta(days=back)
        return Period(start, min(as_of, start + timedelta(days=3, seconds=-1)))
    if unit == "week":  # a rolling week, as news readers use it
        end = as_of - timedelta(days=7) if previous else as_of
        return Period(end - timedelta(days=7), end)
    if unit == "month":
        start = _month_start(as_of, 1 if previous else 0)
        return Period(start, _month_start(as_of) - timedelta(seconds=1) if previous else as_of)
    if unit == "year":
        year = as_of.year - (1 if previous else 0)
        start = datetime(year, 1, 1, tzinfo=UTC)
        return Period(start, datetime(year, 12, 31, 23, 59, 59, tzinfo=UTC) if previous else as_of)
    first, last = _SEASONS[unit]  # the latest such season that has begun by as-of
    if first > last:  # winter: December to February
        year = as_of.year if as_of.month == 12 else as_of.year - 1
    else:
        year = as_of.year if as_of.month >= first else as_of.year - 1
    start = datetime(year, first, 1, tzinfo=UTC)
    after = _month_start(datetime(year + (first > last), last, 1, tzinfo=UTC) + timedelta(days=32))
    return Period(start, min(after - timedelta(seconds=1), as_of))


def read_time(question: str, as_of: datetime) -> TimeIntent:
    """The window and recency a question asks for, as of `as_of`."""
    historical = bool(NAMED_YEAR.search(question) or _HISTORICAL.search(question))
    found = list(WINDOW.finditer(question))
    m = next((m for m in found if not _COMPARED.search(question, 0, m.start())), None)
    window = _window(m["phrase"], m["day"], as_of) if m else None
    recent = not historical and (bool(found) or bool(_RECENT.search(question)))  # a baseline implies now
    return TimeIntent(window, " ".join(m["phrase"].split()).lower() if m else "", recent)


def widen(window: Period, label: str, as_of: datetime) -> list[tuple[Period, str]]:
    """The question's window, then a month, then a year before as-of (each wider than the last)."""
    ladder = [(window, label)]
    for days, wider_label in ((31, "the past month"), (366, "the past year")):
        wider = Period(as_of - timedelta(days=days), as_of)
        if wider.start < ladder[-1][0].start:
            ladder.append((wider, wider_label))
    return ladder
