"""Readers and writers of a local Chroma store take turns across processes.

Chroma's local (embedded) store is not safe for several processes: a process that opens or reads it while
another one writes it can crash in Chroma's native code (measured here: a segfault in `count()` of a reader
opened beside a running ingest; chroma-core/chroma#421 and others report the same). newsqa already lets one
writer in at a time (store/lock.py); this adds a shared lock for every Chroma call that reads and an
exclusive one for every call that writes, on a file beside the store (`flock`). A Chroma server (`chroma
run`, `--chroma-url`) needs none: it is one process.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # not on Windows: there the guard does nothing (use a Chroma server for many processes)
    fcntl = None  # type: ignore[assignment]

GUARD_FILE = "chroma.guard"


class StoreGuard:
    """Shared (reading) or exclusive (writing) hold on a local store, nested calls in one thread counted."""

    def __init__(self, folder: Path | None) -> None:
        self.path = None if folder is None or fcntl is None else folder / GUARD_FILE
        self._mutex = threading.RLock()  # flock is per open file: threads of one process go one at a time
        self._file: IO[bytes] | None = None
        self._depth = 0

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Held by every Chroma call that only reads."""
        with self._hold(exclusive=False):
            yield

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Held by every Chroma call that writes (and while a client opens the store)."""
        with self._hold(exclusive=True):
            yield

    @contextlib.contextmanager
    def _hold(self, exclusive: bool) -> Iterator[None]:
        if self.path is None:
            yield
            return
        with self._mutex:
            if self._depth:  # already held by this thread: a write never nests inside a read here
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("ab")
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            self._depth = 1
            try:
                yield
            finally:
                self._depth = 0
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
