"""Wire copies found through the MinHash table (store/wire.py) beside a real Chroma store: across runs, after
removals, from an index older than the table, and after a writer died between the table and Chroma."""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.assistant import Assistant
from assistant.errors import IndexFormatError, IndexUnavailableError
from assistant.ingest.chunking import embed_texts
from assistant.store import bands as band_runs
from assistant.store import wiresync
from assistant.store.bands import BUCKET_READ, run_keys
from assistant.store.minhash import BANDS, buckets, signature
from assistant.store.stories import assign_stories, shingles
from assistant.store.wire import Entry, WireTable, runs_folder, wire_path
from assistant.store.wiresync import catch_up
from assistant.store.writer import FLUSH_ARTICLES
from assistant.types import Article, ReadResult, article_id

Make = Callable[..., Assistant]
WIRE = (
    "GENEVA (Wire) - Negotiators from forty countries agreed on Friday to cut plastic production by a fifth "
    "before 2035, ending two weeks of talks that had repeatedly stalled over financing.\n\n"
    "The accord still needs ratification by national parliaments, and several oil-producing states said they "
    "would seek exemptions for medical and food packaging.\n\n"
    "Environmental groups welcomed the deal but said the targets fell short of what scientists had urged, "
    "while industry associations warned of higher costs for consumers."
)
FLOODS = (
    "Heavy rain flooded the lower town overnight and forced two hundred families from their homes. The river "
    "peaked at six metres shortly after midnight, the fire service said, and schools stayed closed."
)
MORE = (  # more on the same talks in other words, as long as WIRE: after WIRE it makes a text over twice as long
    "Delegates from forty countries spent much of the final week in Geneva arguing about who would pay for "
    "recycling plants, and the chair twice suspended the plastic talks before a compromise was found.\n\n"
    "Under the plastic deal, richer nations will fund a new programme, while poorer ones get until 2040 to "
    "meet the production cuts that negotiators agreed to on Friday after the long dispute.\n\n"
    "Observers in Geneva said the treaty on plastic was the most ambitious environmental accord in a decade, "
    "though its success will depend on how parliaments write it into national law."
)


def _article(slug: str, outlet: str, title: str, body: str) -> dict[str, str]:
    return {
        "title": title,
        "body": body,
        "source": outlet,
        "published_at": "2024-05-03T09:00:00Z",
        "url": f"https://{slug}.example/{title.lower().replace(' ', '-')}",
    }


def _ingest(assistant: Assistant, tmp_path: Path, *articles: dict[str, str]) -> None:
    path = tmp_path / f"batch-{len(list(tmp_path.glob('batch-*.json')))}.json"
    path.write_text(json.dumps(list(articles)), encoding="utf-8")
    report = assistant.ingest(assistant.read([str(path)]))
    assert not report.failed


def _id(article: dict[str, str]) -> str:
    return article_id(article["url"], article["title"], article["body"])


def _stories(assistant: Assistant) -> dict[str, str]:
    """Article id -> story id of every stored chunk (one story per article, checked)."""
    got = assistant.index.collection.get(include=["metadatas"])
    pairs = {(str(m["article_id"]), str(m["story_id"])) for m in got["metadatas"] or []}
    stories = dict(pairs)
    assert len(stories) == len(pairs)
    return stories


def _table(assistant: Assistant) -> WireTable:
    return WireTable(wire_path(assistant.settings))


def _found(table: WireTable, text: str, exclude: str = "") -> list[str]:
    """Ids of the articles the table offers as possible copies of `text`, likeliest first."""
    return [c.article_id for c in table.candidates(shingles(text), exclude=exclude)]


def _in_step(assistant: Assistant) -> bool:
    """The table holds as many chunks as Chroma (what the writer's catch_up checks), and the bands of its
    articles and no others."""
    with _table(assistant) as table:
        _, articles = table.bands.rows()
        live = [i for (i,) in table.db.execute("SELECT id FROM articles")]
        return table.chunks() == assistant.index.count() and np.isin(articles, live).sum() == BANDS * len(
            live
        )


ALPHA = _article("alpha", "Alpha Times", "Nations agree to cut plastic", WIRE)
BETA = _article(
    "beta", "Beta Post", "Plastic accord reached in Geneva", WIRE + "\n\n(Reporting by Wire staff)"
)
GAMMA = _article("gamma", "Gamma Daily", "Geneva talks end with plastic deal", "Updated. " + WIRE)
FLOOD = _article("beta", "Beta Post", "River floods lower town", FLOODS)


def test_copies_ingested_in_separate_runs_share_a_story(make_assistant: Make, tmp_path: Path) -> None:
    assistant = make_assistant()
    _ingest(assistant, tmp_path, ALPHA)
    _ingest(assistant, tmp_path, BETA, FLOOD)
    _ingest(make_assistant(), tmp_path, GAMMA)  # another process: only the table on disk is shared
    stories = _stories(assistant)
    assert stories[_id(ALPHA)] == _id(ALPHA)
    assert stories[_id(BETA)] == _id(ALPHA) and stories[_id(GAMMA)] == _id(ALPHA)
    assert stories[_id(FLOOD)] == _id(FLOOD)
    with _table(assistant) as table:
        assert len(table) == 4
        assert _found(table, WIRE)[0] == _id(ALPHA)  # the exact copy first
        assert set(_found(table, WIRE)) == {_id(ALPHA), _id(BETA), _id(GAMMA)}
        assert set(_found(table, WIRE, exclude=_id(ALPHA))) == {_id(BETA), _id(GAMMA)}
        assert _found(table, FLOODS) == [_id(FLOOD)]
    assert _in_step(assistant)


def test_a_copy_more_than_twice_as_long_is_its_own_story(make_assistant: Make, tmp_path: Path) -> None:
    assistant = make_assistant()
    longer = _article("beta", "Beta Post", "Plastic talks in detail", WIRE + "\n\n" + MORE)
    assert len(shingles(longer["body"])) > 2 * len(shingles(WIRE))  # all of WIRE is in it, but it is too long
    _ingest(assistant, tmp_path, ALPHA)
    _ingest(assistant, tmp_path, longer)
    with _table(assistant) as table:
        assert _found(table, longer["body"], exclude=_id(longer)) == [_id(ALPHA)]  # then refused
    assert _stories(assistant)[_id(longer)] == _id(longer)


def test_a_removed_article_is_no_longer_a_candidate(make_assistant: Make, tmp_path: Path) -> None:
    assistant = make_assistant()
    _ingest(assistant, tmp_path, ALPHA, FLOOD)
    assert assistant.remove(ALPHA["url"]) == 1
    with _table(assistant) as table:
        assert _found(table, WIRE) == []
        assert len(table) == 1
    assert _in_step(assistant)
    _ingest(assistant, tmp_path, BETA)
    assert _stories(assistant)[_id(BETA)] == _id(BETA)  # its own story: the copy it matched is gone
    _ingest(assistant, tmp_path, GAMMA)
    assert assistant.remove_many([BETA["url"], "https://nowhere.example/x"])[BETA["url"]] == 1
    _ingest(assistant, tmp_path, ALPHA)
    stories = _stories(assistant)
    assert stories[_id(GAMMA)] == _id(BETA)  # kept the story of the copy it matched when it came
    assert stories[_id(ALPHA)] == _id(BETA)  # the remaining copy's story
    with _table(assistant) as table:
        assert set(_found(table, WIRE)) == {_id(ALPHA), _id(GAMMA)}
    assert _in_step(assistant)


def test_a_changed_article_replaces_its_bands(make_assistant: Make, tmp_path: Path) -> None:
    assistant = make_assistant()
    _ingest(assistant, tmp_path, ALPHA)
    _ingest(assistant, tmp_path, {**ALPHA, "body": FLOODS})  # the same url, now another text
    with _table(assistant) as table:
        assert _found(table, WIRE) == [] and _found(table, FLOODS) == [_id(ALPHA)]
    assert _in_step(assistant)
    _ingest(assistant, tmp_path, BETA)
    assert _stories(assistant)[_id(BETA)] == _id(BETA)


def test_an_index_without_the_table_is_backfilled_and_still_groups(
    make_assistant: Make, tmp_path: Path
) -> None:
    assistant = make_assistant()
    _ingest(assistant, tmp_path, ALPHA, FLOOD)
    path = wire_path(assistant.settings)
    path.unlink()  # as an index built before the table existed
    with WireTable(path) as table:
        assert len(table) == 0
        assert catch_up(table, assistant.index.store)  # from Chroma alone: no model
        assert len(table) == 2 and table.chunks() == assistant.index.count()
        assert not catch_up(table, assistant.index.store)  # once
    path.unlink()
    _ingest(make_assistant(), tmp_path, BETA)  # the writer backfills by itself
    assert _stories(assistant)[_id(BETA)] == _id(ALPHA)
    with _table(assistant) as table:
        assert len(table) == 3
    assert _in_step(assistant)


def test_reindex_rebuilds_a_table_of_a_newer_format(make_assistant: Make, tmp_path: Path) -> None:
    assistant = make_assistant()
    _ingest(assistant, tmp_path, ALPHA, FLOOD)
    path = wire_path(assistant.settings)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = 9 WHERE key = 'format'")
    db.close()
    with pytest.raises(IndexFormatError, match=r"format 9\b.*newsqa reindex-keywords"):
        WireTable(path)
    assistant.reindex_keywords()
    with _table(assistant) as table:
        assert len(table) == 2 and set(_found(table, WIRE)) == {_id(ALPHA)}
    assert _in_step(assistant)


def _killed(nodes: Any) -> Any:
    """A Chroma write that fails, as if the writer were killed just before Chroma got the chunks."""
    raise RuntimeError("killed")


def test_bands_written_for_an_article_chroma_never_got(
    make_assistant: Make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dying = make_assistant()
    dying.index.store.__dict__["add"] = _killed
    with pytest.raises(IndexUnavailableError):
        _ingest(dying, tmp_path, ALPHA)
    with _table(dying) as table:  # the table got the article, Chroma did not
        assert _found(table, WIRE) == [_id(ALPHA)]
    assert dying.index.count() == 0
    synced: list[WireTable] = []  # a full sync reads all of Chroma: only the unwritten rows are checked
    monkeypatch.setattr(wiresync, "sync", lambda table, store: synced.append(table))
    rerun = make_assistant()
    _ingest(rerun, tmp_path, BETA)
    _ingest(rerun, tmp_path, GAMMA)
    stories = _stories(rerun)
    assert stories == {_id(BETA): _id(BETA), _id(GAMMA): _id(BETA)}  # never the story of the lost article
    with _table(rerun) as table:
        assert _id(ALPHA) not in _found(table, WIRE)  # dropped when the next writer caught up
    assert _in_step(rerun) and synced == []


def test_a_candidate_missing_from_chroma_is_skipped(make_assistant: Make, tmp_path: Path) -> None:
    assistant = make_assistant()
    _ingest(assistant, tmp_path, FLOOD)
    [article] = assistant.read([str(_write(tmp_path, BETA))])
    assert isinstance(article, Article)
    nodes = assistant.index.chunker.chunk(article)
    nodes[0].embedding = assistant.embedder.embed(embed_texts(nodes[:1]))[0].tolist()
    with _table(assistant) as table:  # an article Chroma lacks, the chunk totals still equal
        table.write([Entry(_id(ALPHA), [f"{_id(ALPHA)}-00000000-0000"], [WIRE], nodes[0].embedding)])
        table.db.execute("UPDATE meta SET value = value - 1 WHERE key = 'chunks'")
        table.db.commit()
        assert not catch_up(table, assistant.index.store)
        assert _found(table, article.body) == [_id(ALPHA)]
        assign_stories(assistant.index.store, [(article, nodes)], table)
    assert nodes[0].metadata["story_id"] == _id(BETA)  # not ALPHA's, and no error for its missing chunks


def _write(tmp_path: Path, article: dict[str, str]) -> Path:
    path = tmp_path / "one.json"
    path.write_text(json.dumps([article]), encoding="utf-8")
    return path


def test_copies_are_compared_from_the_table_without_reading_chroma(
    make_assistant: Make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assistant = make_assistant()
    _ingest(assistant, tmp_path, ALPHA)
    with _table(assistant) as table:  # each row keeps its shingles and story
        [(held, story)] = table.db.execute("SELECT shingles, story FROM articles").fetchall()
    assert held and story == _id(ALPHA)

    def no_reads(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("read the candidate's texts from Chroma")

    monkeypatch.setattr("assistant.store.stories.stored_articles", no_reads)
    _ingest(assistant, tmp_path, BETA)
    assert _stories(assistant) == {_id(ALPHA): _id(ALPHA), _id(BETA): _id(ALPHA)}


def test_a_table_written_before_shingles_were_kept_still_finds_copies(
    make_assistant: Make, tmp_path: Path
) -> None:
    assistant = make_assistant()
    _ingest(assistant, tmp_path, ALPHA)
    path = wire_path(assistant.settings)
    with sqlite3.connect(path) as db:  # as the table was: no shingles or story columns
        db.execute("ALTER TABLE articles DROP COLUMN shingles")
        db.execute("ALTER TABLE articles DROP COLUMN story")
    _ingest(assistant, tmp_path, BETA)  # the old row is read from Chroma; the new one keeps its shingles
    assert _stories(assistant) == {_id(ALPHA): _id(ALPHA), _id(BETA): _id(ALPHA)}
    with _table(assistant) as table:
        rows = dict(table.db.execute("SELECT article_id, shingles IS NOT NULL FROM articles"))
    assert rows == {_id(ALPHA): 0, _id(BETA): 1}


def _prose(seed: int, words: int = 120) -> str:
    """A text of its own: seeded words from a small vocabulary, so texts share words but hardly shingles."""
    rng = random.Random(seed)
    vocab = [
        f"{a}{b}" for a in ("tal", "mer", "dov", "kin", "sar", "bel") for b in ("ak", "on", "is", "um", "et")
    ]
    return " ".join(rng.choice(vocab) for _ in range(words)) + "."


def _entry(name: str, text: str) -> Entry:
    return Entry(name, [f"{name}#0"], [text], [1.0, 0.0], name)


def _members(table: WireTable, band: int, bucket: int) -> list[str]:
    """The stored articles in a band's bucket (SQLite's rows and the runs'), newest first."""
    keys, articles = table.bands.rows()
    key = run_keys(np.array([band]), np.array([bucket]))[0]
    ids = sorted(set(articles[keys == key].tolist()), reverse=True)
    names = dict(table.db.execute("SELECT id, article_id FROM articles"))
    return [names[i] for i in ids if i in names]


@pytest.mark.parametrize("flush", [None, 2 * BANDS], ids=["in SQLite", "in runs"])
def test_a_crowded_bucket_is_read_newest_first_and_copies_are_still_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flush: int | None
) -> None:
    # Every article after the first opens with the same long boilerplate, so many bands of theirs fall in
    # the same buckets (the synthetic corpus and real outlets' footers do this); a band reads only the newest
    # BUCKET_READ of a bucket, and the copy of an article older than all of them is found by its own bands.
    # With a small FLUSH_ROWS the bands move into merged runs every few articles, and reads are the same.
    if flush:  # every batch's bands go to a run; two merge into one of four articles' bands, no bigger
        monkeypatch.setattr(band_runs, "FLUSH_ROWS", flush)
        monkeypatch.setattr(band_runs, "MAX_RUN_ROWS", 4 * flush)
    boiler = _prose(0, 150)
    original = boiler + "\n\n" + _prose(1)
    crowd = [_entry(f"crowd-{i}", boiler + "\n\n" + _prose(100 + i)) for i in range(6 * BUCKET_READ)]
    with WireTable(tmp_path / "wire.sqlite3") as table:
        table.write([_entry("original", original)])
        for start in range(0, len(crowd), 3):
            table.write(crowd[start : start + 3])
        assert (len(table.bands.runs) > 1) == bool(flush)
        members = {
            (band, bucket): _members(table, band, bucket)
            for band, bucket in buckets(signature(shingles(boiler)))
        }
        assert max(map(len, members.values())) > BUCKET_READ  # the boilerplate did crowd buckets
        found = {c.article_id for c in table.candidates(shingles(boiler), limit=1000)}
        newest = {name for names in members.values() for name in names[:BUCKET_READ]}
        every = {name for names in members.values() for name in names}
        assert found and found <= newest < every  # older members of crowded buckets are not read
        copy = original.replace(".", ", the agency said.")  # the original, lightly edited
        found = table.candidates(shingles(copy))
        assert found and found[0].article_id == "original"
        assert found[0].shingles == shingles(original) and found[0].story == "original"


def _found_all(table: WireTable, texts: dict[str, str]) -> dict[str, list[str]]:
    return {name: [c.article_id for c in table.candidates(shingles(text))] for name, text in texts.items()}


def test_band_runs_are_read_by_other_connections_and_merges_drop_removed_articles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(band_runs, "FLUSH_ROWS", 2 * BANDS)  # every two articles' bands become a run
    path = tmp_path / "wire.sqlite3"
    texts = {f"a{i}": _prose(200 + i) for i in range(12)}
    entries = [_entry(name, text) for name, text in texts.items()]
    with WireTable(path) as writer, WireTable(path) as reader:  # as two processes: a writer, and a reader
        writer.write(entries[:2])
        assert len(writer.bands.runs) == 1 and not reader.bands.runs
        assert _found_all(reader, {"a0": texts["a0"]}) == {"a0": ["a0"]}  # read from the writer's new run
        writer.remove(["a0"])
        stray = runs_folder(path) / "0123456789ab.keys.npy"  # as left by a writer killed before naming it
        stray.write_bytes(b"half a run")
        for start in range(2, len(entries), 2):
            writer.write(entries[start : start + 2])
        assert not stray.exists()
        assert len(writer.bands.runs) < 5  # merged: five runs were written
        assert {p.name.split(".")[0] for p in runs_folder(path).iterdir()} == {
            r.name for r in writer.bands.runs
        }
        found = _found_all(reader, texts)
        assert found == {name: [] if name == "a0" else [name] for name in texts}
        _, articles = writer.bands.rows()  # the removed article's bands went at the first merge
        live = [i for (i,) in writer.db.execute("SELECT id FROM articles")]
        assert sorted(set(articles.tolist())) == sorted(live) and len(articles) == BANDS * len(live)


def test_a_table_from_before_runs_moves_its_bands_into_runs_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "wire.sqlite3"
    texts = {f"b{i}": _prose(300 + i) for i in range(6)}
    with WireTable(path) as table:
        table.write([_entry(name, text) for name, text in texts.items()])
        assert not table.bands.runs
    with closing(sqlite3.connect(path)) as db, db:  # as format 1 left it: every band in SQLite, no counter
        db.execute("DELETE FROM meta WHERE key = 'bands_held'")
        db.execute("UPDATE meta SET value = 1 WHERE key = 'format'")
    monkeypatch.setattr(band_runs, "FETCH_ROWS", 100)
    monkeypatch.setattr(band_runs, "MAX_RUN_ROWS", 4 * BANDS)  # the move writes runs of 4 articles' bands
    with WireTable(path) as table:
        assert _found_all(table, texts) == {name: [name] for name in texts}  # read as it is
        late = _prose(400)
        table.write([_entry("late", late)])
        assert table.db.execute("SELECT count(*) FROM bands").fetchone()[0] == 0
        assert [len(r) for r in table.bands.runs] == [300, 7 * BANDS - 300]  # fetches of 100 up to 256+
        assert table.db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()[0] == 2
        assert _found_all(table, {**texts, "late": late}) == {name: [name] for name in [*texts, "late"]}
        table.write([_entry("later", _prose(401))])  # below FLUSH_ROWS again: stays in SQLite
        assert table.db.execute("SELECT count(*) FROM bands").fetchone()[0] == BANDS
        assert len(table.bands.runs) == 2


def test_one_connection_across_batches_reopened_after_a_reindex(
    make_assistant: Make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the writer keeps one connection across batches (its page cache stays warm) and opens the file again
    # when a reindex replaced it: writes through a connection to the unlinked file would be lost
    assistant = make_assistant()
    opened: list[Path] = []
    original = WireTable.__init__

    def counted(self: WireTable, path: Path) -> None:
        opened.append(path)
        original(self, path)

    monkeypatch.setattr(WireTable, "__init__", counted)
    many = [_article("many", "Many", f"Item {i}", _prose(500 + i)) for i in range(3 * FLUSH_ARTICLES)]
    _ingest(assistant, tmp_path, *many)
    assert len(opened) == 1 and _in_step(assistant)

    def written() -> int:
        with closing(sqlite3.connect(wire_path(assistant.settings))) as db:
            return int(db.execute("SELECT count(*) FROM articles").fetchone()[0])

    def read_then_reindex() -> Iterator[ReadResult]:
        for i, article in enumerate(more):
            if i == 2 * FLUSH_ARTICLES:  # (in the reading thread) once the writer wrote its first batch
                deadline = time.monotonic() + 120
                while written() < len(many) + FLUSH_ARTICLES and time.monotonic() < deadline:
                    time.sleep(0.05)
                assistant.index.reindex_keywords()
            yield article

    opened.clear()
    path = tmp_path / "more.json"
    path.write_text(json.dumps([_article("more", "More", f"Note {i}", _prose(900 + i)) for i in range(64)]))
    more = list(assistant.read([str(path)]))
    report = assistant.ingest(read_then_reindex())
    assert report.added == 64 and not report.failed
    assert len(opened) == 3  # the writer, the reindex's rebuild, the writer again on the new file
    assert _in_step(assistant)
    with _table(assistant) as table:
        assert len(table) == len(many) + 64


def test_ingest_asks_chroma_by_chunk_id_about_the_articles_the_table_holds(
    make_assistant: Make, tmp_path: Path
) -> None:
    # A filtered Chroma query scans its metadata, so its cost grows with the index: which articles are stored
    # comes from the table, and Chroma is read by chunk id for those alone. Changed articles are still
    # replaced, in every batch of a run; an index without the table is asked with filtered queries until
    # the run's first write has rebuilt it.
    assistant = make_assistant()
    old = [_article("old", "Old", f"Item {i}", _prose(100 + i, 40)) for i in range(3 * FLUSH_ARTICLES)]
    _ingest(assistant, tmp_path, *old)
    scans: list[list[str]] = []
    store = assistant.index.store
    original = store.of_articles

    def counted(article_ids: Any, first_only: bool = False) -> Any:
        scans.append(list(article_ids))
        return original(scans[-1], first_only)

    store.__dict__["of_articles"] = counted

    def run(changed: dict[int, str], new: list[dict[str, str]]) -> None:
        again = [dict(a, body=changed.get(i, a["body"])) for i, a in enumerate(old)]
        path = tmp_path / "again.json"
        path.write_text(json.dumps(again + new), encoding="utf-8")
        report = assistant.ingest(assistant.read([str(path)]))
        assert (report.added, report.updated, report.failed) == (len(new), len(changed), [])
        assert report.unchanged == len(old) - len(changed)
        got = assistant.index.collection.get(include=["documents", "metadatas"])
        texts: dict[str, list[str]] = {}
        hashes: dict[str, set[str]] = {}
        for text, meta in zip(got["documents"] or [], got["metadatas"] or [], strict=True):
            texts.setdefault(str(meta["title"]), []).append(str(text))
            hashes.setdefault(str(meta["article_id"]), set()).add(str(meta["content_hash"]))
        assert all(len(h) == 1 for h in hashes.values())
        for i, body in changed.items():  # one version, the new one
            assert " ".join(texts[old[i]["title"]]) == body
            old[i]["body"] = body
        old.extend(new)
        assert len(hashes) == len(old) and _in_step(assistant)

    # changes in the first, second and third batch; new articles in the third
    run(
        {3: _prose(700, 40), FLUSH_ARTICLES + 3: _prose(701, 40), 2 * FLUSH_ARTICLES + 5: _prose(702, 40)},
        [_article("new", "New", f"Note {i}", _prose(300 + i, 40)) for i in range(FLUSH_ARTICLES)],
    )
    assert scans == []
    wire_path(assistant.settings).unlink()  # as an index made before the table
    run({4: _prose(703, 40), 2 * FLUSH_ARTICLES + 6: _prose(704, 40)}, [])
    assert [len(ids) for ids in scans] == [FLUSH_ARTICLES, FLUSH_ARTICLES]  # until the first write


def test_an_edited_file_without_url_finds_its_old_version_in_the_table(
    make_assistant: Make, tmp_path: Path
) -> None:
    # a url-less article is the same one as before when read from the same file: the table keeps each such
    # article's file (an indexed read), where a filtered Chroma query scans all metadata
    assistant = make_assistant()
    notes = [tmp_path / f"note{i}.txt" for i in range(3)]
    for i, path in enumerate(notes):
        path.write_text(f"Note {i}\n\n{_prose(40 + i, 40)}\n", encoding="utf-8")
    assistant.ingest(assistant.read([str(p) for p in notes]))
    asked: list[str] = []
    store = assistant.index.store
    original = store.firsts_from_origin

    def counted(origin: str) -> Any:
        asked.append(origin)
        return original(origin)

    store.__dict__["firsts_from_origin"] = counted

    def edit(i: int, seed: int) -> None:
        body = _prose(seed, 40)
        notes[i].write_text(f"Note {i}\n\n{body}\n", encoding="utf-8")
        report = assistant.ingest(assistant.read([str(p) for p in notes]))
        assert (report.added, report.updated, report.unchanged, report.failed) == (0, 1, 2, [])
        got = assistant.index.collection.get(include=["documents", "metadatas"])
        mine = [
            d
            for d, m in zip(got["documents"] or [], got["metadatas"] or [], strict=True)
            if m["title"] == f"Note {i}"
        ]
        assert mine == [body] and len({m["article_id"] for m in got["metadatas"] or []}) == 3
        assert _in_step(assistant)

    edit(1, 90)
    assert asked == []
    with _table(assistant) as table:  # as a table written before origins were kept
        table.db.execute("DELETE FROM meta WHERE key = 'origins'")
        table.db.commit()
    edit(2, 91)
    assert asked == [str(notes[2])]
