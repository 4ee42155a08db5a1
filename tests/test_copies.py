"""The repeated row hashes an ingest marks copies by (procmine.ingest.copies), against a plain
count: each value that occurs more than once, once, from both halves of the hash range."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from procmine.ingest import copies

_HASHES = st.lists(st.one_of(st.integers(0, 5), st.integers(2**63 - 3, 2**63 + 3),
                             st.integers(2**64 - 4, 2**64 - 1), st.integers(0, 2**64 - 1)),
                   max_size=60)


@settings(max_examples=300, deadline=None)
@given(_HASHES)
def test_the_repeated_hashes_are_those_seen_more_than_once(values: list[int]) -> None:
    found = copies._repeated(np.array(values, dtype=np.uint64))
    assert found.dtype == np.uint64
    assert sorted(found.tolist()) == sorted(v for v, n in Counter(values).items() if n > 1)
