"""A segment's rows as columns, written once as .npy files and read memory-mapped: chunk, article and story
ids as fixed-width UTF-8 bytes, times as integers, outlets as codes into a short name list, titles in one
byte blob, and the ids sorted for lookups. A row becomes a `RowInfo` only when one is asked for, so opening
a million rows parses nothing and holds no Python object per row.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.formats import KEYWORDS, check_format

NO_TS = np.iinfo(np.int64).min  # an undated row's time
NAMES = "row.names"  # JSON: the outlet names the codes index; written last, so its presence says the columns
# are complete (not .json: a folder of articles holding an index never reads it as articles)
LEGACY_ROWS = "table.rows"  # the rows as JSON, as segments of format 3 hold them
COLUMNS = (
    "row_id",  # S: chunk ids
    "row_article",  # S: article ids
    "row_story",  # S: wire story ids ("" when not known)
    "row_chunk",  # int32: the chunk's place in its article
    "row_ts",  # int64: publication time, epoch seconds (NO_TS: undated)
    "row_source",  # int32: code of the source name
    "row_outlet",  # int32: code of the outlet name (stories.outlet)
    "title_at",  # int64 (rows + 1): where each row's title starts in `title`
    "title",  # uint8: the titles, UTF-8, one after another
    "id_sorted",  # S: the chunk ids sorted (lookups by binary search)
    "id_order",  # int64: the row of each sorted id
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


class RowTable:
    """The rows of one segment, column by column."""

    def __init__(self, columns: dict[str, np.ndarray], sources: list[str], outlets: list[str]) -> None:
        self.c = columns
        self.sources = sources
        self.outlets = outlets

    def __len__(self) -> int:
        return len(self.c["row_chunk"])

    def __getitem__(self, i: int) -> RowInfo:
        c = self.c
        ts = int(c["row_ts"][i])
        return RowInfo(
            id=_text(c["row_id"][i]),
            article_id=_text(c["row_article"][i]),
            source=self.sources[int(c["row_source"][i])],
            ts=None if ts == NO_TS else ts,
            title=bytes(c["title"][int(c["title_at"][i]) : int(c["title_at"][i + 1])]).decode("utf-8"),
            chunk_index=int(c["row_chunk"][i]),
            story=_text(c["row_story"][i]),
            outlet=self.outlets[int(c["row_outlet"][i])],
        )

    def __iter__(self) -> Iterator[RowInfo]:
        return (self[i] for i in range(len(self)))

    def ids(self, rows: np.ndarray) -> list[str]:
        """The chunk ids of these rows."""
        return [_text(v) for v in np.asarray(self.c["row_id"][rows])]

    def find(self, chunk_ids: Sequence[str]) -> np.ndarray:
        """The row of each chunk id (-1 when not here), by binary search in the sorted ids."""
        if not chunk_ids:
            return np.zeros(0, dtype=np.int64)
        return lookup(self.c["id_sorted"], self.c["id_order"], _bytes(chunk_ids))

    def of_articles(self, article_ids: Sequence[str]) -> np.ndarray:
        """The rows of these articles."""
        if not len(self) or not article_ids:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(np.isin(self.c["row_article"], _bytes(article_ids)))

    # -- building -------------------------------------------------------------------------------

    @classmethod
    def from_rows(cls, rows: Sequence[RowInfo]) -> RowTable:
        """Columns of rows given one by one."""
        sources = sorted({r.source for r in rows})
        outlets = sorted({r.outlet for r in rows})
        source_code = {name: i for i, name in enumerate(sources)}
        outlet_code = {name: i for i, name in enumerate(outlets)}
        titles = [r.title.encode("utf-8") for r in rows]
        columns = {
            "row_id": _bytes([r.id for r in rows]),
            "row_article": _bytes([r.article_id for r in rows]),
            "row_story": _bytes([r.story for r in rows]),
            "row_chunk": np.array([r.chunk_index for r in rows], dtype=np.int32),
            "row_ts": np.array([NO_TS if r.ts is None else r.ts for r in rows], dtype=np.int64),
            "row_source": np.array([source_code[r.source] for r in rows], dtype=np.int32),
            "row_outlet": np.array([outlet_code[r.outlet] for r in rows], dtype=np.int32),
            "title_at": np.r_[0, np.cumsum([len(t) for t in titles], dtype=np.int64)].astype(np.int64),
            "title": np.frombuffer(b"".join(titles), dtype=np.uint8),
        }
        return cls(_sorted_ids(columns), sources, outlets)

    @classmethod
    def take(cls, parts: Sequence[tuple[RowTable, np.ndarray]]) -> RowTable:
        """One table of the given rows of several tables, in order (whole columns gathered, no per-row
        Python): the name lists are joined and each part's codes mapped into them."""
        sources = sorted({name for table, _ in parts for name in table.sources})
        outlets = sorted({name for table, _ in parts for name in table.outlets})
        pieces: dict[str, list[np.ndarray]] = {}
        for table, keep in parts:
            c, keep = table.c, np.asarray(keep, dtype=np.int64)
            for key in ("row_id", "row_article", "row_story", "row_chunk", "row_ts"):
                pieces.setdefault(key, []).append(np.asarray(c[key][keep]))
            for key, names, joined in (
                ("row_source", table.sources, sources),
                ("row_outlet", table.outlets, outlets),
            ):
                code = {name: i for i, name in enumerate(joined)}
                remap = np.array([code[n] for n in names] or [0], dtype=np.int32)
                pieces.setdefault(key, []).append(remap[np.asarray(c[key][keep])])
            sizes = (c["title_at"][keep + 1] - c["title_at"][keep]).astype(np.int64)
            index = np.repeat(c["title_at"][keep], sizes) + ramp(sizes)
            pieces.setdefault("title", []).append(np.asarray(c["title"][index], dtype=np.uint8))
            pieces.setdefault("title_at", []).append(sizes)
        if not parts:
            return cls.from_rows([])
        columns = {key: np.concatenate(values) for key, values in pieces.items()}
        columns["title_at"] = np.r_[0, np.cumsum(columns["title_at"])].astype(np.int64)
        for key in ("row_id", "row_article", "row_story"):  # an empty part gives a 0-width string array
            columns[key] = columns[key].astype(f"S{max(1, columns[key].dtype.itemsize)}")
        return cls(_sorted_ids(columns), sources, outlets)

    # -- disk -----------------------------------------------------------------------------------

    def write(self, target: Path) -> None:
        """Write the columns into a segment's folder, each durable, the name list last."""
        target.mkdir(parents=True, exist_ok=True)
        for key in COLUMNS:
            path = target / f"{key}.npy"
            temporary = path.with_name(path.name + ".tmp")
            with temporary.open("wb") as fh:
                np.save(fh, np.ascontiguousarray(self.c[key]))
                fh.flush()
                os.fsync(fh.fileno())
            temporary.replace(path)
        names = {"format": KEYWORDS.version, "sources": self.sources, "outlets": self.outlets}
        temporary = target / f"{NAMES}.tmp"
        with temporary.open("w", encoding="utf-8") as fh:
            json.dump(names, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        temporary.replace(target / NAMES)

    @classmethod
    def open(cls, target: Path) -> RowTable:
        """Map a segment's columns, or read the JSON rows of a segment written before them (OSError /
        ValueError when neither is readable)."""
        if not (target / NAMES).is_file():
            return cls.from_rows(_legacy(target))
        names = json.loads((target / NAMES).read_text(encoding="utf-8"))
        check_format(KEYWORDS, names.get("format"), str(target))
        columns = {key: np.asarray(np.load(target / f"{key}.npy", mmap_mode="r")) for key in COLUMNS}
        return cls(columns, list(names["sources"]), list(names["outlets"]))

    @staticmethod
    def written(target: Path) -> bool:
        """Whether a segment's folder holds the columns (not only the JSON rows of format 3)."""
        return (target / NAMES).is_file()


def _legacy(target: Path) -> list[RowInfo]:
    with (target / LEGACY_ROWS).open(encoding="utf-8") as fh:
        data = json.load(fh)
    check_format(KEYWORDS, data.get("format"), str(target))
    return [RowInfo(*r) for r in data["rows"]]


def _sorted_ids(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    order = np.argsort(columns["row_id"], kind="stable").astype(np.int64)
    return columns | {"id_sorted": columns["row_id"][order], "id_order": order}


def lookup(ordered: np.ndarray, order: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Where each key was before sorting (`order` sorted the values into `ordered`), -1 when absent."""
    if not len(ordered):
        return np.full(len(keys), -1, dtype=np.int64)
    at = np.minimum(np.searchsorted(ordered, keys), len(ordered) - 1)
    return np.where(ordered[at] == keys, order[at], -1).astype(np.int64)


def _bytes(values: Sequence[str]) -> np.ndarray:
    """Strings as a fixed-width UTF-8 byte array (at least 1 wide: numpy has no 0-width strings)."""
    encoded = [v.encode("utf-8") for v in values]
    return np.array(encoded, dtype=f"S{max([1, *map(len, encoded)])}")


def _text(value: bytes) -> str:
    return bytes(value).decode("utf-8")


def ramp(sizes: np.ndarray) -> np.ndarray:
    """0..n-1 for each n in sizes, concatenated."""
    sizes = np.asarray(sizes, dtype=np.int64)
    if not len(sizes):
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    return np.arange(int(sizes.sum()), dtype=np.int64) - np.repeat(starts, sizes)
