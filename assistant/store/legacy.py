"""Keyword index versions written before segments (one gzip JSON of every row and its tokens): read once,
so the next save writes them as a segment."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np

from assistant.formats import KEYWORDS, check_format
from assistant.store.segments import RowInfo
from assistant.store.sentences import decode

LegacyRow = tuple[RowInfo, list[str], tuple[int, ...], tuple[np.ndarray, np.ndarray, np.ndarray] | None]
FIELDS = ("id", "article_id", "source", "ts", "title", "chunk_index", "sentences", "term_counts")


def legacy_rows(version: Path) -> list[LegacyRow] | None:
    """(row, tokens, term counts, sentence vectors) of each chunk of an old version folder; None when
    unreadable. Rows saved without term counts read as one untitled sentence."""
    try:
        with gzip.open(version / "chunks.gz", "rt", encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    check_format(KEYWORDS, data.get("format", 1), str(version.parent))
    out: list[LegacyRow] = []
    for raw, tokens in zip(data["rows"], data["tokens"], strict=True):
        fields: dict[str, Any] = dict(zip(FIELDS, raw, strict=False)) if isinstance(raw, list) else raw
        row = RowInfo(*(fields.get(f) for f in FIELDS[:6]))  # type: ignore[arg-type]
        counts = tuple(fields.get("term_counts") or (0, len(tokens)))
        out.append((row, list(tokens), counts, decode(fields.get("sentences"))))
    return out
