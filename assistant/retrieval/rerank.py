"""Optional reranking: a local sentence-transformers CrossEncoder reorders the retrieved passages."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.embedding import stay_offline
from assistant.errors import ConfigError

MIN_CANDIDATES = 20  # retrieved rows the reranker scores at least (k * 3 when that is more)


def candidate_count(k: int) -> int:
    """How many retrieved rows the reranker scores when k passages are wanted."""
    return max(k * 3, MIN_CANDIDATES)


class Reranker:
    """Scores (question, passage text) pairs with a CrossEncoder loaded from a local folder only."""

    def __init__(self, model_path: str, device: str = "cpu", batch_size: int = 16) -> None:
        stay_offline()
        path = Path(model_path).expanduser()
        if not path.is_dir():
            raise ConfigError(
                f"Reranker folder {path} does not exist. Point --reranker (NEWSQA_RERANKER) at a local "
                "sentence-transformers CrossEncoder folder (models are never downloaded), or leave it out."
            )
        from sentence_transformers import CrossEncoder

        try:
            self.model = CrossEncoder(str(path), device=device, local_files_only=True)
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise ConfigError(
                f"Cannot load the reranker from {path}: {exc}. --reranker needs a local "
                "sentence-transformers CrossEncoder folder (or leave it out)."
            ) from None
        self.path = str(path)
        self.batch_size = batch_size

    def scores(self, question: str, texts: Sequence[str]) -> list[float]:
        """The CrossEncoder's score of each text for the question (higher = more relevant)."""
        if not texts:
            return []
        raw = self.model.predict(
            [(question, text) for text in texts],
            batch_size=self.batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        # One label: its score. Several (e.g. irrelevant/relevant): the last label's.
        return [float(x) for x in np.asarray(raw, dtype=np.float64).reshape(len(texts), -1)[:, -1]]

    def order(self, question: str, texts: Sequence[str]) -> list[int]:
        """Indices of texts, best first by score (ties keep retrieval order)."""
        scores = self.scores(question, texts)
        return sorted(range(len(texts)), key=lambda i: -scores[i])
