"""Immutable segments of the keyword index: one batch of chunks as flat numpy arrays, written once as .npy
files and read memory-mapped, so a save writes only what changed and a reader maps instead of parsing.

A segment holds, per chunk: its row (ids, outlet, time, title: store/rowtable.py), its search terms as global term ids
(title first, then each sentence), BM25 postings (term -> rows, term frequency), the ranker's sentence
encodings (each sentence's distinct terms and adjacent term pairs) and its sentence vectors (int8).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from assistant.store.merging import common as _common
from assistant.store.merging import merge_to
from assistant.store.rowtable import RowInfo, RowTable
from assistant.store.rowtable import ramp as _ramp

__all__ = ["RowInfo", "RowTable", "Segment", "by_part"]
PAIR_WIDTH = 1 << 31  # term ids stay below it: a pair (a, b) is coded a * PAIR_WIDTH + b
ARRAYS = (
    "token_ids",  # int32 term ids of every row's title then text, rows one after another
    "token_at",  # int64 (rows + 1): where each row's terms start
    "counts",  # int32: per row, its title's term count, then each sentence's
    "count_at",  # int64 (rows + 1)
    "post_term",  # int32: the distinct terms, sorted
    "post_at",  # int64 (terms + 1): where each term's postings start
    "post_row",  # int32: rows holding the term
    "post_tf",  # uint16: how often (a chunk holds at most a few hundred terms)
    "sent_at",  # int64 (rows + 1): each row's stored sentence vectors
    "sent_span",  # uint16 (vectors x 2): character span of each vector's sentence in its chunk text
    "sent_scale",  # float32: int8 -> float scale of each vector
    "sent_vec",  # int8 (vectors x dim)
    "enc_at",  # int64 (rows + 1): each row's encoded sentences (at least one, maybe empty)
    "enc_term_at",  # int64 (sentences + 1)
    "enc_terms",  # int32: each sentence's distinct term ids + 1 (0: the empty marker every sentence holds)
    "enc_pair_at",  # int64 (sentences + 1)
    "enc_pairs",  # int64: each sentence's distinct adjacent pair codes (0 as above)
    "vec",  # float32 (rows x dim): each chunk's vector, as Chroma holds it
    "vec_has",  # bool: whether the row's vector is here (rows indexed before this was kept have none)
)
OPTIONAL = {"vec", "vec_has"}  # absent in segments written before chunk vectors were kept


class Segment:
    """One batch of chunks as arrays (mapped from disk, or in memory until written)."""

    def __init__(self, name: str, rows: RowTable, arrays: dict[str, np.ndarray]) -> None:
        self.name = name
        self.rows = rows
        self.a = arrays
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
        blocks: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray] | None],
        vectors: Sequence[np.ndarray | None] | None = None,
    ) -> Segment:
        """A segment in memory from each row's term ids, term counts (title, then sentences), decoded
        sentence vectors (spans, scales, int8 matrix) and chunk vector (None for a row without either)."""
        flat: dict[str, np.ndarray] = {}
        flat["token_ids"] = np.concatenate([np.asarray(t, np.int32) for t in terms]) if terms else _i32()
        flat["token_at"] = _offsets(len(t) for t in terms)
        flat["counts"] = np.fromiter((c for cs in counts for c in cs), np.int32)
        flat["count_at"] = _offsets(len(cs) for cs in counts)
        dim = _common({b[2].shape[1] for b in blocks if b is not None and len(b[2])})
        kept = [b if b is not None and dim and len(b[2]) and b[2].shape[1] == dim else None for b in blocks]
        found = [b for b in kept if b is not None]
        flat["sent_at"] = _offsets(0 if b is None else len(b[2]) for b in kept)
        flat["sent_span"] = np.concatenate([b[0] for b in found]).astype(np.uint16) if found else _empty(2)
        flat["sent_scale"] = np.concatenate([b[1] for b in found]).astype(np.float32) if found else _f32()
        flat["sent_vec"] = np.concatenate([b[2] for b in found]).astype(np.int8) if found else _empty(dim)
        given = list(vectors) if vectors is not None else [None] * len(rows)
        width = _common({len(v) for v in given if v is not None})
        flat["vec_has"] = np.array([v is not None and len(v) == width > 0 for v in given], dtype=bool)
        flat["vec"] = np.zeros((len(rows), width), dtype=np.float32)
        for i in np.flatnonzero(flat["vec_has"]):
            flat["vec"][i] = given[i]
        return cls._assemble(RowTable.from_rows(rows), flat)

    @classmethod
    def merge(cls, folder: Path, parts: Sequence[tuple[Segment, np.ndarray]]) -> Segment:
        """One segment of the given rows (local row numbers) of several segments, in order, written into
        folder and mapped (store/merging.py: block by block, so the merged arrays never sit in memory)."""
        return cls.open(folder, merge_to(folder, parts))

    @classmethod
    def _assemble(cls, rows: RowTable, flat: dict[str, np.ndarray]) -> Segment:
        """A segment from its rows' flat arrays, with the postings and sentence encodings derived."""
        a = dict(flat)
        a.update(_postings(a["token_ids"], a["token_at"]))
        a.update(_encode(a["token_ids"], a["token_at"], a["counts"], a["count_at"]))
        return cls(uuid.uuid4().hex[:12], rows, a)

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
        self.rows.write(target)

    @classmethod
    def open(cls, folder: Path, name: str) -> Segment:
        """Map a written segment (OSError / ValueError when it is missing or damaged)."""
        target = folder / name
        rows = RowTable.open(target)
        # plain ndarray views of the maps: slicing a np.memmap makes a memmap object each time (slow)
        arrays = {
            key: np.asarray(np.load(target / f"{key}.npy", mmap_mode="r"))
            for key in ARRAYS
            if key not in OPTIONAL or (target / f"{key}.npy").is_file()
        }
        if "vec" not in arrays:
            arrays["vec"], arrays["vec_has"] = np.zeros((len(rows), 0), np.float32), np.zeros(len(rows), bool)
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

    def vector(self, row: int) -> np.ndarray | None:
        """A row's chunk vector (None when not kept here)."""
        return np.asarray(self.a["vec"][row]) if self.a["vec_has"][row] else None

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


def by_part(
    first: np.ndarray, lives: Sequence[np.ndarray], rows: np.ndarray
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Rows numbered across parts (part p's live rows from first[p] on), part by part: (part, positions
    in `rows` that are its, their row numbers in the part's segment)."""
    part = np.searchsorted(first, rows, side="right") - 1
    for p in np.unique(part):
        mine = np.flatnonzero(part == p)
        yield int(p), mine, lives[p][rows[mine] - first[p]]


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
        "post_tf": tf.astype(np.uint16),
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
        "enc_terms": (key % PAIR_WIDTH).astype(np.int32),
        "enc_pair_at": np.r_[0, np.cumsum(np.bincount(owner, minlength=total))].astype(np.int64),
        "enc_pairs": code,
    }
