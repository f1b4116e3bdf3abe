"""Hints in a question: the outlets and dates it names, 'latest', and its parts (one per outlet mention)."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from assistant.retrieval.when import NAMED_YEAR, Period, month_period, read_time, year_period

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_MONTHS["sept"] = 9
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE = re.compile(
    rf"\b(?:(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?)?(?P<month>{_MONTH_RE})\.?"
    rf"(?:\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\b)?(?:,?\s+(?P<year>(?:19|20)\d\d))?\b",
    re.IGNORECASE,
)
_ISO = re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<month>\d\d)(?:-(?P<day>\d\d))?(?:T[0-9:.+\-Z]+)?")
LATEST = re.compile(r"\b(latest|most recent|newest|this week|today|yesterday)\b", re.I)
_NAME = r"(?P<name>[A-Z][\w&.-]*(?:\s+(?:[A-Z][\w&.-]*|of|&))*)"
_KIND = r"(?:article|report|piece|story|column)"
_ATTRIBUTIONS = [  # how people say which outlet a claim comes from
    re.compile(rf"\b{_KIND}s?\s+(?:from|by|in|published by|published in)\s+(?:the\s+|a\s+|an\s+)?{_NAME}"),
    re.compile(rf"\b(?:a|an|the|another|one)\s+{_NAME}\s+{_KIND}"),
    re.compile(
        rf"\b(?:reported by|published by|according to|as per)\s+(?:the\s+)?{_NAME}(?:['’]s)?\s+{_KIND}"
    ),
    re.compile(
        rf"\b(?:reported by|published by|{_KIND}s?\s+(?:by|from|in))\s+(?:the\s+)?{_NAME}\s+(?:and|or)\s"
    ),
]
_CAPITALISED = re.compile(r"(?<![.?!]\s)(?<!^)\b([A-Z][\w'’-]+)")
_SEPARATORS = re.compile(r"\s*(?:\||:|\s-\s)\s*")
_SPLIT = re.compile(r"[,;]?\s+(?:while|whereas|but|and|or|in contrast to|compared to|than)\s+", re.I)


@dataclass(frozen=True)
class Part:
    """One part of a question: its text and the outlets and periods that part names."""

    text: str
    outlets: tuple[str, ...] = ()
    periods: tuple[Period, ...] = ()


@dataclass(frozen=True)
class Hints:
    """What a question says about where and when to look."""

    outlets: tuple[str, ...] = ()
    periods: tuple[Period, ...] = ()
    latest: bool = False
    parts: tuple[Part, ...] = field(default_factory=tuple)
    stripped: str = ""  # the question without outlet names (they are not topic words)
    unknown_outlets: tuple[str, ...] = ()  # outlets the question cites that the index does not hold
    recent: bool = False  # current-events wording ('new', 'now', 'this year'): a mild pull to newer reports
    as_of: datetime | None = None  # the moment the question is asked (None: now)
    window: Period | None = None  # a relative window it names ('this week'), before as_of
    window_label: str = ""
    date_problems: tuple[str, ...] = ()  # 'There is no 31 February 2023; searched all of February 2023.'

    def names(self) -> list[str]:
        """Capitalised words inside the question (not sentence starts), outlet names left out."""
        return _CAPITALISED.findall(self.stripped)


def date_problems(text: str) -> list[str]:
    """A note for each date the text names that no calendar has ('31 February 2023', '2023-06-31'), saying
    what is searched instead (the whole month)."""
    named: list[tuple[str, int | None, int, int]] = []  # (as written, year, month, day)
    for m in _ISO.finditer(text):
        if m["day"] and 1 <= int(m["month"]) <= 12:
            named.append((m.group(0)[:10], int(m["year"]), int(m["month"]), int(m["day"])))
    for m in _DATE.finditer(text):
        if (day_text := m["d1"] or m["d2"]) and m["month"][0].isupper():  # not 'may' the verb
            year = int(m["year"]) if m["year"] else None
            named.append((m.group(0).strip(), year, _MONTHS[m["month"].lower()], int(day_text)))
    notes = []
    for written, year, month, day in named:
        days = calendar.monthrange(year or 2000, month)[1]  # 2000: a leap year, so 29 February is a date
        if days < day <= 31:  # 'In March 45 people...' names no day
            month_name = calendar.month_name[month] + (f" {year}" if year else "")
            notes.append(
                f"There is no {written} ({month_name} has {days} days); searched all of {month_name}."
            )
    return notes


def outlet_aliases(outlets: Iterable[str]) -> dict[str, set[str]]:
    """Ways people name each outlet ('The Independent - Sports' -> also 'The Independent') -> outlets."""
    aliases: dict[str, set[str]] = {}
    for outlet in outlets:
        name = outlet.strip()
        if not name:
            continue
        forms = {name, _SEPARATORS.split(name)[0]}
        for form in list(forms):
            short = form[4:] if form.lower().startswith("the ") else form
            if len(short) >= 4 and (" " in short or any(c.isupper() for c in short[1:]) or "." in short):
                forms.add(short)  # 'Verge', 'Guardian' alone are still unmistakable names
        for form in forms:
            if len(form) >= 3:
                aliases.setdefault(form, set()).add(outlet)
    return aliases


def _alias_pattern(alias: str) -> str:
    body = re.escape(alias).replace(r"\ ", r"\s+")
    if body.startswith(r"The\s+"):
        body = "[Tt]" + body[1:]  # 'the Verge' mid-sentence
    return rf"(?<!\w){body}(?!\w)"


class HintParser:
    """Finds outlet names and dates in questions, given the outlets the index holds."""

    def __init__(self, outlets: Iterable[str], now: datetime | None = None) -> None:
        self.aliases = outlet_aliases(outlets)
        self.now = now or datetime.now(UTC)
        caseless = [a for a in self.aliases if " " in a[4:] or not a[:1].isupper() or a.isupper()]
        cased = [a for a in self.aliases if a not in caseless]
        ordered = lambda names: sorted(names, key=len, reverse=True)  # noqa: E731
        self._caseless = self._compile(ordered(caseless), re.IGNORECASE)
        self._cased = self._compile(ordered(cased), 0)

    @staticmethod
    def _compile(names: list[str], flags: int) -> re.Pattern[str] | None:
        if not names:
            return None
        return re.compile("|".join(f"(?P<a{i}>{_alias_pattern(n)})" for i, n in enumerate(names)), flags)

    def _mentions(self, text: str) -> list[tuple[int, int, tuple[str, ...]]]:
        found: list[tuple[int, int, tuple[str, ...]]] = []
        lower = {a.lower(): a for a in self.aliases}
        for pattern in (self._caseless, self._cased):
            if pattern is None:
                continue
            for m in pattern.finditer(text):
                if any(s < m.end() and m.start() < e for s, e, _ in found):
                    continue
                alias = lower.get(" ".join(m.group(0).split()).lower(), m.group(0))
                found.append((m.start(), m.end(), tuple(sorted(self.aliases.get(alias, ())))))
        return sorted(f for f in found if f[2])

    def periods(self, text: str, as_of: datetime | None = None) -> list[Period]:
        """Dates and months named in the text, as periods (a day gets a day either side); a month without
        a year is the latest such month up to the newest article held (or as-of, if earlier)."""
        now = min(self.now, as_of) if as_of else self.now
        out: list[Period] = []
        for m in _ISO.finditer(text):
            day = int(m["day"]) if m["day"] else None
            if 1 <= int(m["month"]) <= 12:  # '2023-24 season' names two years, not a month
                out.append(self._period(int(m["year"]), int(m["month"]), day, now))
        for m in NAMED_YEAR.finditer(text):  # 'in 2017': the whole year
            out.append(year_period(int(m["year"])))
        for m in _DATE.finditer(text):
            day_text = m["d1"] or m["d2"]
            word = m["month"].lower()
            bare = not (day_text or m["year"])
            if bare and (
                word == "may"
                or not m["month"][0].isupper()
                or (len(word) <= 4 and word[:3] != "jun" and word[:3] != "jul")
            ):
                continue  # 'may' the verb, 'march' the word, 'Dec' alone
            year = int(m["year"]) if m["year"] else None
            out.append(self._period(year, _MONTHS[word], int(day_text) if day_text else None, now))
        return [p for p in out if p is not None]

    @staticmethod
    def _period(year: int | None, month: int, day: int | None, now: datetime) -> Period:
        if year is None:  # the most recent such month that is not in the future
            year = now.year if month <= now.month else now.year - 1
        try:
            if day:
                start = datetime(year, month, day, tzinfo=UTC) - timedelta(days=1)
                return Period(start, start + timedelta(days=3) - timedelta(seconds=1))
        except ValueError:  # 'February 30': the whole month (`date_problems` tells the reader)
            pass
        except OverflowError:  # a day at the very edge of the calendar (year 1 or 9999)
            start = datetime(year, month, day or 1, tzinfo=UTC)
            return Period(start, start)
        return month_period(year, month)

    def parse(self, question: str, as_of: datetime | None = None) -> Hints:
        """All hints in a question, as of a moment (a bare month is the latest such month by then)."""
        as_of = as_of or datetime.now(UTC)
        mentions = self._mentions(question)
        outlets = tuple(dict.fromkeys(o for _, _, names in mentions for o in names))
        stripped, cursor = [], 0
        for start, end, _ in mentions:
            stripped.append(question[cursor:start])
            cursor = end
        stripped.append(question[cursor:])
        intent = read_time("".join(stripped), as_of)  # outlet names out: 'Business Today | Latest ...'
        return Hints(
            outlets=outlets,
            periods=tuple(self.periods(question, as_of)),
            latest=bool(LATEST.search(question)),
            recent=intent.recent,
            parts=tuple(self._parts(question, mentions, as_of)),
            stripped=" ".join("".join(stripped).split()),
            unknown_outlets=tuple(self.unknown_outlets(question)),
            as_of=as_of,
            window=intent.window,
            window_label=intent.label,
            date_problems=tuple(date_problems(question)),
        )

    def unknown_outlets(self, question: str) -> list[str]:
        """Outlets a question attributes claims to ('a Bloomberg article') that are not in the index."""
        known = [a.lower() for a in self.aliases]
        found: list[str] = []
        for pattern in _ATTRIBUTIONS:
            for m in pattern.finditer(question):
                name = re.sub(r"^(?:the|a|an)\s+", "", m["name"].strip().rstrip("."), flags=re.I)
                low = name.lower()
                if not name[:1].isupper() or any(
                    low.startswith(a) or a.startswith(low) or a == f"the {low}" for a in known
                ):
                    continue
                if name not in found:
                    found.append(name)
        return found

    def _parts(
        self, question: str, mentions: list[tuple[int, int, tuple[str, ...]]], as_of: datetime
    ) -> list[Part]:
        """One part per outlet mention: the clause around it, with the dates named in that clause."""
        if not mentions:
            return []
        clauses: list[tuple[int, int]] = []
        cursor = 0
        for m in _SPLIT.finditer(question):
            if any(s < m.end() and m.start() < e for s, e, _ in mentions):
                continue  # 'Life and Style' is a name, not two clauses
            clauses.append((cursor, m.start()))
            cursor = m.end()
        clauses.append((cursor, len(question)))
        parts: list[Part] = []
        for start, _end, names in mentions:
            lo, hi = next(((a, b) for a, b in clauses if a <= start < b), (0, len(question)))
            text = question[lo:hi]
            parts.append(Part(text=text, outlets=names, periods=tuple(self.periods(text, as_of))))
        return parts
