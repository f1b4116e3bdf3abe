"""Sentence vectors pooled at ingest from each chunk's own forward pass: stored, exact, and robust."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from assistant.assistant import Assistant
from assistant.embedding import Embedder
from assistant.retrieval.query import word_ranges
from assistant.store.keywords import keyword_folder
from assistant.store.sentences import (
    METADATA_KEY,
    SentenceTable,
    pack,
    place_sentences,
    sentence_spans,
    unpack,
)
from tests.conftest import SEED


def test_pack_and_unpack_round_trip_the_spans_that_have_vectors() -> None:
    text = "First sentence here. Second one follows! A third?"
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == ["First sentence here.", "Second one follows!", "A third?"]
    rng = np.random.default_rng(0)
    vectors = [v / np.linalg.norm(v) for v in rng.normal(size=(3, 384)).astype(np.float32)]
    blob = pack(spans, [vectors[0], None, vectors[2]])  # the middle one was truncated away
    assert blob is not None and blob.isascii()
    got = unpack(blob, text)
    assert list(got) == ["First sentence here.", "A third?"]
    assert float(got["First sentence here."] @ vectors[0]) > 0.999  # int8 costs almost nothing
    assert float(got["A third?"] @ vectors[2]) > 0.999
    assert unpack(blob[:-8] + "!!!!!!!!", text) == {}  # damaged: no vectors, no crash
    assert unpack(None, text) == {} and pack(spans, [None, None, None]) is None


def test_place_sentences_skips_the_header_the_model_reads_first() -> None:
    offset, spans = place_sentences("Title | Outlet\n\nOne. Two.", "One. Two.")
    assert offset == len("Title | Outlet\n\n")
    assert [("Title | Outlet\n\nOne. Two.")[s:e] for s, e in spans] == ["One.", "Two."]
    assert place_sentences("something else", "One. Two.") == (0, [])


def test_stored_vectors_equal_pooling_an_independent_forward_pass(
    make_assistant: Callable[..., Assistant], embedder: Embedder
) -> None:
    assistant = make_assistant()
    assert not assistant.ingest(assistant.read([str(SEED)])).failed
    rows = assistant.index.keywords.rows
    blobs = assistant.index.keywords.blobs()
    got = assistant.index.collection.get(
        ids=[r.id for r in rows], include=["documents", "metadatas", "embeddings"]
    )
    assert got["ids"] == [r.id for r in rows]
    assert all(METADATA_KEY not in m for m in got["metadatas"])  # kept beside BM25, not in Chroma
    tokenizer = AutoTokenizer.from_pretrained(embedder.path)
    model = AutoModel.from_pretrained(embedder.path).eval()
    checked = 0
    for row, doc, meta, stored in zip(
        rows, got["documents"], got["metadatas"], got["embeddings"], strict=True
    ):
        vectors = unpack(blobs[row.id], doc)
        assert vectors and all(s in doc for s in vectors)
        header = " | ".join(str(meta[k]) for k in ("title", "source", "date") if k in meta)
        read = f"{header}\n\n{doc}"  # what the model read for this chunk
        encoded = tokenizer(
            read, return_offsets_mapping=True, truncation=True, max_length=256, return_tensors="pt"
        )
        offsets = encoded.pop("offset_mapping")[0].numpy()
        with torch.no_grad():
            states = model(**encoded).last_hidden_state[0].numpy()
        chunk = states.mean(axis=0)
        assert float(chunk / np.linalg.norm(chunk) @ np.asarray(stored)) > 0.9999  # the chunk vector too
        for sentence, vector in vectors.items():
            start = len(read) - len(doc) + doc.index(sentence)
            inside = (offsets[:, 0] >= start) & (offsets[:, 1] <= start + len(sentence))
            inside &= offsets[:, 1] > offsets[:, 0]
            expected = states[inside].mean(axis=0)
            assert float(expected / np.linalg.norm(expected) @ vector) > 0.999
            checked += 1
    assert checked >= 20
    assistant.reindex_keywords()  # rebuilt from Chroma: the vectors stay
    assert assistant.index.keywords.blobs() == blobs
    shown = json.dumps(assistant.ask("How long did one of the Putin-Trump calls last?").to_dict())
    assert "50 minutes" in shown and str(blobs[rows[0].id])[:40] not in shown


def test_word_ranges_find_a_pieces_words_in_order() -> None:
    text = "Does the TechCrunch article on Twitch's revenue split indicate a strategy?"
    ranges = word_ranges(text, "the TechCrunch on Twitch's split strategy Verge")
    assert [text[s:e] for s, e in ranges] == ["the", "TechCrunch", "on", "Twitch's", "split", "strategy?"]


def test_question_pieces_are_pooled_from_the_questions_own_pass(embedder: Embedder) -> None:
    question = "Did OpenAI fire Sam Altman, and who replaced him as chief executive?"
    piece = "who replaced him as chief executive?"
    vector, (pooled, nothing) = embedder.embed_question(question, [word_ranges(question, piece), []])
    assert float(vector @ embedder.embed([question])[0]) > 0.9999  # the question's own vector
    assert nothing is None  # a piece sharing no word with the question gets no pooled vector
    assert pooled is not None and float(pooled @ vector) < 0.99  # the piece, not the whole question
    assert float(pooled @ embedder.embed([piece])[0]) > 0.6  # and close to the piece read alone
    assert embedder.embed_cached([question]) @ vector > 0.9999  # remembered for the answerer


def test_sentence_table_blends_each_close_chunks_best_sentence() -> None:
    def unit(*xs: float) -> np.ndarray:
        v = np.array(xs + (0.0,) * (384 - len(xs)), dtype=np.float32)
        return v / np.linalg.norm(v)

    text = "One sentence here. Another one there."
    spans = sentence_spans(text)
    blobs = [
        pack(spans, [unit(1, 0), unit(0, 1)]),  # chunk 0: its second sentence is the query itself
        None,  # chunk 1: stored without sentence vectors
        pack(spans[:1], [unit(1, 1)]),  # chunk 2
    ]
    table = SentenceTable.of_blobs(blobs)
    assert len(table) == 3
    query = unit(0, 1)[None, :]
    chunk = np.array([[0.2], [0.9], [0.1]], dtype=np.float32)
    blended = table.blend(chunk, query, weight=0.5, candidates=10)
    assert np.allclose(blended[:, 0], [0.5 * 0.2 + 0.5 * 1.0, 0.9, 0.5 * 0.1 + 0.5 * 2**-0.5], atol=0.01)
    only_two = table.blend(chunk, query, weight=0.5, candidates=2)  # chunk 2 is not among the closest two
    assert np.allclose(only_two[:, 0], [0.6, 0.9, 0.1], atol=0.01)


def test_reembed_gives_an_older_index_its_sentence_vectors(make_assistant: Callable[..., Assistant]) -> None:
    assistant = make_assistant()
    assert not assistant.ingest(assistant.read([str(SEED)])).failed
    chunks = assistant.index.count()
    shutil.rmtree(keyword_folder(assistant.settings))  # as an older newsqa left it: no sentence vectors
    assert assistant.reindex_keywords() == chunks
    assert not any(unpack(p.sentence_blob, p.text) for p in make_assistant().retrieve("Putin Trump call"))
    again = make_assistant()
    assert again.ingest(again.read([str(SEED)])).unchanged == 1  # a plain ingest leaves it as it is
    report = again.ingest(again.read([str(SEED)]), reembed=True)
    assert (report.added, report.updated, report.unchanged, report.chunks) == (0, 1, 0, chunks)
    fresh = make_assistant()
    assert fresh.index.count() == chunks and len(fresh.index.keywords) == chunks  # nothing doubled
    assert all(unpack(p.sentence_blob, p.text) for p in fresh.retrieve("Putin Trump call"))
