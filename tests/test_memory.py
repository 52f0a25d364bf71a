"""Memory regression: clean and score stream, so a function's peak memory does not follow the file.

A generous bound on a 60 000-row file, each step in its own process as a function instance runs
it (about 410 and 560 MiB here). Before streaming (issue 8) the score step kept every prediction
and the clean step parsed 16 MiB blocks (about 450 MiB of working memory each).
bench/bench_performance.py measures the 1 000 000-row case.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
ROWS = 60_000
BOUND_MIB = 700

STEP = """
import json, sys
from shared.settings import load_settings
settings = load_settings()
if sys.argv[1] == "clean":
    from shared.cleaning import clean_object
    result = clean_object(settings, settings.object_uri("raw", "incoming/memoria.csv"))
    rows = result.rows_clean
else:
    from shared.batch_scoring import score_object
    result = score_object(settings, settings.object_uri("clean", "incoming/memoria.parquet"))
    rows = result.rows_scored
# VmHWM: this process's own high-water mark. (ru_maxrss would also count the parent's memory at fork.)
peak_kib = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"rows": rows, "status": result.status, "peak_mib": peak_kib / 1024}))
"""


def _run(step: str, settings: Settings) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DROPSCORE_")}
    env.update(DROPSCORE_HOME=str(settings.home), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", STEP, step], env=env, capture_output=True, text=True, timeout=600, cwd=str(ROOT))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_clean_and_score_of_a_big_file_stay_under_a_generous_bound(champion_home: Settings) -> None:
    from shared import synthetic

    raw = Path(champion_home.area_uri("raw").removeprefix("file://")) / "incoming" / "memoria.csv"
    synthetic.write_excel_csv(synthetic.without_target(synthetic.generate_batch(ROWS, month=1, seed=4)), raw)

    cleaned = _run("clean", champion_home)
    scored = _run("score", champion_home)
    print(f"peak memory: clean {cleaned['peak_mib']:.0f} MiB, score {scored['peak_mib']:.0f} MiB")

    assert cleaned["status"] == "clean" and scored["status"] == "scored" and scored["rows"] == cleaned["rows"] > 0.9 * ROWS
    assert cleaned["peak_mib"] < BOUND_MIB, cleaned
    assert scored["peak_mib"] < BOUND_MIB, scored
