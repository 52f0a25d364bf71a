"""Big freed buffers go back to the system (glibc's malloc), so a long run's resident memory stays flat.

glibc serves an allocation above its mmap threshold with a mapping of its own, unmapped when freed;
but each time such a block is freed it raises the threshold (from 128 KiB up to 32 MiB), after
which the arrays of a few MiB that every scored batch makes (NumPy, Arrow to pandas, LightGBM's
leaves) come from the heap, where a block freed below a live one keeps its pages. Fixing the
threshold stops that drift. Measured in issue 16 on 1 000 000 rows through `dropscore score`
(reasons on): 599 MiB peak without, 487-508 MiB with a 1 MiB threshold, in the same time within noise.
Elsewhere (macOS, musl) nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
BIG_BLOCK_BYTES = 1024 * 1024


def return_big_blocks(threshold: int = BIG_BLOCK_BYTES) -> bool:
    """Blocks of ``threshold`` bytes or more get their own mappings, and the heap is trimmed
    above 16 times that; True when glibc took both settings."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return False
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, threshold)) and bool(mallopt(M_TRIM_THRESHOLD, 16 * threshold))


def arrow_allocates_from_glibc() -> str:
    """Arrow's buffers come from glibc's malloc (with the threshold above) instead of Arrow's own pool.

    Arrow's default pool (mimalloc) keeps freed pages for reuse, per thread; with `dropscore score`'s
    three threads (reading, validating, scoring) that held ~40 MiB more at the peak on the 200 000-row
    bench file (issue 16: 303-304 against 344-362 MiB with 4 MiB blocks), for ~0.1-0.2 s. Returns the
    pool's name. Only for the one-process command: the functions keep Arrow's default.
    """
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())
    return pa.default_memory_pool().backend_name
