"""Sentence vectors computed at ingest: each sentence's word-piece states pooled from its chunk's forward pass.

The embedder reads every chunk once anyway; averaging the token states that fall inside one sentence gives
that sentence a vector in context, at no extra model cost. They are stored with the chunk (one metadata
string, int8 with a scale per vector), so the answerer scores sentences without calling the model.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import numpy as np

from assistant.text import split_sentences

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
    head = np.array([_VERSION, len(kept), matrix.shape[1]], dtype="<u2")
    offsets = np.array([s for s, _ in kept], dtype="<u2")
    raw = head.tobytes() + offsets.tobytes() + scales.astype("<f4").tobytes() + quantised.tobytes()
    return base64.b64encode(raw).decode("ascii")


def _decode(blob: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
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
    decoded = _decode(blob)
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
    """Every chunk's stored sentence vectors in one int8 matrix, rows in the chunk table's order."""

    def __init__(self, blobs: Sequence[str | None]) -> None:
        blocks = [_decode(b) for b in blobs]
        sizes = np.array([0 if b is None else len(b[2]) for b in blocks], dtype=np.int64)
        self.end = np.cumsum(sizes)
        self.begin = self.end - sizes
        found = [b[2] for b in blocks if b is not None and len(b[2])]
        self.matrix = np.concatenate(found) if found else np.zeros((0, 0), np.int8)
        norms = np.linalg.norm(self.matrix.astype(np.float32), axis=1) if found else np.zeros(0)
        self.inverse_norm = 1.0 / np.maximum(norms, 1e-12)  # int8 rows -> unit vectors (scales cancel)

    def __len__(self) -> int:
        return len(self.matrix)

    def best(self, rows: np.ndarray, queries: np.ndarray) -> np.ndarray:
        """rows x queries: the best sentence cosine of each chunk (0 for chunks stored without vectors)."""
        out = np.zeros((len(rows), queries.shape[0]), dtype=np.float32)
        sizes = self.end[rows] - self.begin[rows]
        have = np.flatnonzero(sizes > 0)
        if not len(have):
            return out
        starts = np.r_[0, np.cumsum(sizes[have])[:-1]]
        index = np.repeat(self.begin[rows[have]] - starts, sizes[have]) + np.arange(int(sizes[have].sum()))
        sims = (self.matrix[index].astype(np.float32) @ queries.T) * self.inverse_norm[index][:, None]
        out[have] = np.maximum.reduceat(sims, starts, axis=0)
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
        rows = rows[self.end[rows] > self.begin[rows]]  # chunks without stored sentences keep their cosine
        best = self.best(rows, queries)
        position = np.full(len(chunk), -1)
        position[rows] = np.arange(len(rows))
        for j in range(queries.shape[0]):
            mine = near[:, j][position[near[:, j]] >= 0]
            out[mine, j] = (1 - weight) * chunk[mine, j] + weight * best[position[mine], j]
        return out
