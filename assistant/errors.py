"""Domain exceptions; every message says what to do next."""

from __future__ import annotations


class NewsqaError(Exception):
    """Base class for errors the user can act on."""


class ConfigError(NewsqaError):
    """A setting, config file or flag is invalid."""


class InputError(NewsqaError):
    """An input file or record cannot be read as an article."""

    def __init__(self, origin: str, reason: str) -> None:
        super().__init__(f"{origin}: {reason}")
        self.origin = origin
        self.reason = reason


class IndexUnavailableError(NewsqaError):
    """The Chroma store cannot be opened or reached."""


class EmbedderError(NewsqaError):
    """The embedding model cannot be loaded."""


class NotFoundError(NewsqaError):
    """An article id or url is not in the index."""


class BackendError(NewsqaError):
    """An LLM backend failed (unreachable, timed out, or returned an error)."""


class IndexFormatError(NewsqaError):
    """A file of the index was written by a newsqa whose format this one cannot read."""


class IndexBusyError(NewsqaError):
    """Another process held the index's write lock for longer than we wait."""


class StoreReadError(NewsqaError):
    """Rows another process is writing could not be read yet (retrieval keeps the rows it has)."""
