"""The ids a file has shown so far, for the duplicate-id check across its chunks."""

from __future__ import annotations

import numpy as np
import pandas as pd


class SeenIds:
    """Every id read so far, kept as 64-bit hashes in sorted arrays: 8 bytes an id instead of
    about a hundred for a Python set of strings (100 MB for a million rows), and checked a chunk
    at a time (pandas' C hashing, numpy's binary search) instead of one Python call per id.

    Two different ids sharing a 64-bit hash (odds about 1 in 10**7 for a million ids) would
    quarantine a row as a duplicate, with its reason: never lost.
    """

    # New hashes wait in a small sorted array, merged into the big one now and then: merging
    # every chunk would copy the whole history each time.
    MERGE_AT = 65_536

    def __init__(self) -> None:
        self._history = np.empty(0, dtype=np.uint64)
        self._recent = np.empty(0, dtype=np.uint64)

    def seen_then_add(self, ids: pd.Series) -> np.ndarray:
        """For each id of a chunk, whether an earlier chunk already had it (missing ids: never); then
        the chunk's ids are remembered. Each id is hashed once."""
        codes, present = _hashes(ids), ids.notna().to_numpy()
        earlier = (_member(codes, self._history) | _member(codes, self._recent)) & present
        # Sorted runs merged by numpy's stable sort (a merge of two runs, linear time); a
        # duplicate hash costs 8 bytes and changes no answer, so nothing is deduplicated.
        self._recent = _merged(self._recent, np.sort(codes[present]))
        if len(self._recent) >= self.MERGE_AT:
            self._history = _merged(self._history, self._recent)
            self._recent = np.empty(0, dtype=np.uint64)
        return earlier


def _merged(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    return np.sort(np.concatenate([first, second]), kind="stable")


def _hashes(ids: pd.Series) -> np.ndarray:
    return pd.util.hash_pandas_object(ids.astype("string"), index=False).to_numpy(dtype=np.uint64)


def _member(codes: np.ndarray, sorted_codes: np.ndarray) -> np.ndarray:
    if not len(sorted_codes):
        return np.zeros(len(codes), dtype=bool)
    positions = np.minimum(np.searchsorted(sorted_codes, codes), len(sorted_codes) - 1)
    return sorted_codes[positions] == codes
