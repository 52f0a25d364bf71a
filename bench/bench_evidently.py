"""Evidently's DataDriftPreset on the windows bench/perf_tasks.py drift wrote, for the drift-speed comparison.

Runs in .venv-bench (built by `make bench` from bench/requirements-evidently.txt), never in the
project's environment. Columns get the same kinds dropscore's check gives them (numeric or
categorical), so both tools test the same 83 features; Evidently picks its own test per column
(K-S, chi-square, Jensen-Shannon or Wasserstein by size) as its preset does by default.
Usage: .venv-bench/bin/python bench/bench_evidently.py FOLDER [--repeats 3]; prints one JSON line.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
from pathlib import Path  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("folder")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import warnings

    import pandas as pd

    warnings.filterwarnings("ignore")  # FutureWarnings from inside Evidently, one per column

    began_import = time.perf_counter()
    import evidently
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    import_seconds = time.perf_counter() - began_import
    folder = Path(args.folder)
    reference = pd.read_parquet(folder / "reference.parquet")
    current = pd.read_parquet(folder / "current.parquet")
    kinds = json.loads((folder / "kinds.json").read_text())
    numerical = [name for name, kind in kinds.items() if kind == "numeric"]
    categorical = [name for name in kinds if name not in numerical]
    for name in categorical:  # text categories as Evidently expects them
        reference[name] = reference[name].astype("object")
        current[name] = current[name].astype("object")
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    times = []
    drifted: list[str] = []
    for _ in range(args.repeats):
        began = time.perf_counter()
        snapshot = Report([DataDriftPreset()]).run(
            Dataset.from_pandas(current, data_definition=definition), Dataset.from_pandas(reference, data_definition=definition)
        )
        result = snapshot.dict()
        times.append(time.perf_counter() - began)
    for metric in result.get("metrics", []):
        name = str(metric.get("metric_name", metric.get("metric_id", "")))
        value = metric.get("value")
        if name.startswith("ValueDrift") and isinstance(value, (int, float)):
            column = str(metric.get("config", {}).get("column", name))
            threshold = metric.get("config", {}).get("threshold")
            method = str(metric.get("config", {}).get("method", ""))
            # p-value methods drift below the threshold, distance methods above it
            if threshold is not None and ((value < threshold) if "p_value" in method or "K-S" in method or "chi" in method.lower() else (value >= threshold)):
                drifted.append(column)
    print(
        json.dumps(
            {
                "evidently": evidently.__version__,
                "reference_rows": len(reference),
                "current_rows": len(current),
                "features": len(kinds),
                "seconds": statistics.median(times),
                "all_seconds": times,
                "import_seconds": import_seconds,
                "drifted_features": sorted(set(drifted)),
            }
        )
    )


if __name__ == "__main__":
    main()
