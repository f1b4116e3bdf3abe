"""Answers as plain text for the terminal (the web UI's HTML is in render.py)."""

from __future__ import annotations

import re

from assistant.types import Answer

MARKER = re.compile(r"\[(\d+)\]")


def answer_text(answer: Answer, empty_index: bool = False, include_text: bool = True) -> str:
    """The answer and its numbered sources as plain text."""
    days = answer.citation_days
    text = MARKER.sub(lambda m: f"[{m[1]}, {days[int(m[1])]}]" if int(m[1]) in days else m[0], answer.text)
    lines = [text] if include_text else []
    if answer.abstained and empty_index:
        lines.append("The index is empty: add articles with `newsqa ingest PATH`.")
    for notice in answer.notices:
        lines.append(f"note: {notice}")
    if answer.citations:
        lines += ["", "Sources:"]
    for c in answer.citations:
        p = c.passage
        lines.append(f"[{c.n}] {p.title} — {p.outlet}, {p.day}")
        if p.also_reported_by:
            lines.append(f"    also reported by: {', '.join(p.also_reported_by)}")
        if p.url:
            lines.append(f"    {p.url}")
        cited = c.cited
        for passage, sentences in cited:  # one source per article: each passage cited from it
            snippet = " ".join(passage.text.split())
            focus = [" ".join(s.split()) for s in sentences if " ".join(s.split()) in snippet]
            for sentence in focus:
                snippet = snippet.replace(sentence, f">>{sentence}<<", 1)
            lines.append(f"    {_shorten(snippet, focus[0] if focus else '', 600 // len(cited))}")
    return "\n".join(lines)


def _shorten(text: str, focus: str, width: int = 600) -> str:
    if len(text) <= width:
        return text
    start = max(0, text.find(focus) - width // 3) if focus in text else 0
    return ("…" if start else "") + text[start : start + width] + "…"
