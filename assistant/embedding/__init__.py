"""Text embedders: one base class (`Embedder`) and a backend per runtime, chosen by `embed_backend`.

- `onnx` (default): the model exported once to ONNX, run by ONNX Runtime; same vectors as torch, and a
  process that only asks questions never imports torch's model stack.
- `onnx-int8`: the export with int8 weights (faster encoding, vectors within cosine ~0.99 of fp32).
- `torch`: sentence-transformers on PyTorch; any model it loads, any device.
"""

from __future__ import annotations

import logging
from pathlib import Path

from assistant.embedding.base import Embedder, Region, default_model_path, pool_spans, stay_offline
from assistant.errors import EmbedderError

BACKENDS = ("onnx", "onnx-int8", "torch")
log = logging.getLogger(__name__)

__all__ = [
    "BACKENDS",
    "Embedder",
    "Region",
    "default_model_path",
    "load_embedder",
    "pool_spans",
    "stay_offline",
]


def load_embedder(
    model_path: str | None = None,
    *,
    backend: str = "onnx",
    device: str = "cpu",
    batch_size: int = 32,
    cache_dir: Path | None = None,
) -> Embedder:
    """The embedder for a model folder (None: the packaged MiniLM) on a backend; an ONNX backend that
    cannot serve this model or device falls back to torch with a logged warning."""
    if backend not in BACKENDS:
        raise EmbedderError(f"Unknown embedder backend {backend!r}: choose one of {', '.join(BACKENDS)}.")
    if backend != "torch":
        problem = "ONNX Runtime runs on the CPU here" if device != "cpu" else None
        if problem is None:
            from assistant.embedding.onnx import OnnxEmbedder

            try:
                return OnnxEmbedder(
                    model_path,
                    cache_dir=cache_dir or Path.home() / ".cache" / "newsqa",
                    int8=backend == "onnx-int8",
                    batch_size=batch_size,
                )
            except (EmbedderError, ImportError, RuntimeError, OSError) as exc:
                problem = str(exc)
        log.warning("embedder backend %s unavailable (%s); using torch", backend, problem)
    from assistant.embedding.sbert import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model_path, device, batch_size)
