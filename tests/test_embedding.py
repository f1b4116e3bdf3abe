"""The embedder backends: ONNX Runtime gives torch's vectors, int8 stays close, others fall back to torch."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.embedding import Embedder, default_model_path, load_embedder
from assistant.embedding.onnx import OnnxEmbedder, exportable
from assistant.embedding.sbert import SentenceTransformerEmbedder
from tests.conftest import ROOT, SEED

TEXTS = [
    "Putin and Trump spoke by telephone for about 50 minutes on Monday.",
    "The central bank raised interest rates by 0.25 percentage points to 5.5%.",
    "Le ministre a annoncé une réforme des retraites — controversée.",
    "A much longer text about the semiconductor export controls announced in Washington this week, "
    "which restrict sales of advanced chips and chip-making tools to China. " * 8,
]
SPANS = [[[(0, 20)], [(21, 40)]], [[(4, 16)]], [[(0, 11)]], [[(0, 30)], [(5000, 5100)]]]


@pytest.fixture(scope="module")
def torch_embedder() -> Embedder:
    return load_embedder(backend="torch")


def test_onnx_gives_the_torch_vectors_tokens_and_span_vectors(
    embedder: Embedder, torch_embedder: Embedder
) -> None:
    onnx = embedder if isinstance(embedder, OnnxEmbedder) else load_embedder(backend="onnx")
    assert isinstance(onnx, OnnxEmbedder) and isinstance(torch_embedder, SentenceTransformerEmbedder)
    assert (onnx.dimension, onnx.max_tokens) == (torch_embedder.dimension, torch_embedder.max_tokens)
    for text in TEXTS:
        assert onnx.tokenize(text) == torch_embedder.tokenize(text)
        assert onnx.count_tokens(text) == torch_embedder.count_tokens(text)
    cosines = (onnx.embed(TEXTS) * torch_embedder.embed(TEXTS)).sum(axis=1)
    assert cosines.min() > 0.99999, cosines
    got, got_spans = onnx.embed_with_spans(TEXTS, SPANS)
    want, want_spans = torch_embedder.embed_with_spans(TEXTS, SPANS)
    assert np.allclose(got, want, atol=1e-4)
    for mine, theirs in zip(got_spans, want_spans, strict=True):
        for a, b in zip(mine, theirs, strict=True):
            assert (a is None) == (b is None)  # a span past the model's 256 tokens has no vector in both
            if a is not None and b is not None:
                assert float(a @ b) > 0.99999
    question = "How long did the call last?"
    vector, parts = onnx.embed_question(question, [[(0, 8)], [(9, 27)]])
    assert float(vector @ torch_embedder.embed_one(question)) > 0.99999 and all(p is not None for p in parts)


def test_int8_stays_close_to_fp32(tmp_path: Path, embedder: Embedder) -> None:
    int8 = load_embedder(backend="onnx-int8", cache_dir=tmp_path)
    assert isinstance(int8, OnnxEmbedder) and int8.backend == "onnx-int8"
    assert (
        int8.file.name == "model-int8.onnx"
        and int8.file.stat().st_size < 0.4 * (int8.file.parent / "model.onnx").stat().st_size
    )
    cosines = (int8.embed(TEXTS) * embedder.embed(TEXTS)).sum(axis=1)
    assert cosines.min() > 0.98, cosines  # per-channel scales; per-tensor ones gave ~0.94
    again = load_embedder(backend="onnx-int8", cache_dir=tmp_path)  # the cached export, not a new one
    assert again.file == int8.file and again.file.stat().st_mtime_ns == int8.file.stat().st_mtime_ns


def test_a_model_onnx_cannot_serve_falls_back_to_torch(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = tmp_path / "cls-model"
    shutil.copytree(default_model_path(), model)
    pooling = model / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    pooling.write_text(json.dumps(config))
    assert "not mean pooling" in (exportable(model) or "")
    with caplog.at_level(logging.WARNING):
        fallback = load_embedder(str(model), backend="onnx", cache_dir=tmp_path / "cache")
    assert isinstance(fallback, SentenceTransformerEmbedder) and not fallback.pools_mean
    assert "using torch" in caplog.text and "not mean pooling" in caplog.text
    assert not (tmp_path / "cache").exists()  # nothing was exported


def test_unknown_backend_names_the_choices() -> None:
    with pytest.raises(Exception, match="onnx, onnx-int8, torch"):
        load_embedder(backend="tensorflow")


def test_asking_imports_no_torch_model_stack(tmp_path: Path) -> None:
    """`newsqa ask` on the default backend never imports torch, transformers or sentence-transformers
    (the ~3 s that made a cold ask 3x the floor; benchmarks/startup.py has the times)."""
    index = tmp_path / "index"
    run = [sys.executable, "-m", "assistant", "--index", str(index)]
    subprocess.run([*run, "ingest", "-q", str(SEED)], cwd=ROOT, check=True, capture_output=True)
    probe = (
        "import sys, runpy; sys.argv = ['newsqa', '--index', sys.argv[1], 'ask', 'How long did the call last?']\n"
        "try:\n    runpy.run_module('assistant', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(index)], cwd=ROOT, capture_output=True, text=True)
    assert "50 minutes" in done.stdout, done.stdout + done.stderr
    assert "LOADED []" in done.stdout, done.stdout
