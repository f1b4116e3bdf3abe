"""Immutable segments of the keyword index: one batch of chunks as flat numpy arrays, written once as .npy
files and read memory-mapped, so a save writes only what changed and a reader maps instead of parsing.

A segment holds, per chunk: its row (ids, outlet, time, title), its search terms as global term ids
(title first, then each sentence), BM25 postings (term -> rows, term frequency), the ranker's sentence
encodings (each sentence's distinct terms and adjacent term pairs) and its sentence vectors (int8).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.formats import KEYWORDS, check_format

ROWS = "table.rows"  # JSON, under a name no article reader takes
PAIR_WIDTH = 1 << 31  # term ids stay below it: a pair (a, b) is coded a * PAIR_WIDTH + b
ARRAYS = (
    "token_ids",  # int32 term ids of every row's title then text, rows one after another
    "token_at",  # int64 (rows + 1): where each row's terms start
    "counts",  # int32: per row, its title's term count, then each sentence's
    "count_at",  # int64 (rows + 1)
    "post_term",  # int32: the distinct terms, sorted
    "post_at",  # int64 (terms + 1): where each term's postings start
    "post_row",  # int32: rows holding the term
    "post_tf",  # float32: how often
    "sent_at",  # int64 (rows + 1): each row's stored sentence vectors
    "sent_span",  # uint16 (vectors x 2): character span of each vector's sentence in its chunk text
    "sent_scale",  # float32: int8 -> float scale of each vector
    "sent_vec",  # int8 (vectors x dim)
    "enc_at",  # int64 (rows + 1): each row's encoded sentences (at least one, maybe empty)
    "enc_term_at",  # int64 (sentences + 1)
    "enc_terms",  # int64: each sentence's distinct term ids + 1 (0: the empty marker every sentence holds)
    "enc_pair_at",  # int64 (sentences + 1)
    "enc_pairs",  # int64: each sentence's distinct adjacent pair codes (0 as above)
)


@dataclass(frozen=True)
class RowInfo:
    """What retrieval needs to know about a chunk without asking Chroma."""

    id: str
    article_id: str
    source: str
    ts: int | None  # publication time, epoch seconds
    title: str
    chunk_index: int
    story: str = ""  # its wire story (store/stories.py; "" when not known: ask the store)
    outlet: str = ""  # the outlet as stories name it (source, else the url's host)


class Segment:
    """One batch of chunks as arrays (mapped from disk, or in memory until written)."""

    def __init__(self, name: str, rows: list[RowInfo], arrays: dict[str, np.ndarray]) -> None:
        self.name = name
        self.rows = rows
        self.a = arrays
        self.positions = {r.id: i for i, r in enumerate(rows)}
        self.length = np.diff(arrays["token_at"]).astype(np.float64)  # terms per row (BM25's length)

    def __len__(self) -> int:
        return len(self.rows)

    # -- building -------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        rows: list[RowInfo],
        terms: Sequence[np.ndarray],
        counts: Sequence[Sequence[int]],
        vectors: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray] | None],
    ) -> Segment:
        """A segment in memory from each row's term ids, term counts (title, then sentences) and decoded
        sentence vectors (spans, scales, int8 matrix; None for a row without)."""
        a: dict[str, np.ndarray] = {}
        a["token_ids"] = np.concatenate([np.asarray(t, np.int32) for t in terms]) if terms else _i32()
        a["token_at"] = _offsets(len(t) for t in terms)
        a["counts"] = np.fromiter((c for cs in counts for c in cs), np.int32)
        a["count_at"] = _offsets(len(cs) for cs in counts)
        a.update(_postings(a["token_ids"], a["token_at"]))
        dims = {v[2].shape[1] for v in vectors if v is not None and len(v[2])}
        dim = dims.pop() if len(dims) == 1 else 0  # mixed sizes cannot share a matrix: keep none
        kept = [v if v is not None and dim and len(v[2]) and v[2].shape[1] == dim else None for v in vectors]
        a["sent_at"] = _offsets(0 if v is None else len(v[2]) for v in kept)
        found = [v for v in kept if v is not None]
        a["sent_span"] = np.concatenate([v[0] for v in found]).astype(np.uint16) if found else _empty(2)
        a["sent_scale"] = np.concatenate([v[1] for v in found]).astype(np.float32) if found else _f32()
        a["sent_vec"] = np.concatenate([v[2] for v in found]).astype(np.int8) if found else _empty(dim)
        a.update(_encode(a["token_ids"], a["token_at"], a["counts"], a["count_at"]))
        return cls(uuid.uuid4().hex[:12], rows, a)

    @classmethod
    def merge(cls, parts: Sequence[tuple[Segment, np.ndarray]]) -> Segment:
        """One segment of the given rows (local row numbers) of several segments, in order."""
        rows, terms, counts, vectors = [], [], [], []
        for segment, keep in parts:
            for i in keep:
                rows.append(segment.rows[i])
                terms.append(segment.terms(i))
                counts.append(segment.term_counts(i))
                vectors.append(segment.sentence_block(i))
        return cls.build(rows, terms, counts, vectors)

    # -- disk -----------------------------------------------------------------------------------

    def write(self, folder: Path) -> None:
        """Write the segment's files into folder/<name>, each made durable before the manifest names it."""
        target = folder / self.name
        target.mkdir(parents=True, exist_ok=True)
        for key in ARRAYS:
            path = target / f"{key}.npy"
            with path.open("wb") as fh:
                np.save(fh, np.ascontiguousarray(self.a[key]))
                fh.flush()
                os.fsync(fh.fileno())
        table = [
            [r.id, r.article_id, r.source, r.ts, r.title, r.chunk_index, r.story, r.outlet] for r in self.rows
        ]
        with (target / ROWS).open("w", encoding="utf-8") as fh:
            json.dump({"format": KEYWORDS.version, "rows": table}, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())

    @classmethod
    def open(cls, folder: Path, name: str) -> Segment:
        """Map a written segment (OSError / ValueError when it is missing or damaged)."""
        target = folder / name
        with (target / ROWS).open(encoding="utf-8") as fh:
            data = json.load(fh)
        check_format(KEYWORDS, data.get("format"), str(target))
        rows = [RowInfo(*r) for r in data["rows"]]
        # plain ndarray views of the maps: slicing a np.memmap makes a memmap object each time (slow)
        arrays = {key: np.asarray(np.load(target / f"{key}.npy", mmap_mode="r")) for key in ARRAYS}
        return cls(name, rows, arrays)

    # -- reading --------------------------------------------------------------------------------

    def terms(self, row: int) -> np.ndarray:
        """A row's term ids, title first."""
        return np.asarray(self.a["token_ids"][self.a["token_at"][row] : self.a["token_at"][row + 1]])

    def term_counts(self, row: int) -> list[int]:
        """A row's title term count, then each sentence's."""
        return [int(c) for c in self.a["counts"][self.a["count_at"][row] : self.a["count_at"][row + 1]]]

    def sentence_block(self, row: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """A row's stored sentence vectors as (spans, scales, int8 matrix), None without."""
        start, end = int(self.a["sent_at"][row]), int(self.a["sent_at"][row + 1])
        if start == end:
            return None
        return self.a["sent_span"][start:end], self.a["sent_scale"][start:end], self.a["sent_vec"][start:end]

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows holding a term and how often (empty when none does)."""
        terms = self.a["post_term"]
        at = int(np.searchsorted(terms, term))
        if at >= len(terms) or terms[at] != term:
            return _i32(), _f32()
        start, end = int(self.a["post_at"][at]), int(self.a["post_at"][at + 1])
        return self.a["post_row"][start:end], self.a["post_tf"][start:end]

    def document_frequency(self, size: int) -> np.ndarray:
        """Rows holding each term id (an array of `size`)."""
        df = np.zeros(size, dtype=np.int64)
        terms = np.asarray(self.a["post_term"])
        df[terms[terms < size]] = np.diff(self.a["post_at"])[terms < size]
        return df


def _i32() -> np.ndarray:
    return np.zeros(0, dtype=np.int32)


def _f32() -> np.ndarray:
    return np.zeros(0, dtype=np.float32)


def _empty(dim: int) -> np.ndarray:
    return np.zeros((0, dim), dtype=np.uint16 if dim == 2 else np.int8)


def _offsets(sizes: object) -> np.ndarray:
    counts = np.fromiter(sizes, np.int64)  # type: ignore[call-overload]
    return np.r_[0, np.cumsum(counts)].astype(np.int64)


def _postings(ids: np.ndarray, at: np.ndarray) -> dict[str, np.ndarray]:
    """Term -> (row, frequency) lists, terms sorted: BM25 reads one term's rows by a binary search."""
    row = np.repeat(np.arange(len(at) - 1, dtype=np.int64), np.diff(at))
    key, tf = np.unique(ids.astype(np.int64) * (len(at) + 1) + row, return_counts=True)  # (term, row) pairs
    term, rows = key // (len(at) + 1), key % (len(at) + 1)
    distinct, starts = np.unique(term, return_index=True)
    return {
        "post_term": distinct.astype(np.int32),
        "post_at": np.r_[starts, len(term)].astype(np.int64),
        "post_row": rows.astype(np.int32),
        "post_tf": tf.astype(np.float32),
    }


def _encode(
    ids: np.ndarray, at: np.ndarray, counts: np.ndarray, count_at: np.ndarray
) -> dict[str, np.ndarray]:
    """The ranker's sentence encodings: per sentence (the title left out; a row without sentences gets one
    empty sentence) its distinct term ids + 1 and its distinct adjacent pairs, each list holding 0 once."""
    rows = len(at) - 1
    title = counts[count_at[:-1]] if rows else np.zeros(0, np.int64)
    per_row = np.diff(count_at) - 1  # sentences per row
    enc_rows = np.maximum(per_row, 1)
    enc_at = np.r_[0, np.cumsum(enc_rows)].astype(np.int64)
    total = int(enc_at[-1])
    sizes = np.zeros(total, dtype=np.int64)  # tokens per encoded sentence
    body = np.ones(len(counts), dtype=bool)
    body[count_at[:-1]] = False  # the title counts are not sentences
    have = per_row > 0
    slot = np.repeat(enc_at[:-1][have], per_row[have]) + _ramp(per_row[have])
    sizes[slot] = counts[body]
    keep = np.ones(len(ids), dtype=bool)
    keep[np.repeat(at[:-1], title) + _ramp(title)] = False  # title terms
    words = ids[keep].astype(np.int64) + 1
    sentence = np.repeat(np.arange(total, dtype=np.int64), sizes)
    key = np.unique(np.r_[sentence * PAIR_WIDTH + words, np.arange(total, dtype=np.int64) * PAIR_WIDTH])
    same = sentence[:-1] == sentence[1:]
    owner = np.r_[sentence[:-1][same], np.arange(total, dtype=np.int64)]
    code = np.r_[words[:-1][same] * PAIR_WIDTH + words[1:][same], np.zeros(total, dtype=np.int64)]
    order = np.lexsort((code, owner))
    owner, code = owner[order], code[order]
    fresh = (
        np.r_[True, (owner[1:] != owner[:-1]) | (code[1:] != code[:-1])] if len(code) else np.zeros(0, bool)
    )
    owner, code = owner[fresh], code[fresh]
    return {
        "enc_at": enc_at,
        "enc_term_at": np.r_[0, np.cumsum(np.bincount(key // PAIR_WIDTH, minlength=total))].astype(np.int64),
        "enc_terms": key % PAIR_WIDTH,
        "enc_pair_at": np.r_[0, np.cumsum(np.bincount(owner, minlength=total))].astype(np.int64),
        "enc_pairs": code,
    }


def _ramp(sizes: np.ndarray) -> np.ndarray:
    """0..n-1 for each n in sizes, concatenated."""
    sizes = np.asarray(sizes, dtype=np.int64)
    if not len(sizes):
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    return np.arange(int(sizes.sum()), dtype=np.int64) - np.repeat(starts, sizes)
