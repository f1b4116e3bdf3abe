"""The segmented keyword index: BM25 equal to bm25s's, saves that write only what changed, readers that map
only new segments, and files a killed writer left half-written."""

from __future__ import annotations

import math
from pathlib import Path

import bm25s
import numpy as np
import pytest
from bm25s.tokenization import Tokenized

from assistant.store import keywords, merging
from assistant.store.keywords import KeywordIndex
from assistant.store.rows import VECTOR_KEY, vector_text
from assistant.store.segments import RowInfo, Segment
from assistant.store.vocab import VOCAB
from assistant.text import sentence_starts, tokenize, tokenize_pieces

WORDS = [
    "council",
    "budget",
    "harbor",
    "bridge",
    "apple",
    "iphone",
    "storm",
    "port",
    "ferry",
    "strike",
    "vote",
    "tax",
    "rail",
    "chip",
    "plant",
]


def _text(i: int) -> str:
    """A few sentences whose words vary with i (some repeat, so term frequencies differ)."""
    pick = [WORDS[(i * k + 3) % len(WORDS)] for k in range(1, 6)]
    return (
        f"The {pick[0]} and the {pick[1]} met. {pick[2].title()} {pick[0]} rose by {i}. {pick[3]} {pick[4]}."
    )


def _vector(i: int) -> np.ndarray:
    return np.random.default_rng(i).standard_normal(8).astype(np.float32)


def _item(i: int) -> tuple[str, str, dict[str, object]]:
    """A chunk as the writer journals it (every third without a vector, as rows of older indexes)."""
    meta = {"title": f"{WORDS[i % len(WORDS)]} news {i}", "article_id": f"a{i // 2}"}
    if i % 3:
        meta[VECTOR_KEY] = vector_text(_vector(i))
    return f"c{i}", _text(i), meta


def _reference(index: KeywordIndex) -> bm25s.BM25:
    """bm25s over the live rows in the index's order, tokenised as the index does (title, then text)."""
    tokens = []
    for row in index.rows:
        _, text, meta = _item(int(row.id[1:]))
        pieces = tokenize_pieces(text, sentence_starts(text))
        tokens.append(tokenize(str(meta["title"])) + [t for p in pieces for t in p])
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in ts] for ts in tokens]
    model = bm25s.BM25()
    model.index(Tokenized(ids=ids, vocab=vocab), show_progress=False)
    return model


def _same_scores(index: KeywordIndex) -> None:
    model = _reference(index)
    for query in ["council budget", "storm storm port", "iphone rose 7", "nothing matches zzz"]:
        known = [t for t in tokenize(query) if t in model.vocab_dict]
        expected = model.get_scores(known) if known else np.zeros(len(index))
        assert np.allclose(index.scores(query), expected, atol=1e-5), query


def test_bm25_equals_bm25s_across_saves_removals_and_a_restart(tmp_path: Path) -> None:
    index = KeywordIndex(tmp_path / "kw")
    for batch in range(3):
        index.add(_item(i) for i in range(batch * 10, batch * 10 + 10))
        index.save()
    index.remove_ids(["c3", "c17"])
    index.remove_articles(["a12"])  # c24, c25
    _same_scores(index)
    assert len(index) == 26 and not index.knows("zzz") and index.knows("harbor")
    index.save()
    restarted = KeywordIndex(tmp_path / "kw")
    assert restarted.load() and [r.id for r in restarted.rows] == [r.id for r in index.rows]
    _same_scores(restarted)


def test_saves_write_only_new_rows_and_rewrite_each_row_a_few_times(tmp_path: Path) -> None:
    index = KeywordIndex(tmp_path / "kw")
    homes: dict[str, set[str]] = {}  # chunk id -> segments it was written into
    saves = 64
    for i in range(saves):
        index.add([_item(i)])
        index.save()
        for segment in index.segments:
            for row in segment.rows:
                homes.setdefault(row.id, set()).add(segment.name)
        assert len(index.segments) <= math.log2(i + 1) + 1  # O(log n) segments
    assert max(len(s) for s in homes.values()) <= math.log2(saves) + 1  # each row rewritten O(log n) times
    assert len(index.segments) == 1  # 64 single rows merged like a binary counter
    segment = index.segments[0]
    for i, row in enumerate(segment.rows):  # each row's vector survived every merge (or is still absent)
        n = int(row.id[1:])
        vector = segment.vector(i)
        assert (vector is None) if n % 3 == 0 else np.array_equal(vector, _vector(n))
    before = [s.name for s in index.segments]
    index.remove_ids(["c5"])
    index.save()  # a removal writes no segment: the manifest names the removed row
    assert [s.name for s in index.segments] == before and len(index) == saves - 1
    assert len([p for p in (tmp_path / "kw").iterdir() if p.is_dir()]) == 1  # merged-away segments deleted


def test_no_merge_makes_a_segment_larger_than_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keywords, "MERGED_ROWS", 8)
    index = KeywordIndex(tmp_path / "kw")
    for i in range(40):
        index.add([_item(i)])
        index.save()
    sizes = [len(s) for s in index.segments]
    assert max(sizes) == 8 and sizes.count(8) == 5 and sum(sizes) == 40  # full segments stay as they are
    _same_scores(index)


def test_a_reader_maps_only_new_segments(tmp_path: Path) -> None:
    writer = KeywordIndex(tmp_path / "kw")
    writer.add(_item(i) for i in range(8))
    writer.save()
    reader = KeywordIndex(tmp_path / "kw")
    assert reader.load()
    first = reader.segments[0]
    writer.add(_item(i) for i in range(8, 10))  # smaller than the first segment: not merged
    writer.save()
    assert reader.stamp != reader.disk_stamp() and reader.load()
    assert reader.segments[0] is first and len(reader.segments) == 2 and len(reader) == 10
    writer.log("add", [list(_item(10))])  # journaled, not saved: the reader replays it
    assert reader.load() and len(reader) == 11 and reader.scores("vote")[-1] > 0
    _same_scores(reader)


def test_what_a_killed_writer_left_past_the_saved_end_is_ignored_and_cut(tmp_path: Path) -> None:
    index = KeywordIndex(tmp_path / "kw")
    index.add(_item(i) for i in range(5))
    index.save()
    vocab = tmp_path / "kw" / VOCAB
    saved = vocab.read_bytes()
    with vocab.open("ab") as fh:  # terms appended by a writer killed before its manifest was switched
        fh.write(b"halfwritten\nzzzq")
    (tmp_path / "kw" / "deadbeef0000").mkdir()  # and a segment folder no manifest names
    reader = KeywordIndex(tmp_path / "kw")
    assert reader.load() and "halfwritten" not in reader.vocab and len(reader.terms) == len(index.terms)
    reader.add([_item(5)])
    reader.save()
    lines = vocab.read_bytes()
    assert lines.startswith(saved) and b"halfwritten" not in lines and b"zzzq" not in lines
    assert len(lines.decode().split("\n")[:-1]) == len(reader.terms)
    assert not (tmp_path / "kw" / "deadbeef0000").exists()
    again = KeywordIndex(tmp_path / "kw")
    assert again.load() and len(again) == 6
    _same_scores(again)


@pytest.mark.parametrize(("block", "slices"), [(32768, 16), (5, 3)])
def test_a_merge_equals_a_fresh_build_of_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int, slices: int
) -> None:
    """Merging (straight to disk, block by block, postings in term ranges) writes exactly the segment a fresh
    build of the kept rows makes: gathered postings, sentence encodings, sentence and chunk vectors."""
    monkeypatch.setattr(merging, "BLOCK_ROWS", block)
    monkeypatch.setattr(merging, "POSTING_SLICES", slices)
    rng = np.random.default_rng(7)
    made: dict[str, tuple[object, ...]] = {}

    def segment(first: int, n: int) -> Segment:
        rows = [
            RowInfo(f"c{first + i}", f"a{(first + i) // 3}", "Post", None, f"T {i}", i % 3) for i in range(n)
        ]
        terms = [rng.integers(0, 40, rng.integers(0, 30)).astype(np.int32) for _ in range(n)]
        counts, blocks, vectors = [], [], []
        for i, t in enumerate(terms):  # a title, then sentences, splitting the row's terms
            cuts = sorted(rng.integers(0, len(t) + 1, 3).tolist())
            counts.append((cuts[0], cuts[1] - cuts[0], cuts[2] - cuts[1], len(t) - cuts[2]))
            k = int(rng.integers(1, 4))  # some rows have no sentence vectors, some no chunk vector
            spans = rng.integers(0, 99, (k, 2)).astype(np.uint16)
            block_ = (
                spans,
                rng.random(k).astype(np.float32),
                rng.integers(-127, 127, (k, 6)).astype(np.int8),
            )
            blocks.append(None if i % 4 == 0 else block_)
            vectors.append(None if i % 5 == 0 else rng.random(4).astype(np.float32))
        for given in zip(rows, terms, counts, blocks, vectors, strict=True):
            made[given[0].id] = given
        return Segment.build(rows, terms, counts, blocks, vectors)

    parts = [segment(0, 50), segment(50, 1), segment(51, 37)]
    keeps = [np.flatnonzero(rng.random(len(s)) < 0.7) for s in parts]
    merged = Segment.merge(tmp_path, list(zip(parts, keeps, strict=True)))
    kept = [made[s.rows[int(i)].id] for s, keep in zip(parts, keeps, strict=True) for i in keep]
    fresh = Segment.build(*(list(column) for column in zip(*kept, strict=True)))
    assert len(merged) == len(fresh) == sum(map(len, keeps)) > 40
    assert set(merged.a) == set(fresh.a)
    for key, value in fresh.a.items():
        assert value.dtype == merged.a[key].dtype and np.array_equal(value, merged.a[key]), key
    assert list(merged.rows) == list(fresh.rows)
    assert isinstance(merged.a["post_row"].base, np.memmap)  # mapped from disk, not held in memory
