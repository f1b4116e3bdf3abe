"""One source per article: citation numbers count articles, not passages (as Perplexity and most peers do)."""

from __future__ import annotations

import dataclasses
import re

from assistant.types import Answer, Citation

_MARKER = re.compile(r"\[(\d+)\]")
_REPEAT = re.compile(r"(\[(\d+)\])(?:\s*\[\2\])+")  # "[1][1]" after two passages of one article merged


def by_article(answer: Answer) -> Answer:
    """The answer with one citation per article, numbered in order of first mention: markers of passages of
    one article become one number, and the citation keeps every cited passage and sentence (`more`)."""
    if answer.partial or not answer.citations:
        return answer
    first_seen = [int(n) for n in _MARKER.findall(answer.text)]
    by_n: dict[int, Citation] = {}
    for c in answer.citations:
        by_n.setdefault(c.n, c)
    order = list(dict.fromkeys([n for n in first_seen if n in by_n] + sorted(by_n)))
    groups: dict[str, list[Citation]] = {}
    for n in order:
        c = by_n[n]
        groups.setdefault(c.passage.article_id or c.passage.chunk_id, []).append(c)
    # several sentences cited from one passage arrive as several citations with the same n
    for c in answer.citations:
        group = groups[c.passage.article_id or c.passage.chunk_id]
        if c not in group:
            group.append(c)
    renumber: dict[int, int] = {}
    merged: list[Citation] = []
    for new_n, group in enumerate(groups.values(), start=1):
        for c in group:
            renumber[c.n] = new_n
        head = group[0]
        more = tuple((c.passage, c.sentence) for c in group[1:])
        merged.append(dataclasses.replace(head, n=new_n, more=more, verified=all(c.verified for c in group)))
    if renumber == {c.n: c.n for c in merged} and len(merged) == len(answer.citations):
        return answer  # nothing to merge
    text = _MARKER.sub(lambda m: f"[{renumber.get(int(m.group(1)), int(m.group(1)))}]", answer.text)
    text = _REPEAT.sub(r"\1", text)
    sentences = [
        dataclasses.replace(
            s,
            claimed=_mapped(s.claimed, renumber),
            cited=_mapped(s.cited, renumber),
        )
        for s in answer.sentences
    ]
    return dataclasses.replace(answer, text=text, citations=merged, sentences=sentences)


def _mapped(numbers: tuple[int, ...], renumber: dict[int, int]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(renumber.get(n, n) for n in numbers))
