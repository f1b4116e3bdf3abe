"""Answers, sources and index facts as HTML for the web UI; every untrusted string is escaped here."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from assistant.types import Answer, Citation, IndexStats, IngestReport, day
from assistant.web.searched import searched_line

MARKER = re.compile(r"\[(\d+|unsupported)\]")  # citation markers, and the checker's UNSUPPORTED_MARK
_SPACES = re.compile(r"\s+")
SNIPPET_CHARS = 600
EMPTY_INDEX_HELP = (
    "Nothing is indexed yet. Add articles with <b>Add articles</b> (upload .txt, .md, .html, .json, "
    ".jsonl or .csv files), or from a terminal with <code>newsqa ingest PATH</code>, then ask."
)
ABSTAIN_HELP = (
    "No source covers this question. Try other words or wider filters, or add articles about it with "
    "<b>Add articles</b> (or <code>newsqa ingest PATH</code>)."
)


def text(value: object) -> str:
    """Untrusted text made inert: HTML-escaped, and ASCII punctuation as entities so Markdown leaves it be."""
    out: list[str] = []
    for ch in _SPACES.sub(" ", str(value)):
        if ch.isascii() and not ch.isalnum() and ch != " ":
            out.append(f"&#{ord(ch)};")
        else:
            out.append(ch)
    return "".join(out)


def safe_url(url: str | None) -> str | None:
    """The url escaped for an href attribute if it is http(s) with a host; otherwise None (no link)."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc or any(c.isspace() for c in url):
        return None
    return text(url)


def title_link(title: str, url: str | None) -> str:
    """The title, linked to its article in a new tab when the url is http(s)."""
    shown = text(title or "untitled")
    href = safe_url(url)
    if href is None:
        return f'<span class="nq-title">{shown}</span>'
    return f'<a class="nq-title" href="{href}" target="_blank" rel="noopener noreferrer">{shown}</a>'


def snippet_html(passage_text: str, sentence: str, width: int = SNIPPET_CHARS) -> str:
    """The passage around its supporting sentence, the sentence highlighted with <mark>."""
    body = " ".join(passage_text.split())
    focus = " ".join(sentence.split())
    at = body.find(focus) if focus else -1
    if at < 0:
        cut = body[:width]
        return text(cut) + ("…" if len(body) > width else "")
    start = max(0, at - max(0, (width - len(focus)) // 2))
    if start:  # begin and end on word boundaries
        start = min(at, body.find(" ", start) + 1 or at)
    end = max(at + len(focus), min(len(body), start + width))
    if end < len(body):
        end = max(at + len(focus), body.rfind(" ", 0, end))
    before, after = body[start:at], body[at + len(focus) : end].rstrip()
    return (
        ("…" if start else "")
        + text(before)
        + f"<mark>{text(focus)}</mark>"
        + text(after)
        + ("…" if end < len(body) else "")
    )


def passages_html(citation: Citation, width: int, tag: str = "div", rest: int | None = None) -> str:
    """Each cited passage of the article with its cited sentences highlighted (one source, several spans);
    `rest`: a narrower window for the passages after the first (default: `width` too)."""
    out = []
    for i, (passage, sentences) in enumerate(citation.cited):
        snippet = snippet_html(
            passage.text, sentences[0] if sentences else "", (rest or width) if i else width
        )
        for extra in sentences[1:]:  # further sentences of this passage: marked where the window shows them
            escaped = text(" ".join(extra.split()))
            if escaped and escaped in snippet and f"<mark>{escaped}" not in snippet:
                snippet = snippet.replace(escaped, f"<mark>{escaped}</mark>", 1)
        out.append(f'<{tag} class="nq-snippet">{snippet}</{tag}>')
    return "".join(out)


def relevance(score: float, best: float | None = None) -> float:
    """A passage's retrieval score as a 0..1 relevance: its share of the best retrieved passage's score.

    Retrieval scores are not bounded: hybrid ranking adds keyword and dense scores (each scaled to this
    question's best match) and boosts for the outlets and dates a question names, so a top passage can
    score well over 1. Those numbers only rank the passages of one question, so the card shows each as a
    share of the best one's (1.00 = the top match) and never more than 1.
    """
    if best is not None and best > 0:
        score = score / best
    return min(1.0, max(0.0, score))


def top_score(answer: Answer) -> float | None:
    """The best retrieval score among an answer's passages and citations (None when it has none)."""
    scores = [p.score for p in answer.passages] + [c.score for c in answer.citations]
    return max(scores) if scores else None


def source_meta(citation: Citation, checked: bool = True, best: float | None = None) -> str:
    """Outlet · date · relevance, escaped (and 'unverified' once checking found no support)."""
    p = citation.passage
    parts = [text(p.outlet), text(p.day)]
    tip = "score relative to the best retrieved passage, 1.00 for the top match"
    parts.append(f'<span title="{tip}">relevance {relevance(citation.score, best):.2f}</span>')
    if checked and not citation.verified:
        parts.append('<span class="nq-unverified">unverified</span>')
    return " · ".join(parts)


def also_html(citation: Citation) -> str:
    """'also reported by A, B' for a wire story that other outlets carried too (else nothing)."""
    others = citation.passage.also_reported_by
    if not others:
        return ""
    return f'<span class="nq-also">also reported by {text(", ".join(others))}</span>'


def marker_html(citation: Citation, checked: bool = True, best: float | None = None, when: str = "") -> str:
    """An inline [n] that reveals its source on hover, focus or click (`when`: its day, shown beside it)."""
    p = citation.passage
    flagged = " nq-unverified" if checked and not citation.verified else ""
    label = f"[{citation.n}, {text(when)}]" if when else f"[{citation.n}]"
    return (
        f'<span class="nq-cite{flagged}" tabindex="0" data-n="{citation.n}">'
        f'<span class="nq-marker">{label}</span>'
        f'<span class="nq-pop">{title_link(p.title, p.url)}'
        f'<span class="nq-meta">{source_meta(citation, checked, best)}</span>{also_html(citation)}'
        f"{passages_html(citation, SNIPPET_CHARS, 'span', SNIPPET_CHARS // 2)}</span></span>"
    )


def answer_html(answer: Answer, pending: bool = False) -> str:
    """The answer text with each known [n] marker turned into a revealing citation; the rest escaped."""
    by_n = {c.n: c for c in answer.citations}
    best, days = top_score(answer), answer.citation_days
    pieces: list[str] = []
    last = 0
    for match in MARKER.finditer(answer.text):
        pieces.append(_lines(answer.text[last : match.start()]))
        pieces.append(_marker(match.group(1), by_n, not answer.partial, best, days))
        last = match.end()
    pieces.append(_lines(answer.text[last:]))
    body = "".join(pieces)
    if pending:
        body += ' <span class="nq-typing">…</span>'
    notes = "".join(f'<div class="nq-notice">{text(n)}</div>' for n in answer.notices)
    if line := searched_line(answer):  # what it searched: a follow-up's rewrite, the filters it ran with
        notes += f'<div class="nq-notice nq-searched">{text(line)}</div>'
    css = "nq-answer nq-abstained" if answer.abstained else "nq-answer"
    return f'<div class="{css}">{body}{notes}</div>'


def _lines(value: str) -> str:
    """Answer text escaped, its line breaks kept (a digest is one line per story)."""
    return "<br>".join(text(line) for line in value.split("\n"))


def _marker(
    label: str, by_n: dict[int, Citation], checked: bool, best: float | None, days: dict[int, str]
) -> str:
    if label == "unsupported":
        return '<span class="nq-unsupported" title="No source supports this sentence">[unsupported]</span>'
    cited = by_n.get(int(label))
    return marker_html(cited, checked, best, days.get(int(label), "")) if cited else text(f"[{label}]")


def sources_html(answer: Answer | None, empty_index: bool = False) -> str:
    """The cited articles of an answer as cards, in citation order (or a hint when there are none)."""
    if empty_index:
        return f'<div class="nq-sources nq-none">{EMPTY_INDEX_HELP}</div>'
    if answer is None:
        return '<div class="nq-sources nq-none">Sources of the answer appear here.</div>'
    if answer.abstained or not answer.citations:
        return f'<div class="nq-sources nq-none">{ABSTAIN_HELP}</div>'
    cards = []
    best = top_score(answer)
    for c in sorted(answer.citations, key=lambda c: c.n):
        cards.append(
            f'<div class="nq-card" data-n="{c.n}"><div class="nq-card-head"><span class="nq-n">[{c.n}]</span> '
            f"{title_link(c.passage.title, c.passage.url)}</div>"
            f'<div class="nq-meta">{source_meta(c, not answer.partial, best)}</div>{also_html(c)}'
            f"{passages_html(c, 320)}</div>"
        )
    return f'<div class="nq-sources">{"".join(cards)}</div>'


def stats_html(stats: IndexStats) -> str:
    """Articles, chunks, outlets and date range as a small table."""
    if stats.articles == 0:
        return f'<div class="nq-stats nq-none">{EMPTY_INDEX_HELP}</div>'
    dates = f"{text(day(stats.earliest))} … {text(day(stats.latest))}"
    if stats.undated == stats.articles:
        dates = "none dated"
    elif stats.undated:
        dates += f" ({stats.undated} undated)"
    top = ", ".join(f"{text(name)} ({n})" for name, n in list(stats.outlets.items())[:12])
    more = f", and {len(stats.outlets) - 12} more" if len(stats.outlets) > 12 else ""
    rows = [
        ("Articles", f"{stats.articles:,}"),
        ("Chunks", f"{stats.chunks:,}"),
        ("Dates", dates),
        ("Outlets", f"{len(stats.outlets)}: {top}{more}"),
    ]
    cells = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="nq-stats">{cells}</table>'


def report_html(report: IngestReport, rejected: list[tuple[str, str]] | None = None) -> str:
    """The ingest summary: counts, then every failure with its reason."""
    failures = [(f.origin, f.reason) for f in report.failed] + list(rejected or [])
    counts = (
        f"<b>{report.added}</b> added, <b>{report.updated}</b> updated, "
        f"<b>{report.unchanged}</b> unchanged, <b>{len(failures)}</b> failed "
        f"({report.chunks} chunks in {report.seconds:.1f}s)"
    )
    items = "".join(f"<li><b>{text(origin)}</b>: {text(reason)}</li>" for origin, reason in failures)
    warnings = "".join(f'<div class="nq-notice">{text(w)}</div>' for w in report.warnings())
    return f'<div class="nq-report">{counts}{f"<ul>{items}</ul>" if items else ""}{warnings}</div>'


def filter_chips(
    since: str | None = None,
    until: str | None = None,
    outlets: list[str] | None = None,
    as_of: str | None = None,
) -> str:
    """The filters in force, as chips next to the question box ('' when none: the whole index)."""
    chips = [
        f"From {day(since)}" if since else "",
        f"To {day(until)}" if until else "",
        f"Outlets: {', '.join(outlets)}" if outlets else "",
        f"As of {day(as_of)}" if as_of else "",
    ]
    shown = "".join(f'<span class="nq-chip">{text(c)}</span>' for c in chips if c)
    return f'<div class="nq-chips">Filters: {shown}</div>' if shown else ""
