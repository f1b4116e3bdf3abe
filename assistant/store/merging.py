"""Merging keyword segments straight to disk: the parts are read a block of rows at a time and each merged
array is appended to its .npy file as it comes, so a merge holds one block's arrays and one slice of the
postings, not every merged array at once (a merge of 262k rows held about 2.6 GB that way, which took the
1M-chunk build to a 6.2 GB peak)."""

from __future__ import annotations

import io
import itertools
import mmap
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Protocol

import numpy as np

from assistant.store.rowtable import RowTable
from assistant.store.rowtable import ramp as _ramp


class Segment(Protocol):
    """What a merge reads of a keyword segment (segments.Segment, which imports this module)."""

    rows: RowTable
    a: dict[str, np.ndarray]

    def __len__(self) -> int: ...


BLOCK_ROWS = 32768  # rows of one part gathered at a time
POSTING_SLICES = 16  # the postings are merged in this many ranges of terms, about equal in size
_OFFSETS = ("token_at", "count_at", "sent_at", "enc_at", "enc_term_at", "enc_pair_at", "post_at")
_TYPES = {
    "token_ids": np.int32,
    "counts": np.int32,
    "post_term": np.int32,
    "post_row": np.int32,
    "post_tf": np.uint16,
    "sent_span": np.uint16,
    "sent_scale": np.float32,
    "sent_vec": np.int8,
    "enc_terms": np.int32,
    "enc_pairs": np.int64,
    "vec": np.float32,
    "vec_has": np.bool_,
}


class _Column:
    """An .npy file written piece by piece: its length is known only at the end, so the header (whose size
    numpy keeps fixed for any length of the first axis) is written again when it is finished."""

    def __init__(self, path: Path, dtype: type, width: int | None = None) -> None:
        self.path, self.dtype, self.width, self.rows = path, np.dtype(dtype), width, 0
        self.fh = path.open("wb")
        self.fh.write(self._header())

    def _header(self) -> bytes:
        shape = (self.rows,) if self.width is None else (self.rows, self.width)
        out = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            out, {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": shape}
        )
        return out.getvalue()

    def add(self, piece: np.ndarray) -> None:
        piece = np.ascontiguousarray(piece, dtype=self.dtype)
        if self.width is not None:  # rows of another width (none: the caller took no rows) become 0 rows
            piece = piece.reshape(
                piece.shape[0] if piece.ndim == 2 and piece.shape[1] == self.width else 0, self.width
            )
        self.rows += len(piece)
        self.fh.write(piece.data)

    def finish(self) -> None:
        """Write the final header and make the file durable."""
        header = self._header()
        self.fh.seek(0)
        if len(header) != self.fh.write(header):  # pragma: no cover - numpy pads every shape alike
            raise OSError(f"{self.path}: the .npy header changed size")
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()


class _Offsets(_Column):
    """An offsets array (n + 1 values, starting at 0) written from each piece's run sizes."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, np.int64)
        self.end = 0
        super().add(np.zeros(1, np.int64))

    def add(self, piece: np.ndarray) -> None:
        ends = self.end + np.cumsum(piece, dtype=np.int64)
        self.end = int(ends[-1]) if len(ends) else self.end
        super().add(ends)


class _Files:
    """The merged segment's array files, open for appending."""

    def __init__(self, target: Path, dim: int, width: int) -> None:
        widths = {"sent_span": 2, "sent_vec": dim, "vec": width}
        self.columns: dict[str, _Column] = {key: _Offsets(target / f"{key}.npy") for key in _OFFSETS}
        for key, kind in _TYPES.items():
            self.columns[key] = _Column(target / f"{key}.npy", kind, widths.get(key))

    def __getitem__(self, key: str) -> _Column:
        return self.columns[key]

    def __enter__(self) -> _Files:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for column in self.columns.values():
            if exc is None:
                column.finish()
            else:
                column.fh.close()


def merge_to(folder: Path, parts: Sequence[tuple[Segment, np.ndarray]]) -> str:
    """Write one segment of the given rows (local row numbers) of several segments, in order, into a new
    folder under `folder`; returns its name. Arrays are gathered whole per block (no per-row Python)."""
    name = uuid.uuid4().hex[:12]
    target = folder / name
    target.mkdir(parents=True)
    dim = common({s.a["sent_vec"].shape[1] for s, _ in parts if len(s.a["sent_vec"])})
    width = common({s.a["vec"].shape[1] for s, _ in parts if s.a["vec_has"].any()})
    moved: list[np.ndarray] = []  # per part: old row -> merged row (-1: dropped)
    first = 0
    with _Files(target, dim, width) as out:
        for segment, keep in parts:
            keep = np.asarray(keep, dtype=np.int64)
            for start in range(0, len(keep), BLOCK_ROWS):
                _rows(segment, keep[start : start + BLOCK_ROWS], out, dim, width)
                _release(segment)
            moved.append(np.full(len(segment) + 1, -1, dtype=np.int64))
            moved[-1][keep] = first + np.arange(len(keep))
            first += len(keep)
        _postings(parts, moved, out)
    # the rows last: their name list says the folder is complete (RowTable.written)
    RowTable.take([(segment.rows, keep) for segment, keep in parts]).write(target)
    return name


def _rows(segment: Segment, keep: np.ndarray, out: _Files, dim: int, width: int) -> None:
    """Append everything but the postings of these rows of a segment."""
    a = segment.a
    for values, at in (("token_ids", "token_at"), ("counts", "count_at")):
        index, sizes = _runs(a[at], keep)
        out[values].add(a[values][index])
        out[at].add(sizes)
    # sentence encodings are gathered too, not derived again from the terms: deriving them sorted every term
    # of every row (14 s for 69k rows; gathered, about 2 s)
    encoded, sizes = _runs(a["enc_at"], keep)
    out["enc_at"].add(sizes)
    for values, at in (("enc_terms", "enc_term_at"), ("enc_pairs", "enc_pair_at")):
        index, sizes = _runs(a[at], encoded)
        out[values].add(a[values][index])
        out[at].add(sizes)
    index, sizes = _runs(a["sent_at"], keep)
    if not (
        len(a["sent_vec"]) and a["sent_vec"].shape[1] == dim
    ):  # vectors of another size: these rows lose them
        index, sizes = index[:0], np.zeros_like(sizes)
    out["sent_at"].add(sizes)
    out["sent_span"].add(a["sent_span"][index])
    out["sent_scale"].add(a["sent_scale"][index])
    out["sent_vec"].add(a["sent_vec"][index])
    fits = a["vec"].shape[1] == width
    out["vec_has"].add(a["vec_has"][keep] & fits)
    out["vec"].add(a["vec"][keep] if fits else np.zeros((len(keep), width), np.float32))


def _postings(parts: Sequence[tuple[Segment, np.ndarray]], moved: list[np.ndarray], out: _Files) -> None:
    """Append the merged postings, one range of terms at a time: each part's postings are sorted by (term,
    row) and later parts hold later rows, so within a range a stable sort by term alone merges them."""
    bounds = _term_ranges([segment for segment, _ in parts])
    for low, high in itertools.pairwise(bounds):
        terms, rows, tfs = [], [], []
        for (segment, _), where in zip(parts, moved, strict=True):
            a = segment.a
            s, e = np.searchsorted(a["post_term"], [low, high])
            start, end = int(a["post_at"][s]), int(a["post_at"][e])
            term = np.repeat(
                np.asarray(a["post_term"][s:e], dtype=np.int32), np.diff(a["post_at"][s : e + 1])
            )
            row = where[np.asarray(a["post_row"][start:end], dtype=np.int64)]
            live = row >= 0
            terms.append(term[live])
            rows.append(row[live])
            tfs.append(np.asarray(a["post_tf"][start:end])[live])
        term = np.concatenate(terms)
        order = np.argsort(term, kind="stable")
        term = term[order]
        starts = np.flatnonzero(np.r_[True, term[1:] != term[:-1]]) if len(term) else np.zeros(0, np.int64)
        out["post_term"].add(term[starts])
        out["post_at"].add(np.diff(np.r_[starts, len(term)]))
        out["post_row"].add(np.concatenate(rows)[order])
        out["post_tf"].add(np.concatenate(tfs)[order])
        for segment, _ in parts:
            _release(segment)


def _term_ranges(segments: Sequence[Segment]) -> list[int]:
    """Term id bounds splitting the postings into POSTING_SLICES ranges of about equal size (by the largest
    part's postings; terms are numbered in order of first use, so the common ones are not spread evenly)."""
    top = max((int(s.a["post_term"][-1]) + 1 for s in segments if len(s.a["post_term"])), default=0)
    largest = max(segments, key=lambda s: int(s.a["post_at"][-1]), default=None)
    if largest is None or not len(largest.a["post_term"]):
        return [0, top]
    ends = np.asarray(largest.a["post_at"][1:])
    goals = ends[-1] * np.arange(1, POSTING_SLICES) / POSTING_SLICES
    inner = np.asarray(largest.a["post_term"])[np.searchsorted(ends, goals)] + 1
    return sorted({0, top, *(int(t) for t in inner if 0 < t < top)})


def _release(segment: Segment) -> None:
    """Drop the pages of a segment's mapped files that this process has read (the page cache keeps them; a
    later read maps them again): a merge reads every part whole, and they would all count in its RSS."""
    for array in segment.a.values():
        base = array.base
        while base is not None and not isinstance(base, mmap.mmap):
            base = getattr(base, "_mmap", None) or getattr(base, "base", None)
        if isinstance(base, mmap.mmap):
            base.madvise(mmap.MADV_DONTNEED)


def _runs(at: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions at[i]..at[i + 1] - 1 of each row i in keep, concatenated, and each run's length."""
    sizes = (at[keep + 1] - at[keep]).astype(np.int64)
    return np.repeat(at[keep], sizes) + _ramp(sizes), sizes


def common(sizes: set[int]) -> int:
    """The one size all given vectors share (0 when none, or when they differ: none can be kept)."""
    return sizes.pop() if len(sizes) == 1 else 0
