"""Readers turn sources (files, folders, globs; later feeds and urls) into Articles."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from assistant.errors import InputError
from assistant.readers.files import expand, read_file
from assistant.readers.records import ReadResult

__all__ = ["ReadResult", "read_sources"]


def read_sources(specs: Iterable[str]) -> Iterator[ReadResult]:
    """Articles from every source named, with an InputError for each thing that could not be read."""
    for item in expand(specs):
        if isinstance(item, InputError):
            yield item
        else:
            yield from read_file(item)
