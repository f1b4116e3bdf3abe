"""MinHash signatures of an article's shingles and their LSH bands: what the wire table stores (store/wire.py,
store/bands.py) to find the stored articles that may be copies of a new text at a constant cost."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from typing import Any

import numpy as np

BANDS = 64
ROWS = 2  # a band's two 32-bit values, side by side, are its bucket: a 64-bit integer, exact
# Two texts are one story (stories.same_story) when >= 90% of the shorter one's shingles are in the longer one
# and it has at least half as many: their Jaccard similarity is then >= 0.9 / (1 + 2 - 0.9) = 0.43. With
# BANDS bands of ROWS MinHash values such a pair shares no band with probability (1 - 0.43**2)**64 = 2.3e-6 in
# that worst case (a typical copy, Jaccard >= 0.8: 4e-29); unrelated articles (Jaccard ~0.002) share one with
# probability 2.6e-4, and ones sharing a paragraph or two (Jaccard ~0.04) with 0.1.
PERMUTATIONS = BANDS * ROWS
# Candidates whose signatures agree in fewer places are not read from Chroma: a same-story pair (Jaccard
# >= 0.43) agrees in fewer than 20 of 128 with probability 9e-12; a pair sharing a paragraph (0.04) in 20 or
# more practically never.
MIN_ESTIMATE = 20 / PERMUTATIONS
SEED = 1
SCHEME = "affine32"  # datasketch's hashing; the table keeps a fingerprint of it and is rebuilt if it changes
_prototype: Any = None


def signature(shingle_set: Iterable[int]) -> np.ndarray:
    """The MinHash signature (PERMUTATIONS uint32 values) of a set of shingle hashes."""
    global _prototype
    if _prototype is None:  # datasketch (and the scipy it imports) only where signatures are made
        from datasketch import MinHash

        _prototype = MinHash(num_perm=PERMUTATIONS, seed=SEED, scheme=SCHEME, hashfunc=int)
    minhash = _prototype.copy()
    minhash.update_batch(list(shingle_set))  # crc32 values: datasketch mixes them before permuting
    return np.asarray(minhash.hashvalues, dtype="<u4")


@functools.cache
def fingerprint() -> str:
    """What the table keeps of how signatures are made: new ones match old ones only if it is the same."""
    probe = signature(range(1, 100)).tobytes()
    return f"{SCHEME}:{SEED}:{BANDS}x{ROWS}:" + hashlib.sha1(probe).hexdigest()[:16]


def buckets(sig: np.ndarray, article: int | None = None) -> list[tuple[int, ...]]:
    """(band, bucket[, article]) rows of a signature."""
    pairs = sig.astype(np.uint64).reshape(BANDS, ROWS)
    keys = ((pairs[:, 0] << np.uint64(32)) | pairs[:, 1]).view(np.int64)  # SQLite integers are signed
    tail = () if article is None else (article,)
    return [(band, int(bucket), *tail) for band, bucket in enumerate(keys)]
