"""What an answer searched, as one line under it: the standalone question a follow-up was rewritten into,
and the filters the question ran with (read from the Answer, not from the page's current state)."""

from __future__ import annotations

from assistant.types import Answer, Filters, day

ASK_WITHOUT_CONTEXT = "Ask without context"  # the chat's one-click undo of a follow-up's rewrite


def filter_parts(filters: Filters | None) -> list[str]:
    """The active filters as short phrases: 'Outlets: A, B', 'From 1 Nov 2023 to 31 Dec 2023', 'As of ...'."""
    if filters is None:
        return []
    parts = [f"Outlets: {', '.join(filters.sources)}"] if filters.sources else []
    since, until = day(filters.since, long=True), day(filters.until, long=True)
    if filters.since and filters.until:
        parts.append(f"From {since} to {until}")
    elif filters.since:
        parts.append(f"From {since}")
    elif filters.until:
        parts.append(f"Up to {until}")
    if filters.as_of:
        parts.append(f"As of {day(filters.as_of, long=True)}")
    return parts


def rewritten(answer: Answer) -> bool:
    """Whether the answer searched for a rewrite of the user's words (a follow-up made standalone)."""
    return bool(answer.standalone_question) and answer.standalone_question != answer.question


def searched_line(answer: Answer) -> str:
    """Plain text (escape it to show it): 'Searched for: QUESTION · Outlets: ... · From ... to ...' when
    the question was rewritten, 'Searched with filters: ...' when only filters were on, '' when neither."""
    parts = filter_parts(answer.filters)
    if rewritten(answer):
        return " · ".join([f"Searched for: {answer.standalone_question}", *parts])
    return f"Searched with filters: {' · '.join(parts)}" if parts else ""
