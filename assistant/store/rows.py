"""Rows of the keyword index as a writer hands them over: a chunk's row, terms, sentence vectors and vector,
and the helpers that turn Chroma metadata and journal lines into them."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from assistant.store.segments import RowInfo, Segment
from assistant.store.stories import outlet

VECTOR_KEY = "chunk_vector"  # a journal item's chunk vector (never written to Chroma's metadata)


class Pending(NamedTuple):
    """A row added since the last save, as a segment will hold it."""

    row: RowInfo
    terms: np.ndarray
    counts: tuple[int, ...]
    block: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    vector: np.ndarray | None = None  # the chunk's vector, kept so a reader need not ask Chroma


def row_from_meta(chunk_id: str, meta: Mapping[str, Any]) -> RowInfo:
    """A chunk's row from its Chroma metadata."""
    ts = meta.get("published_ts")
    return RowInfo(
        id=chunk_id,
        article_id=str(meta.get("article_id", "")),
        source=str(meta.get("source") or ""),
        ts=int(ts) if isinstance(ts, int | float) else None,
        title=str(meta.get("title") or ""),
        chunk_index=int(meta.get("chunk_index") or 0),
        story=str(meta.get("story_id") or meta.get("article_id") or ""),
        outlet=outlet(meta),
    )


def alive(segment: Segment, dead: Mapping[str, set[int]]) -> np.ndarray:
    """A segment's row numbers not removed."""
    gone = dead.get(segment.name)
    if not gone:
        return np.arange(len(segment))
    return np.setdiff1d(np.arange(len(segment)), np.fromiter(gone, np.int64))


def live_count(segment: Segment, dead: Mapping[str, set[int]]) -> int:
    """How many of a segment's rows are not removed."""
    return len(segment) - len(dead.get(segment.name, ()))


def columns(rows: Iterable[Pending]) -> tuple[list[Any], ...]:
    """Pending rows as the column lists `Segment.build` takes."""
    items = list(rows)
    return (
        [p.row for p in items],
        [p.terms for p in items],
        [p.counts for p in items],
        [p.block for p in items],
        [p.vector for p in items],
    )


def vector_of(meta: Mapping[str, Any]) -> np.ndarray | None:
    """The chunk vector a journal line (base64 float32) or a Chroma read (a list or array) carries."""
    value = meta.get(VECTOR_KEY)
    if value is None:
        return None
    if isinstance(value, str):
        return np.frombuffer(base64.b64decode(value), dtype="<f4").copy()
    return np.asarray(value, dtype=np.float32)


def vector_text(vector: np.ndarray) -> str:
    """A chunk vector as a journal line carries it."""
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def write_durably(path: Path, text: str) -> None:
    """Write a small file whole and fsynced, under its name only once complete."""
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    temporary.replace(path)
