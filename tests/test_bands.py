"""The wire table's band runs (store/bands.py) against a plain model of them, fuzzed with hypothesis: any mix of
articles added and removed, flushed into runs and merged, reads what the bucket rule says."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.store import bands as band_runs
from assistant.store.bands import BUCKET_READ
from assistant.store.minhash import BANDS, ROWS, buckets
from assistant.store.wire import WireTable

# A step: add an article whose bands take values from a pool of 2 (so buckets crowd past BUCKET_READ), or
# remove one (a third of the steps).
ADD = st.tuples(st.just("add"), st.lists(st.integers(0, 1), min_size=BANDS, max_size=BANDS))
STEPS = st.lists(
    st.one_of(ADD, ADD, st.tuples(st.just("remove"), st.integers(0, 10_000))), min_size=20, max_size=60
)


def _signature(values: list[int]) -> np.ndarray:
    return np.repeat(np.array(values, dtype="<u4"), ROWS)  # each band's two values alike: bucket = value


def _newest(rows: dict[int, set[tuple[int, int]]], key: tuple[int, int]) -> set[int]:
    return set(sorted((a for a, keys in rows.items() if key in keys), reverse=True)[:BUCKET_READ])


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(steps=STEPS)
def test_band_runs_read_what_the_bucket_rule_says(steps: list[tuple[str, object]]) -> None:
    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as folder:
        patch.setattr(band_runs, "FLUSH_ROWS", 3 * BANDS)  # a run every 3 articles, merged up to 24
        patch.setattr(band_runs, "MAX_RUN_ROWS", 24 * BANDS)
        live: dict[int, set[tuple[int, int]]] = {}  # article -> its (band, bucket) keys
        ever: dict[int, set[tuple[int, int]]] = {}
        with WireTable(Path(folder) / "wire.sqlite3") as table:
            db = table.db
            for kind, value in steps:
                with db:
                    if kind == "add":
                        assert isinstance(value, list)
                        sig = _signature(value)
                        article = table.bands.claim(1)  # as WireTable.write numbers them: never reused
                        db.execute(
                            "INSERT INTO articles (id, article_id, chunks, chunk_ids, signature) "
                            "VALUES (?, ?, 1, '[]', ?)",
                            (article, f"a{article}", sig.tobytes()),
                        )
                        table.bands.add(sig, article)
                        live[article] = ever[article] = {(b, k) for b, k, _ in buckets(sig, article)}
                    elif live:
                        assert isinstance(value, int)
                        article = sorted(live)[value % len(live)]
                        sig = np.frombuffer(
                            db.execute("SELECT signature FROM articles WHERE id = ?", (article,)).fetchone()[
                                0
                            ],
                            dtype="<u4",
                        )
                        table.bands.forget(sig, article)
                        db.execute("DELETE FROM articles WHERE id = ?", (article,))
                        del live[article]
                table.bands.settle()
            for band, value in [(band, value) for band in (0, 1, BANDS - 1) for value in range(2)]:
                values = [7] * BANDS  # a probe sharing this one bucket with articles, and no other
                values[band] = value
                key = (band, buckets(_signature(values))[band][1])
                got = set(table.bands.newest(_signature(values))) & set(live)
                # Removed articles' rows stay in a run until a merge: they may take a bucket's places, so
                # no more than the newest BUCKET_READ live members are read, and no fewer than those among
                # the newest BUCKET_READ of every member the bucket ever had.
                assert _newest(ever, key) & set(live) <= got <= _newest(live, key)
            _, articles = table.bands.rows()
            assert set(live) <= set(articles.tolist())  # nothing of a stored article is lost
