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

import importlib
import sys
import threading
from types import ModuleType

_lock = threading.Lock()  # a score thread may load the booster while another imports

# Under CPU contention (a busy laptop, a shared CI runner) LightGBM's OpenMP threads spin against
# each other and one thread is several times faster than two; on an idle machine it costs little.
NUM_THREADS = 1


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
