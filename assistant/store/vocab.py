"""The keyword index's vocabulary: every search term numbered in order of first use, saved append-only."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

VOCAB = "vocab.terms"  # no article extension: ingesting a folder that holds the index skips it


class Vocabulary:
    """Term <-> id. Ids past `saved` were numbered in memory by rows not saved yet."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / VOCAB
        self.terms: list[str] = []
        self.ids: dict[str, int] = {}
        self.saved = 0  # terms (and bytes of the file) the loaded manifest counts
        self.saved_bytes = 0

    def __len__(self) -> int:
        return len(self.terms)

    def reset(self) -> None:
        """Forget every term (a rebuild)."""
        self.terms, self.ids, self.saved, self.saved_bytes = [], {}, 0, 0

    def encode(self, words: Sequence[str]) -> np.ndarray:
        """Ids of words, numbering new ones."""
        return np.fromiter((self._id(w) for w in words), np.int32, len(words))

    def _id(self, term: str) -> int:
        found = self.ids.get(term)
        if found is None:
            found = self.ids[term] = len(self.terms)
            self.terms.append(term)
        return found

    def read(self, terms: int, size: int) -> None:
        """Take the saved vocabulary up to `terms` terms (`size` bytes): terms numbered in memory since the
        last read are dropped first, as the writer may have saved others under those numbers."""
        if size < self.saved_bytes:  # another vocabulary (the index was rebuilt): read it all
            self.reset()
        for term in self.terms[self.saved :]:
            del self.ids[term]
        del self.terms[self.saved :]
        if size > self.saved_bytes:
            with self.path.open("rb") as fh:
                fh.seek(self.saved_bytes)
                new = fh.read(size - self.saved_bytes).decode("utf-8").split("\n")[:-1]
            for term in new:
                self.ids[term] = len(self.terms)
                self.terms.append(term)
        if len(self.terms) != terms:
            raise ValueError(f"{self.path} holds {len(self.terms)} terms, the manifest {terms}")
        self.saved, self.saved_bytes = terms, size

    def write(self) -> None:
        """Append the terms numbered since the last save (cutting what a killed writer left past the saved
        end first) and make them durable before a manifest counts them."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as fh:
            fh.truncate(self.saved_bytes)
            fh.write("".join(t + "\n" for t in self.terms[self.saved :]).encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
            self.saved_bytes = fh.tell()
        self.saved = len(self.terms)
