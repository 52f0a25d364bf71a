"""Drift detection benchmark: does the monthly check catch real change and stay quiet otherwise?

On the synthetic micro-business generator (``shared.local.synthetic``), a reference of 20 000 rows
(the size of a champion's reference sample) is compared, exactly as the drift check compares
it (:func:`shared.monitor.comparison.compare_windows`: 83 features, their missing rates, 166 tests
corrected together with Benjamini-Hochberg, drift = significant AND effect >= 0.1), with
windows of 1 000, 10 000 and 100 000 rows (windows above 50 000 are sampled to 50 000 as the
check does), each seeded run drawing fresh windows for four scenarios:

- no change: a fresh sample of the reference distribution (any drifted test is a false alarm);
- a 0.5-standard-deviation mean shift in ``ventas_mensuales`` (detected = that feature drifted);
- a 15-point share change of ``sector = comercio`` (detected = ``sector`` drifted);
- a negligible 0.05-standard-deviation shift in ``ventas_mensuales``: real but too small to
  matter, where an alarm is crying wolf.

Besides dropscore's rule, two simpler rules are scored on the same tests: "BH only"
(significant after correction, any effect size) and "plain p < 0.05" (uncorrected KS p-values
for numbers and chi-square for categories, the textbook monitoring recipe).

Targets (from the issue): detection >= 95 %, false alarms <= 5 % at every size.

Usage: python bench/bench_drift.py [--runs 40] [--sizes 1000,10000,100000] [--jobs 2]
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from shared.ingest.contract_drafting import infer_contract  # noqa: E402
from shared.local import synthetic  # noqa: E402
from shared.monitor.comparison import compare_windows, kinds_of  # noqa: E402
from shared.monitor.drift_stats import DEFAULT_ALPHA, DEFAULT_SAMPLE_CAP  # noqa: E402

REFERENCE_ROWS = 20_000
REFERENCE_SEED = 7
DEFAULT_SIZES = (1_000, 10_000, 100_000)
DEFAULT_RUNS = 40
NUMERIC_FEATURE = "ventas_mensuales"
CATEGORY_FEATURE, CATEGORY = "sector", "comercio"
DETECTION_TARGET = 0.95
FALSE_ALARM_TARGET = 0.05


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    drift: synthetic.DriftSpec
    target: tuple[str, str] | None  # (feature, test kind) that must be flagged; None = nothing should be


SCENARIOS = (
    Scenario("null", "no change (fresh reference sample)", synthetic.DriftSpec(), None),
    Scenario("numeric", f"+0.5 sd mean shift, {NUMERIC_FEATURE}", synthetic.DriftSpec(numeric_shift_sd={NUMERIC_FEATURE: 0.5}), (NUMERIC_FEATURE, "numeric")),
    Scenario("category", f"+15 points {CATEGORY_FEATURE}={CATEGORY}", synthetic.DriftSpec(category_share_shift={CATEGORY_FEATURE: (CATEGORY, 0.15)}), (CATEGORY_FEATURE, "categorical")),
    Scenario("negligible", f"+0.05 sd shift, {NUMERIC_FEATURE} (negligible)", synthetic.DriftSpec(numeric_shift_sd={NUMERIC_FEATURE: 0.05}), None),
)

_STATE: dict[str, object] = {}


def _setup() -> None:
    """Per worker: the reference, its contract (inferred as `dropscore contract infer` would) and test kinds."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    reference = synthetic.generate_batch(REFERENCE_ROWS, month=0, seed=REFERENCE_SEED)
    contract = infer_contract(
        reference, target=synthetic.TARGET_COLUMN, positive=synthetic.POSITIVE_LABEL, id_column=synthetic.ID_COLUMN,
        name="bench", decimal=".", date_columns={"fecha_inicio": "%d/%m/%Y"},
    )  # fmt: skip
    features = contract.feature_columns
    _STATE.update(reference=reference[features], contract=contract, features=features, kinds=kinds_of(reference, contract, features))


def _one_run(task: tuple[int, int]) -> dict[str, dict[str, object]]:
    size, run = task
    if not _STATE:
        _setup()
    reference, contract, features, kinds = (_STATE[k] for k in ("reference", "contract", "features", "kinds"))
    outcomes: dict[str, dict[str, object]] = {}
    for scenario_index, scenario in enumerate(SCENARIOS):
        seed = 1_000_003 * (scenario_index + 1) + 7_919 * size + run
        window = synthetic.generate_batch(size, month=0, seed=seed, drift=scenario.drift)[features]
        if len(window) > DEFAULT_SAMPLE_CAP:
            window = window.sample(DEFAULT_SAMPLE_CAP, random_state=run)  # the check samples its window the same way
        results = compare_windows(reference, window, contract, features, {}, kinds=kinds, seed=run)
        value_tests = [r for r in results if r.kind != "missing_rate" and r.p_value is not None]
        outcome: dict[str, object] = {
            "ours_any": any(r.drifted for r in results),
            "bh_any": any(r.p_value_adjusted is not None and r.p_value_adjusted <= DEFAULT_ALPHA for r in results),
            "plain_any": any(r.p_value < DEFAULT_ALPHA for r in value_tests),
            "tests": len(results),
        }
        if scenario.target is not None:
            feature, kind = scenario.target
            target = next(r for r in results if r.feature == feature and r.kind == kind)
            outcome.update(
                ours_target=target.drifted,
                bh_target=target.p_value_adjusted is not None and target.p_value_adjusted <= DEFAULT_ALPHA,
                plain_target=target.p_value is not None and target.p_value < DEFAULT_ALPHA,
                effect=target.effect_size,
            )
        else:
            shifted = next(r for r in results if r.feature == NUMERIC_FEATURE and r.kind == "numeric")
            outcome["effect"] = shifted.effect_size
        outcomes[scenario.key] = outcome
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help=f"seeded runs per window size (default {DEFAULT_RUNS})")
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES), help="rows per window, comma-separated")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="worker processes (default 2)")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]

    started = time.perf_counter()
    tasks = [(size, run) for size in sizes for run in range(args.runs)]
    with ProcessPoolExecutor(max_workers=max(args.jobs, 1), initializer=_setup) as pool:
        outcomes = list(pool.map(_one_run, tasks, chunksize=max(1, args.runs // 8)))
    elapsed = time.perf_counter() - started
    tests = outcomes[0]["null"]["tests"] if outcomes else 0

    print(
        f"Drift detection benchmark: reference {REFERENCE_ROWS:,} rows, {tests} tests per check "
        f"(83 features + missing rates, BH-corrected), {args.runs} seeded runs per cell, {elapsed:.0f} s on {args.jobs} processes.\n"
        f"dropscore rule = significant after BH at {DEFAULT_ALPHA} AND effect >= 0.1. Windows above {DEFAULT_SAMPLE_CAP:,} rows are sampled to it.\n"
    )
    header = f"| {'rows/window':>11} | {'scenario':<46} | {'measure':<11} | {'dropscore':>9} | {'BH only':>7} | {'plain p<0.05':>12} | {'mean effect':>11} | target |"
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    failures = []
    for size in sizes:
        rows = [outcome for (task_size, _), outcome in zip(tasks, outcomes, strict=True) if task_size == size]
        for scenario in SCENARIOS:
            cells = [row[scenario.key] for row in rows]
            effect = float(np.mean([cell["effect"] for cell in cells if cell.get("effect") is not None]))
            if scenario.target is None:
                measure = "false alarm" if scenario.key == "null" else "alarm"
                ours, bh, plain = (float(np.mean([cell[key] for cell in cells])) for key in ("ours_any", "bh_any", "plain_any"))
                target = f"<= {FALSE_ALARM_TARGET:.0%}" if scenario.key == "null" else "quiet"
                missed = ours > FALSE_ALARM_TARGET
            else:
                measure = "detected"
                ours, bh, plain = (float(np.mean([cell[key] for cell in cells])) for key in ("ours_target", "bh_target", "plain_target"))
                target = f">= {DETECTION_TARGET:.0%}"
                missed = ours < DETECTION_TARGET
            verdict = "FAIL" if missed else "ok"
            if missed:
                failures.append(f"{size:,} rows, {scenario.title}: {measure} {ours:.1%}")
            print(
                f"| {size:>11,} | {scenario.title:<46} | {measure:<11} | {ours:>9.1%} | {bh:>7.1%} | {plain:>12.1%} | {effect:>11.3f} | "
                f"{target} {verdict} |"
            )
    print()
    if failures:
        print("MISSED TARGETS:\n  " + "\n  ".join(failures))
        return 1
    print("All targets met: detection >= 95 % and false alarms <= 5 % at every size.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
