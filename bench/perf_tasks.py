"""One benchmark step, run in a fresh process by bench/bench_performance.py (never imported by it).

Each task prints one JSON object as its last stdout line. The runner measures the process from
outside (wall time, peak resident memory of the process tree); the task reports what it timed
inside. Usage: python bench/perf_tasks.py TASK [args]; DROPSCORE_HOME names the bench home.
"""

from __future__ import annotations

import time

PROCESS_STARTED = time.time()  # before any import: the cold-start clock starts here at the latest

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _peak_mib() -> float | None:
    """This process's own high-water mark of resident memory (VmHWM; ru_maxrss would also count
    the parent's memory at fork)."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _emit(payload: dict) -> None:
    payload = {**payload, "vm_hwm_mib": _peak_mib()}
    sys.stdout.write("\n" + json.dumps(payload, default=str) + "\n")
    sys.stdout.flush()


def storage_event(bucket: str, name: str, generation: str):  # noqa: ANN201 - a CloudEvent, imported lazily
    """The finalize CloudEvent Eventarc would deliver for (bucket, name, generation)."""
    from cloudevents.http import CloudEvent

    return CloudEvent(
        {
            "type": "google.cloud.storage.object.v1.finalized",
            "source": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
            "subject": f"objects/{name}",
            "id": f"bench-{os.getpid()}-{time.time_ns()}",
            "time": datetime.now(UTC).isoformat(),
        },
        {"bucket": bucket, "name": name, "generation": generation},
    )


def _touch(bucket: str, name: str) -> None:
    """A new generation of an embedded object (its mtime), so the exactly-once claims let it through."""
    from shared.settings import load_settings

    os.utime(Path(load_settings().area_uri(bucket).removeprefix("file://")) / name)


def _local_generation(bucket: str, name: str) -> str:
    """What a finalize event carries for an object of the embedded store: its mtime in ns."""
    from shared.settings import load_settings

    path = Path(load_settings().area_uri(bucket).removeprefix("file://")) / name
    return str(path.stat().st_mtime_ns)


# --------------------------------------------------------------------------- tasks


def _reasons_off() -> None:
    """Reasons off, to compare like with like with MLflow (which gives none): score_batch's own
    switch, turned off by default for every caller however it imported the function. Bench only;
    the product always gives reasons. The switch is thrown when the product first imports the
    scoring module (a meta-path hook), so the import happens where, and when, the product does it:
    importing it here, before the work, would add its import to the command's critical path."""
    import importlib.abc
    import importlib.util

    class ThrowSwitchOnImport(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: object, target: object = None):  # noqa: ANN201
            if name != "shared.model.scoring":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            assert spec is not None and spec.loader is not None
            run_module = spec.loader.exec_module

            def exec_module(module: object) -> None:
                run_module(module)
                module.score_batch.__kwdefaults__["with_reasons"] = False  # type: ignore[attr-defined]

            spec.loader.exec_module = exec_module  # type: ignore[method-assign]
            return spec

    sys.meta_path.insert(0, ThrowSwitchOnImport())


def _block_size_experiment() -> None:
    """BENCH_BLOCK=bytes: the CSV read that many bytes at a time, by the functions and by `dropscore score`."""
    if not os.environ.get("BENCH_BLOCK"):
        return
    import shared.ingest.clean_table
    import shared.local.direct_scoring

    shared.ingest.clean_table.CSV_BLOCK_BYTES = int(os.environ["BENCH_BLOCK"])
    shared.local.direct_scoring.DIRECT_BLOCK_BYTES = int(os.environ["BENCH_BLOCK"])


def _check_reasons_were_off() -> None:
    scoring = sys.modules.get("shared.model.scoring")
    if scoring is None or scoring.score_batch.__kwdefaults__["with_reasons"] is not False:
        raise RuntimeError("reasons were meant to be off, and the switch was never thrown")


def task_event(args: argparse.Namespace) -> None:
    """One function's handler on one object, as its main.py calls it (clean or score)."""
    from shared import handlers

    if os.environ.get("BENCH_NO_REASONS") and args.function == "score":
        _reasons_off()
    _block_size_experiment()
    handle = {"clean": handlers.handle_clean_event, "score": handlers.handle_score_event}[args.function]
    warm_up_seconds = None
    if args.warm_up:
        # A warm instance: a small event first (imports, MLflow client, champion cached), as an
        # instance that has already handled a file; then the timed event.
        bucket, name = args.warm_up
        _touch(bucket, name)
        began = time.perf_counter()
        handle(storage_event(bucket, name, _local_generation(bucket, name)))
        warm_up_seconds = time.perf_counter() - began
    event = storage_event(args.bucket, args.name, _local_generation(args.bucket, args.name))
    began, cpu_began = time.perf_counter(), time.process_time()
    result = handle(event) or {}
    seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - cpu_began
    keep = ("status", "rows_in", "rows_clean", "rows_quarantined", "rows_scored", "clean_uri", "output", "model_version", "details")
    summary = {k: result.get(k) for k in keep if k in result}
    if "details" in summary:
        summary["details"] = {k: summary["details"].get(k) for k in ("fan_out", "assembly", "source_bytes") if k in summary["details"]}
    if (result.get("manifest") or {}).get("details", {}).get("assembly"):
        summary["assembly"] = result["manifest"]["details"]["assembly"]  # a shard's score: did it assemble the file?
    # CPU seconds of every thread beside the wall time: how much of the work the second core took.
    _emit({"handler_seconds": seconds, "handler_cpu_seconds": cpu_seconds, "warm_up_seconds": warm_up_seconds, "result": summary, "process_seconds": time.time() - PROCESS_STARTED})


def task_direct(args: argparse.Namespace) -> None:
    """`dropscore score FILE -o OUT --json` in this fresh process, as a user runs it (the console
    script calls the same ``main``); reasons off with ``--no-reasons`` (see _reasons_off)."""
    if args.no_reasons:
        _reasons_off()
    _block_size_experiment()
    from shared.local import cli

    began = time.perf_counter()
    code = cli.main(["score", args.file, "-o", args.output, "--json"])
    seconds = time.perf_counter() - began
    if code != 0:
        raise SystemExit(code)
    if args.no_reasons:
        _check_reasons_were_off()
    _emit({"command_seconds": seconds, "process_seconds": time.time() - PROCESS_STARTED, "reasons": not args.no_reasons})


def task_cold(args: argparse.Namespace) -> None:
    """A cold instance: import functions/<name>/main.py, handle a first small event, then a second one."""
    import importlib.util

    began = time.time()
    spec = importlib.util.spec_from_file_location(f"bench_main_{args.function}", ROOT / "functions" / args.function / "main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    imported = time.time()
    heavy = sorted(name for name in ("pandas", "pyarrow", "lightgbm", "mlflow", "duckdb", "scipy", "sklearn", "google.cloud.storage", "boto3") if name in sys.modules)
    entry = getattr(module, args.function)
    timings = []
    for bucket, name in zip(args.objects[0::2], args.objects[1::2], strict=True):
        start = time.time()
        entry(storage_event(bucket, name, _local_generation(bucket, name)))
        timings.append(time.time() - start)
    finished_first = imported + timings[0] if timings else imported
    _emit(
        {
            "launched_at": args.launched_at,
            "interpreter_to_import_seconds": began - PROCESS_STARTED,
            "import_seconds": imported - began,
            "heavy_modules_after_import": heavy,
            "first_event_seconds": timings[0] if timings else None,
            "second_event_seconds": timings[1] if len(timings) > 1 else None,
            "cold_start_seconds": (finished_first - args.launched_at) if args.launched_at else None,
        }
    )


def task_scoring(args: argparse.Namespace) -> None:
    """The scoring step in process, on the rows of a clean Parquet object: score_batch with and
    without reasons against the raw LightGBM booster's predict on the same rows."""
    import numpy as np
    import pyarrow.parquet as pq

    from shared.backends import services
    from shared.backends.registry import CHAMPION
    from shared.model import registered
    from shared.model.features import model_matrix
    from shared.model.scoring import score_batch
    from shared.model.training import NUM_THREADS
    from shared.settings import load_settings

    settings = load_settings()
    model = registered.load(services.registry(settings), CHAMPION)
    clean = pq.read_table(args.parquet).to_pandas()
    from shared.steps.score import PARQUET_BATCH_ROWS

    batch_rows = args.batch_rows or PARQUET_BATCH_ROWS
    batches = [clean.iloc[start : start + batch_rows] for start in range(0, len(clean), batch_rows)]

    def best(fn, repeats: int) -> float:  # noqa: ANN001
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            fn()
            times.append(time.perf_counter() - began)
        return float(np.median(times)) if repeats > 2 else min(times)

    matrix = model_matrix(clean, model.contract, model.features)
    booster = model.booster
    numeric = matrix.copy()
    for name in numeric.columns:  # what a raw-LightGBM user who encodes categories ahead of time hands predict
        if hasattr(numeric[name], "cat"):
            numeric[name] = numeric[name].cat.codes.replace(-1, np.nan).astype("float64")
    dense = numeric.to_numpy(dtype=np.float64)
    score_batch(model, batches[0].iloc[:1000], with_reasons=True)  # warm: path attribution is built once per model
    timings = {
        "raw_predict_frame": best(lambda: booster.predict(matrix, num_threads=NUM_THREADS), args.repeats),
        "raw_predict_numpy": best(lambda: booster.predict(dense, num_threads=NUM_THREADS), args.repeats),
        "model_matrix": best(lambda: [model_matrix(b, model.contract, model.features) for b in batches], args.repeats),
        "score_without_reasons": best(lambda: [score_batch(model, b, with_reasons=False) for b in batches], args.repeats),
        "score_with_reasons": best(lambda: [score_batch(model, b, with_reasons=True) for b in batches], args.repeats),
    }
    _emit({"rows": len(clean), "features": len(model.features), "num_threads": NUM_THREADS, "batch_rows": batch_rows, "seconds": timings})


def task_mlflow_input(args: argparse.Namespace) -> None:
    """The CSV `mlflow models predict` can consume, made from the same rows: the model's features
    only, UTF-8, comma-separated, decimal point, categories as LightGBM's integer codes.

    Not timed against MLflow: this is the cleaning work MLflow does not do, handed to it for free.
    """
    import numpy as np
    import pandas as pd

    from shared.backends import services
    from shared.backends.registry import CHAMPION
    from shared.delivery.parquet_io import read_parquet
    from shared.model import registered
    from shared.model.features import model_matrix
    from shared.settings import load_settings

    settings = load_settings()
    model = registered.load(services.registry(settings), CHAMPION)
    began = time.perf_counter()
    clean = read_parquet(args.clean_uri)
    matrix = model_matrix(clean, model.contract, model.features)
    out = pd.DataFrame(index=matrix.index)
    for name in matrix.columns:
        column = matrix[name]
        out[name] = column.cat.codes.replace(-1, np.nan) if isinstance(column.dtype, pd.CategoricalDtype) else column
    out.to_csv(args.output, index=False)
    _emit({"rows": len(out), "columns": len(out.columns), "seconds": time.perf_counter() - began, "bytes": Path(args.output).stat().st_size})


def task_mlflow_view(args: argparse.Namespace) -> None:
    """Register the champion's booster, unchanged but for its pandas category lists, as ``NAME@champion``.

    The registered model itself cannot be scored by `mlflow models predict` from any CSV: LightGBM
    was trained on pandas categoricals, so it refuses a frame whose categorical columns are not of
    category dtype ("train and valid dataset categorical_feature do not match"), and a CSV never
    parses into that dtype. Without the lists the same trees take the categories' integer codes,
    which is what the MLflow input file carries. Same trees, same predictions (checked by the runner).
    """
    import lightgbm as lgb
    import mlflow
    import mlflow.lightgbm
    from mlflow import MlflowClient

    from shared.backends import services
    from shared.backends.registry import CHAMPION
    from shared.model import registered
    from shared.settings import load_settings

    settings = load_settings()
    model = registered.load(services.registry(settings), CHAMPION)
    booster = lgb.Booster(model_str=model.booster.model_to_string())
    booster.pandas_categorical = None
    client = MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)
    experiment = client.get_experiment_by_name("bench-mlflow-view")
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(
        "bench-mlflow-view", artifact_location=(settings.home / "mlflow-view-artifacts").resolve().as_uri()
    )
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    with mlflow.start_run(experiment_id=experiment_id):
        info = mlflow.lightgbm.log_model(booster, name="model", registered_model_name=args.name, pip_requirements=[f"lightgbm=={lgb.__version__}"])
    version = str(info.registered_model_version)
    client.set_registered_model_alias(args.name, CHAMPION, version)
    _emit({"name": args.name, "version": version, "of_champion_version": model.version})


def task_drift(args: argparse.Namespace) -> None:
    """The drift check's statistics (shared.monitor.comparison.compare_windows) on a 100 000-row window against a
    50 000-row reference, 84 features; also writes both as Parquet for the Evidently side."""
    import numpy as np

    from shared.ingest.contract_drafting import infer_contract
    from shared.local import synthetic
    from shared.monitor.comparison import compare_windows, kinds_of

    reference_rows, current_rows = args.reference_rows, args.current_rows
    reference = synthetic.generate_batch(reference_rows, month=0, seed=101)
    current = synthetic.generate_batch(current_rows, month=1, seed=202, drift=synthetic.DriftSpec(numeric_shift_sd={"ventas_mensuales": 0.5}))
    contract = infer_contract(
        reference, target=synthetic.TARGET_COLUMN, positive=synthetic.POSITIVE_LABEL, id_column=synthetic.ID_COLUMN,
        name="bench", decimal=".", date_columns={"fecha_inicio": "%d/%m/%Y"},
    )  # fmt: skip
    features = contract.feature_columns
    reference, current = reference[features], current[features]
    times, results = [], []
    for _ in range(args.repeats):
        began = time.perf_counter()
        kinds = kinds_of(reference, contract, features)  # part of the check's work
        results = compare_windows(reference, current, contract, features, {}, kinds=kinds, seed=0)
        times.append(time.perf_counter() - began)
    kinds = kinds_of(reference, contract, features)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    reference.to_parquet(out / "reference.parquet", index=False)
    current.to_parquet(out / "current.parquet", index=False)
    (out / "kinds.json").write_text(json.dumps(kinds))
    drifted = sorted({r.feature for r in results if r.drifted})
    _emit(
        {
            "reference_rows": reference_rows,
            "current_rows": current_rows,
            "features": len(features),
            "tests": len(results),
            "seconds": float(np.median(times)),
            "all_seconds": times,
            "drifted_features": drifted,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    tasks = parser.add_subparsers(dest="task", required=True)
    event = tasks.add_parser("event")
    event.add_argument("function", choices=["clean", "score"])
    event.add_argument("bucket")
    event.add_argument("name")
    event.add_argument("--warm-up", nargs=2, metavar=("BUCKET", "NAME"), help="handle this small object first, untimed: the timed event meets a warm instance")
    direct = tasks.add_parser("direct")
    direct.add_argument("file")
    direct.add_argument("output")
    direct.add_argument("--no-reasons", action="store_true")
    cold = tasks.add_parser("cold")
    cold.add_argument("function", choices=["clean", "score"])
    cold.add_argument("objects", nargs="*", help="bucket name [bucket name]: the first and second events")
    cold.add_argument("--launched-at", type=float, default=0.0)
    scoring = tasks.add_parser("scoring")
    scoring.add_argument("parquet")
    scoring.add_argument("--batch-rows", type=int, default=0, help="rows per score_batch call (default: the score function's)")
    scoring.add_argument("--repeats", type=int, default=3)
    mlflow_input = tasks.add_parser("mlflow-input")
    mlflow_input.add_argument("clean_uri")
    mlflow_input.add_argument("output")
    view = tasks.add_parser("mlflow-view")
    view.add_argument("name")
    drift = tasks.add_parser("drift")
    drift.add_argument("out")
    drift.add_argument("--reference-rows", type=int, default=50_000)
    drift.add_argument("--current-rows", type=int, default=100_000)
    drift.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    {"event": task_event, "direct": task_direct, "cold": task_cold, "scoring": task_scoring, "mlflow-input": task_mlflow_input, "mlflow-view": task_mlflow_view, "drift": task_drift}[args.task](args)


if __name__ == "__main__":
    main()
