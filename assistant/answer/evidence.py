"""What an answer is made from: the passages retrieval found, or for a period question ("what happened
between 1 Oct and 15 Nov?", "what happened this week?") the stories inside the period."""

from __future__ import annotations

import dataclasses

from assistant.answer.compose import digest_span, digest_topic, wants_digest
from assistant.retrieval.hints import Hints
from assistant.retrieval.retriever import Retriever
from assistant.retrieval.when import Period
from assistant.types import Filters, Passage, day, evidence_found


def gather(
    retriever: Retriever, question: str, k: int, filters: Filters
) -> tuple[list[Passage], list[str], Hints | None]:
    """Passages, notices and the question's hints. A period question searches inside its period, where
    retrieval otherwise only leans toward it; one without a topic gets the period's top stories."""
    passages, notices = retriever.search(question, k, filters)
    if not passages:
        return passages, notices, None
    hints = retriever.hints(question, filters.as_of)
    period = digest_span(hints) if wants_digest(question, hints) else None
    if period is None or filters.since is not None or filters.until is not None:
        return passages, notices, hints
    inside = dataclasses.replace(filters, since=period.start, until=period.end)
    if not digest_topic(hints.stripped or question):  # 'what happened this week?': its top stories
        top = retriever.headlines(2 * k, inside)
        if top:
            return top, [n for n in notices if not n.startswith("No article from")], hints
        if hints.window is not None and not hints.periods:  # an empty 'this week': the latest such stretch
            latest = latest_stretch(retriever, period, filters)
            if latest is not None:
                top = retriever.headlines(
                    2 * k, dataclasses.replace(filters, since=latest.start, until=latest.end)
                )
            if latest is not None and top:
                days, end = max(1, (period.end - period.start).days), day(latest.end, long=True)
                said = f"No article from {hints.window_label}; the top stories of the {days} days to {end} instead."
                return top, [said], dataclasses.replace(hints, window=latest)
    found, more = retriever.search(question, 2 * k, inside)  # stories to list
    if evidence_found(found) or (found and not evidence_found(passages)):
        return found, more, hints
    # nothing inside the period holds what is asked ('what happened to FTX on 2 November?'): the answer
    # from all dates, with retrieval's notice that the day held nothing
    return passages, notices, hints


def latest_stretch(retriever: Retriever, period: Period, filters: Filters) -> Period | None:
    """A stretch as long as `period`, ending at the newest article the filters allow before it (None when
    there is none)."""
    newest = retriever.newest(dataclasses.replace(filters, since=None, until=period.start))
    if newest is None:
        return None
    return Period(newest - (period.end - period.start), newest)
