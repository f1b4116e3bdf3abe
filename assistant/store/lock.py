"""One writer at a time per index: a lock file beside the keyword index (filelock), across processes and
threads, that says when it has to wait."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

from assistant.errors import IndexBusyError

log = logging.getLogger(__name__)


class WriteLock:
    """Held while anything writes the index (ingest, watch, uploads, remove, reindex-keywords)."""

    def __init__(self, path: Path, timeout: float, waiting: Callable[[str], None] | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.timeout = timeout
        self.waiting = waiting
        self._lock = FileLock(str(path))  # thread-local by default: two threads of one app wait too

    def __enter__(self) -> WriteLock:
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            (self.waiting or log.warning)(
                "waiting for another newsqa process that is writing to this index..."
            )
            try:
                self._lock.acquire(timeout=self.timeout)
            except Timeout:
                raise IndexBusyError(
                    f"Another newsqa process has been writing to this index for over {self.timeout:.0f} s "
                    f"(lock {self.path}). Let it finish or stop it, then run this again; raise "
                    "`lock_timeout` to wait longer."
                ) from None
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._lock.release()
