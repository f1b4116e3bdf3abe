"""Reading and chunking run ahead of the model: a background thread takes the read results one by one,
chunks each article and hands it over through a bounded queue, so the next articles are ready when the
model finishes (the model releases the GIL while it runs; chunking is Python)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Generator, Iterable
from typing import TYPE_CHECKING, NamedTuple

from assistant.types import Article, ReadResult

if TYPE_CHECKING:
    from llama_index.core.schema import TextNode

AHEAD = 64  # articles read and chunked ahead of the writer at most (bounded memory)
_DONE = object()


class Chunked(NamedTuple):
    """One read result; for an article, its chunks and how long chunking took."""

    item: ReadResult
    nodes: list[TextNode]
    seconds: float


class _Failed(NamedTuple):
    error: BaseException


def chunked(
    items: Iterable[ReadResult], chunk: Callable[[Article], list[TextNode]], ahead: int = AHEAD
) -> Generator[Chunked, None, None]:
    """The items, articles chunked, produced by a background thread up to `ahead` items in advance. An
    error while reading or chunking is raised here, in order; closing the iterator stops the thread."""
    handoff: queue.Queue[object] = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def put(value: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                started = time.perf_counter()
                nodes = chunk(item) if isinstance(item, Article) else []
                if not put(Chunked(item, nodes, time.perf_counter() - started)):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Failed(exc))
            return
        put(_DONE)

    thread = threading.Thread(target=work, name="newsqa-chunking", daemon=True)
    thread.start()
    try:
        while True:
            value = handoff.get()
            if value is _DONE:
                return
            if isinstance(value, _Failed):
                raise value.error
            assert isinstance(value, Chunked)
            yield value
    finally:
        stop.set()
        thread.join(timeout=5)
