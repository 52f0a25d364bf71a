"""How dropscore runs LightGBM: its thread count, and its import without scikit-learn for predicting.

``import lightgbm`` imports scikit-learn whenever it is installed, only to define ``LGBMClassifier``
and friends (lightgbm/compat.py): 0.6 s and about 70 MiB of a cold process (scikit-learn, most of
SciPy), measured in issue 16, for classes dropscore never uses (it trains and predicts with
``lgb.train`` and ``Booster``). A process whose first use of LightGBM is to load a booster (the
score function, `dropscore score`) imports it with scikit-learn hidden, so LightGBM takes its own
"not installed" branch; scikit-learn itself stays importable, and is imported as usual by
whatever needs it later (training's metrics).

Once imported that way, ``lightgbm.LGBMClassifier`` in that process is LightGBM's stand-in, which
raises when used: a process that already holds scikit-learn, or LightGBM, imports as usual.
"""

from __future__ import annotations

import functools
import importlib
import math
import os
import sys
import threading
from pathlib import Path
from types import ModuleType

_lock = threading.Lock()  # a score thread may load the booster while another imports

# Under CPU contention (a busy laptop, a shared CI runner) LightGBM's OpenMP threads spin against
# each other and one thread is several times faster than two; on an idle machine it costs little.
# Training and `dropscore score` (whose reading, validating and scoring threads keep every core busy
# already) use this.
NUM_THREADS = 1
# The score function has its instance to itself (one event at a time) and, while it predicts, one
# writing thread beside it: predicting on two threads where two CPUs are there to use took the warm
# 200 000-row event from 1.56-1.58 to 1.31-1.37 s on 2 idle cores, and cost nothing measurable with
# one core kept busy (1.78-1.82 against 1.74-2.13 s). More threads than two split 8 192-row batches
# too thin to pay for waking them.
MAX_STEP_THREADS = 2
CGROUP_ROOT = Path("/sys/fs/cgroup")


@functools.cache
def threads_for_one_step() -> int:
    """LightGBM threads for a step that has the process to itself: the CPUs it may use, at most two.

    A Cloud Function's instance may see every core of its host while its CPU quota is one (2 GiB of
    memory buys one vCPU, 4 GiB two: https://cloud.google.com/functions/docs/configuring/memory): the
    quota counts, not the cores, or two threads would spin against each other.
    """
    return max(1, min(MAX_STEP_THREADS, usable_cpus()))


def usable_cpus(cgroup_root: Path = CGROUP_ROOT) -> int:
    """The CPUs this process may run on (its affinity), lowered to its cgroup's CPU quota if it has one."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = cgroup_cpu_quota(cgroup_root)
    return max(1, min(cpus, quota) if quota is not None else cpus)


def cgroup_cpu_quota(root: Path = CGROUP_ROOT) -> int | None:
    """Whole CPUs of the cgroup's quota (at least one), or None without a quota.

    cgroup v2 writes ``cpu.max`` as "<quota> <period>" or "max <period>"; v1 writes
    ``cpu/cpu.cfs_quota_us`` (-1 without a quota) and ``cpu/cpu.cfs_period_us``.
    """
    try:
        v2 = (root / "cpu.max").read_text().split()
    except OSError:
        v2 = []
    try:
        if len(v2) == 2:
            quota, period = (None if v2[0] == "max" else int(v2[0])), int(v2[1])
        else:
            quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
            period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
            quota = None if quota < 0 else quota
    except (OSError, ValueError):
        return None  # no cgroup files to read (not Linux, or not mounted): the affinity answers alone
    if quota is None or period <= 0:
        return None
    return max(1, math.floor(quota / period))


def import_lightgbm() -> ModuleType:
    """``lightgbm``, imported without scikit-learn if neither is in the process yet."""
    with _lock:
        if "lightgbm" in sys.modules or "sklearn" in sys.modules:
            return importlib.import_module("lightgbm")
        sys.modules["sklearn"] = None  # type: ignore[assignment]  # import sklearn -> ImportError, in this block only
        try:
            return importlib.import_module("lightgbm")
        finally:
            del sys.modules["sklearn"]
