"""Sentence vectors computed at ingest: each sentence's word-piece states pooled from its chunk's forward pass.

The embedder reads every chunk once anyway; averaging the token states that fall inside one sentence gives
that sentence a vector in context, at no extra model cost. They are stored with the chunk (one metadata
string, int8 with a scale per vector), so the answerer scores sentences without calling the model.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from assistant.store.segments import by_part
from assistant.text import split_sentences

if TYPE_CHECKING:
    from assistant.store.segments import Segment

METADATA_KEY = "sentence_vectors"
_VERSION = 1
_MAX_OFFSET = 65535  # spans are stored as uint16 character offsets


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans (start, end) of the sentences `split_sentences` finds in text, in order."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for sentence in split_sentences(text):
        start = text.find(sentence, cursor)
        if start < 0:  # the splitter joined pieces with a different space: no exact span, no vector
            continue
        cursor = start + len(sentence)
        spans.append((start, cursor))
    return spans


def place_sentences(embedded: str, text: str) -> tuple[int, list[tuple[int, int]]]:
    """Where a chunk's text starts in what the model reads (header first), and its sentence spans there."""
    if not embedded.endswith(text):
        return 0, []
    offset = len(embedded) - len(text)
    return offset, [(start + offset, end + offset) for start, end in sentence_spans(text)]


def pack(spans: Sequence[tuple[int, int]], vectors: Sequence[np.ndarray | None]) -> str | None:
    """One ASCII string holding the spans that have vectors and the vectors (int8, scale per vector)."""
    kept = [
        (span, v) for span, v in zip(spans, vectors, strict=True) if v is not None and span[1] <= _MAX_OFFSET
    ]
    if not kept:
        return None
    matrix = np.stack([v for _, v in kept]).astype(np.float32)
    scales = np.abs(matrix).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    quantised = np.round(matrix / scales[:, None]).astype(np.int8)
    return encode(np.array([s for s, _ in kept]), scales, quantised)


def encode(spans: np.ndarray, scales: np.ndarray, quantised: np.ndarray) -> str:
    """The `pack` string of decoded sentence vectors (spans, scales, int8 matrix)."""
    head = np.array([_VERSION, len(quantised), quantised.shape[1]], dtype="<u2")
    raw = (
        head.tobytes()
        + np.asarray(spans, dtype="<u2").tobytes()
        + np.asarray(scales, dtype="<f4").tobytes()
        + np.asarray(quantised, dtype=np.int8).tobytes()
    )
    return base64.b64encode(raw).decode("ascii")


def decode(blob: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(spans, scales, int8 vectors) from a string made by `pack`; None if empty or unusable."""
    if not blob:
        return None
    try:
        raw = base64.b64decode(blob, validate=True)
        version, count, dim = (int(x) for x in np.frombuffer(raw[:6], dtype="<u2"))
        if version != _VERSION:
            return None
        at = 6
        offsets = np.frombuffer(raw[at : at + 4 * count], dtype="<u2").reshape(count, 2)
        at += 4 * count
        scales = np.frombuffer(raw[at : at + 4 * count], dtype="<f4")
        at += 4 * count
        quantised = np.frombuffer(raw[at : at + count * dim], dtype=np.int8).reshape(count, dim)
    except ValueError:  # damaged or foreign value: the answerer embeds those sentences itself
        return None
    return offsets, scales, quantised


def vectors_by_span(blob: str | None) -> dict[tuple[int, int], np.ndarray]:
    """Character span -> unit vector, from a string made by `pack` ({} if unusable)."""
    decoded = decode(blob)
    if decoded is None:
        return {}
    offsets, scales, quantised = decoded
    matrix = quantised.astype(np.float32) * scales[:, None]
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    return {(int(s), int(e)): row for (s, e), row in zip(offsets, matrix, strict=True)}


def unpack(blob: str | None, text: str) -> dict[str, np.ndarray]:
    """Sentence text -> unit vector, from a string made by `pack` for this chunk text ({} if unusable)."""
    return {text[s:e]: vector for (s, e), vector in vectors_by_span(blob).items()}


class SentenceTable:
    """Every chunk's stored sentence vectors, rows in the keyword index's order, read from its segments
    (memory-mapped) only for the rows asked about."""

    def __init__(self, parts: Sequence[tuple[Segment, np.ndarray]]) -> None:
        self.parts = [(s, live) for s, live in parts]
        self.first = np.r_[0, np.cumsum([len(live) for _, live in parts])].astype(np.int64)
        self.count = sum(int(s.a["sent_at"][-1]) for s, _ in parts)

    @classmethod
    def of_blobs(cls, blobs: Sequence[str | None]) -> SentenceTable:
        """A table of `pack` strings, one per row (tests, and rows not in a keyword index)."""
        from assistant.store.segments import RowInfo, Segment

        rows = [RowInfo(str(i), "", "", None, "", 0) for i in range(len(blobs))]
        empty = np.zeros(0, dtype=np.int32)
        segment = Segment.build(rows, [empty] * len(rows), [(0,)] * len(rows), [decode(b) for b in blobs])
        return cls([(segment, np.arange(len(rows)))])

    def __len__(self) -> int:
        return self.count

    def best(self, rows: np.ndarray, queries: np.ndarray) -> np.ndarray:
        """rows x queries: the best sentence cosine of each chunk (0 for chunks stored without vectors)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros((len(rows), queries.shape[0]), dtype=np.float32)
        for p, mine, local in by_part(self.first, [live for _, live in self.parts], rows):
            segment = self.parts[p][0]
            begin, end = segment.a["sent_at"][local], segment.a["sent_at"][local + 1]
            sizes = end - begin
            have = np.flatnonzero(sizes > 0)
            if not len(have):
                continue
            starts = np.r_[0, np.cumsum(sizes[have])[:-1]]
            index = np.repeat(begin[have] - starts, sizes[have]) + np.arange(int(sizes[have].sum()))
            matrix = np.asarray(segment.a["sent_vec"][index], dtype=np.float32)
            inverse = 1.0 / np.maximum(np.linalg.norm(matrix, axis=1), 1e-12)  # scales cancel in a cosine
            sims = (matrix @ queries.T) * inverse[:, None]
            out[mine[have]] = np.maximum.reduceat(sims, starts, axis=0)
        return out

    def blob(self, row: int) -> str | None:
        """A row's sentence vectors as one `pack` string (None without)."""
        p = int(np.searchsorted(self.first, row, side="right")) - 1
        segment, live = self.parts[p]
        block = segment.sentence_block(int(live[row - self.first[p]]))
        return None if block is None else encode(*block)

    def has(self, rows: np.ndarray) -> np.ndarray:
        """Whether each row has stored sentence vectors."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros(len(rows), dtype=bool)
        for p, mine, local in by_part(self.first, [live for _, live in self.parts], rows):
            segment = self.parts[p][0]
            out[mine] = segment.a["sent_at"][local + 1] > segment.a["sent_at"][local]
        return out

    def blend(self, chunk: np.ndarray, queries: np.ndarray, weight: float, candidates: int) -> np.ndarray:
        """Chunk cosines (rows x queries) blended with each chunk's best sentence cosine, for the
        `candidates` chunks closest to each query (the others keep their chunk cosine)."""
        out = chunk.copy()
        if len(chunk) > candidates:
            near = np.argpartition(-chunk, candidates, axis=0)[:candidates]  # per query column
        else:
            near = np.tile(np.arange(len(chunk))[:, None], (1, chunk.shape[1]))
        rows = np.unique(near)  # each chunk's sentences are read once for all queries
        rows = rows[self.has(rows)]  # chunks without stored sentences keep their cosine
        best = self.best(rows, queries)
        position = np.full(len(chunk), -1)
        position[rows] = np.arange(len(rows))
        for j in range(queries.shape[0]):
            mine = near[:, j][position[near[:, j]] >= 0]
            out[mine, j] = (1 - weight) * chunk[mine, j] + weight * best[position[mine], j]
        return out
