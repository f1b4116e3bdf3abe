"""Format versions of every file the index writes, and the check that refuses one this newsqa cannot read.

Bump a version when the layout of its file changes in a way older code would misread; readers accept every
version up to their own (older files stay readable) and refuse a newer one with the command that fixes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.errors import IndexFormatError


@dataclass(frozen=True)
class Format:
    """One kind of file the index writes: its current version and how to recover from a mismatch."""

    name: str
    version: int
    remedy: str


COLLECTION = Format(
    "Chroma collection",
    1,
    "Upgrade newsqa, or build a new index from your sources: `newsqa --index NEW_DIR ingest SOURCES...`.",
)
KEYWORDS = Format(  # 1: rows as positional lists; 2: rows under named fields; 3: segments; 4: row columns
    "keyword index",
    4,
    "Upgrade newsqa, or rebuild the keyword index from the Chroma store: `newsqa reindex-keywords`.",
)
WIRE_TABLE = Format(  # stories/COLLECTION.sqlite3 (+ .bands/): MinHash bands (store/wire.py); 2: band runs
    "wire-copy table",
    2,
    "Upgrade newsqa, or rebuild it from the Chroma store: `newsqa reindex-keywords` (or delete the file; the "
    "next ingest rebuilds it).",
)
FEED_STATE = Format(
    "feed state (feeds.json)",
    1,
    "Upgrade newsqa, or delete feeds.json beside the index (the next `newsqa watch` reads every feed afresh).",
)


def check_format(fmt: Format, found: object, where: str) -> None:
    """Raise IndexFormatError unless `found` is a version of `fmt` this code reads."""
    if isinstance(found, int) and not isinstance(found, bool) and 1 <= found <= fmt.version:
        return
    raise IndexFormatError(
        f"The {fmt.name} at {where} has format {found!r}; this newsqa reads formats 1 to {fmt.version}. "
        + fmt.remedy
    )
