"""The `onnx` and `onnx-int8` backends: the same model exported once to ONNX and run by ONNX Runtime.

Why: answering a question needs one forward pass of a small model, and importing sentence-transformers
(with transformers and scikit-learn) costs ~3 s per process, more than the rest of `newsqa ask`. ONNX
Runtime (a chromadb dependency) and `tokenizers` import in ~0.2 s. The fp32 export gives the torch model's
vectors (cosine 1.0000000); `onnx-int8` quantises the weights per channel (faster, cosine ~0.994).
The export runs once per model and is kept in the cache folder (`cache_dir` setting).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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

EXPORT_VERSION = 1  # bump when the export changes (inputs, opset, quantisation) so caches are redone
SUPPORTED_MODULES = {
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
}
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def exportable(path: Path) -> str | None:
    """Why this model folder cannot run on ONNX Runtime here (None when it can): only a transformer with
    mean pooling (and optional normalising) is exported; other models keep the torch backend."""
    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        pooling = next(m for m in modules if m.get("type", "").endswith("Pooling"))
        config = json.loads((path / pooling["path"] / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, StopIteration, KeyError) as exc:
        return f"no sentence-transformers pooling config ({exc})"
    unsupported = [m.get("type") for m in modules if m.get("type") not in SUPPORTED_MODULES]
    if unsupported:
        return f"modules {unsupported} are not exported"
    modes = [k for k, v in config.items() if k.startswith("pooling_mode") and v is True]
    if modes != ["pooling_mode_mean_tokens"]:
        return f"pooling {modes} is not mean pooling"
    if not (path / "tokenizer.json").is_file():
        return "no tokenizer.json"
    return None


def exported_model(path: Path, cache_dir: Path, int8: bool) -> Path:
    """The ONNX file of a model folder, exported (and quantised) on first use and cached by the folder's
    identity; one process exports while others wait for it (a file lock)."""
    weights = sorted(p for p in path.iterdir() if p.suffix in {".safetensors", ".bin"})
    identity = "|".join(
        [str(path.resolve()), str(EXPORT_VERSION)]
        + [f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in weights]
    )
    folder = cache_dir / "onnx" / f"{path.name}-{hashlib.sha256(identity.encode()).hexdigest()[:12]}"
    target = folder / ("model-int8.onnx" if int8 else "model.onnx")
    if target.is_file():
        return target
    from filelock import FileLock

    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / "export.lock")):
        if target.is_file():  # another process exported it while this one waited
            return target
        fp32 = folder / "model.onnx"
        if not fp32.is_file():
            _export(path, fp32)
        if int8:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            partial = target.with_suffix(f".{os.getpid()}.tmp")
            # Per channel: per-tensor scales lost too much (cosine 0.94 to fp32; per channel 0.993).
            quiet = logging.getLogger().level
            logging.getLogger().setLevel(logging.ERROR)  # its "consider pre-processing" hint is not for users
            try:
                quantize_dynamic(str(fp32), str(partial), weight_type=QuantType.QInt8, per_channel=True)
            finally:
                logging.getLogger().setLevel(quiet)
            os.replace(partial, target)
    return target


def _export(path: Path, target: Path) -> None:
    """torch.onnx.export of the model's transformer, returning its token states."""
    import warnings

    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a one-time step; its weight-loading bar is noise on a user's terminal
    model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()

    class TokenStates(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            return self.model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state

    sample = torch.ones((2, 8), dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "token_states")}
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    with warnings.catch_warnings():  # tracer notes about BERT's masks: the export is checked by tests
        warnings.simplefilter("ignore")
        torch.onnx.export(
            TokenStates(),
            (sample, sample, torch.zeros_like(sample)),
            str(partial),
            input_names=list(INPUTS),
            output_names=["token_states"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,  # the TorchScript exporter needs no onnxscript and handles BERT-style models
        )
    os.replace(partial, target)


class OnnxEmbedder(Embedder):
    """A sentence-transformers model folder run by ONNX Runtime, tokenised by `tokenizers`."""

    def __init__(
        self,
        model_path: str | None = None,
        *,
        cache_dir: Path,
        int8: bool = False,
        batch_size: int = 32,
        cache_size: int = 8192,
        query_threads: int = 1,
    ) -> None:
        super().__init__(batch_size, cache_size, query_threads)
        stay_offline()
        path = Path(model_path or default_model_path())
        problem = exportable(path)
        if problem:
            raise EmbedderError(f"{path} cannot run on ONNX Runtime: {problem}. Use --embed-backend torch.")
        from tokenizers import Tokenizer

        self.backend = "onnx-int8" if int8 else "onnx"
        self.name = path.name if model_path else "all-MiniLM-L6-v2"
        self.path = str(path)
        self.file = exported_model(path, cache_dir, int8)
        config = _json(path / "sentence_bert_config.json")
        self.max_tokens = int(config.get("max_seq_length") or 256)
        self.dimension = int(_json(path / "config.json")["hidden_size"])
        self._counter = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self.max_tokens)
        self._sessions: dict[int, Any] = {}

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for a text, without [CLS]/[SEP]."""
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def tokenize(self, text: str) -> list[str]:
        """The model's word pieces (used by the splitter to size chunks)."""
        return list(self._counter.encode(text, add_special_tokens=False).tokens)

    @property
    def pools_mean(self) -> bool:
        """Always: only mean-pooling models are exported."""
        return True

    def embed(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Unit-length embeddings, one row per text."""
        return self._run(texts, batch_size or self.batch_size, threads=0)[0]

    def embed_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[Region]]
    ) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        """Text vectors (as `embed`) and, from the same forward pass, a vector per region of each text."""
        return self._run(texts, self.batch_size, threads=0, spans=spans)

    def _question(
        self, question: str, regions: Sequence[Region]
    ) -> tuple[np.ndarray, list[np.ndarray | None]]:
        vectors, pooled = self._run([question], 1, threads=self.query_threads, spans=[regions])
        return vectors[0], pooled[0]

    def _embed_small(self, texts: Sequence[str]) -> np.ndarray:
        return self._run(texts, QUERY_BATCH, threads=self.query_threads)[0]

    def _run(
        self,
        texts: Sequence[str],
        batch_size: int,
        threads: int,
        spans: Sequence[Sequence[Region]] | None = None,
    ) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        """Forward passes over length-sorted batches (less padding), mean-pooled by the attention mask."""
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        pooled: list[list[np.ndarray | None]] = [[] for _ in texts]
        # Longest first (as sentence-transformers does): ONNX Runtime's memory arena grows to the largest
        # shape at once instead of step by step; a fresh process's first 1,200 chunks took 48 ms each
        # instead of 59 (43 once warm; docs/SCALING.md).
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        session = self._session(threads)
        names = {i.name for i in session.get_inputs()}
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            encodings = self._tokenizer.encode_batch([texts[i] for i in batch])
            width = max(len(e.ids) for e in encodings)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, encoding in enumerate(encodings):
                ids[row, : len(encoding.ids)] = encoding.ids
                mask[row, : len(encoding.ids)] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            states = session.run(None, {k: v for k, v in feed.items() if k in names})[0]
            for row, i in enumerate(batch):
                real = states[row, : len(encodings[row].ids)]
                vectors[i] = unit(real.mean(axis=0))
                if spans is not None:
                    pooled[i] = pool_spans(real, np.asarray(encodings[row].offsets), spans[i])
        return vectors, pooled

    def _session(self, threads: int) -> Any:
        """One ONNX Runtime session per thread count (questions: one thread; batches: every core)."""
        session = self._sessions.get(threads)
        if session is None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            # Idle worker threads sleep instead of spinning: the app, watch and ingest share few cores.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            try:
                session = ort.InferenceSession(str(self.file), options, providers=["CPUExecutionProvider"])
            except Exception as exc:  # onnxruntime raises its own error types for a damaged file
                raise EmbedderError(
                    f"Cannot load {self.file}: {exc}. Delete that folder to export the model again."
                ) from None
            self._sessions[threads] = session
        return session


def _json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
