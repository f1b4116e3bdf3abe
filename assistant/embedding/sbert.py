"""The `torch` backend: a sentence-transformers model on PyTorch (any model sentence-transformers loads)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import numpy as np

from assistant.embedding.base import (
    QUERY_BATCH,
    Embedder,
    Region,
    default_model_path,
    pool_spans,
    stay_offline,
    unit,
)
from assistant.errors import EmbedderError


class SentenceTransformerEmbedder(Embedder):
    """A local sentence-transformers model folder, run by torch."""

    backend = "torch"

    def __init__(
        self,
        model_path: str | None = None,
        device: str = "cpu",
        batch_size: int = 32,
        cache_size: int = 8192,
        query_threads: int = 1,
    ) -> None:
        super().__init__(batch_size, cache_size, query_threads)
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
        self.max_tokens = int(self.model.max_seq_length or 256)
        getdim = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        self.dimension = int(getdim() or 0)
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
        """Text vectors (as `embed`) and, from the same forward pass, a vector per region of each text."""
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
            vectors[i] = unit(out["sentence_embedding"].float().numpy())
            ids = encoded["input_ids"][i]
            seen = out["input_ids"][: len(ids)].tolist()
            if seen != list(ids):  # tokenised differently from the model's own pass: no span vectors
                pooled.append([None] * len(spans[i]))
                continue
            states = out["token_embeddings"][: len(ids)].float().numpy()
            pooled.append(pool_spans(states, np.asarray(encoded["offset_mapping"][i]), spans[i]))
        return vectors, pooled

    def _question(
        self, question: str, regions: Sequence[Region]
    ) -> tuple[np.ndarray, list[np.ndarray | None]]:
        model = getattr(self.model[0], "auto_model", None)
        with self._threads(self.query_threads):
            if model is None or not self.pools_mean:
                vectors, pooled = self.embed_with_spans([question], [regions])
                return vectors[0], pooled[0]
            import torch  # the transformer alone: sentence-transformers' batching costs ~4 ms on one text

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
        return unit(states.mean(axis=0)), pool_spans(states, offsets, regions)

    def _embed_small(self, texts: Sequence[str]) -> np.ndarray:
        with self._threads(self.query_threads):  # small batches of similar length: less padding
            return self.embed(texts, QUERY_BATCH)

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
