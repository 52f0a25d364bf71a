"""Shared plumbing of the performance benchmark: generated data, a bench home with a champion,
and running one step in a fresh process while measuring its time and peak memory.

Everything lands under ``bench/out/`` (git-ignored): ``data/`` holds the generated CSVs (kept
between runs, keyed on rows and seed), ``home/`` is a DROPSCORE_HOME with folders as buckets,
sqlite MLflow and a DuckDB warehouse, exactly what the embedded product uses.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
OUT = BENCH / "out"
DATA = OUT / "data"
HOME = OUT / "home"
PYTHON = sys.executable

MIB = 1024 * 1024
GENERATION_CHUNK_ROWS = 50_000
INCOMING_MONTH = 1  # generated files are "January 2024" data (the model trains on month 0)
TRAINING_ROWS = 12_000  # what the demo trains on
TRAINING_BUDGET_SECONDS = 20.0
SETUP_VERSION = 2
# The champion's booster registered for `mlflow models predict` (see perf_tasks.task_mlflow_view).
MLFLOW_VIEW_MODEL = "dropscore-mlflow-view"  # bump to rebuild bench homes made by an older benchmark


# --------------------------------------------------------------------------- environment


def bench_env(home: Path = HOME, **extra: str) -> dict[str, str]:
    """The environment a function instance of the bench home sees (embedded defaults under ``home``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DROPSCORE_")}
    env.update(
        DROPSCORE_HOME=str(home),
        DROPSCORE_LANG="es",
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def load_average() -> list[float]:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return []


def machine() -> dict[str, Any]:
    import platform

    memory_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "memory_mib": memory_kib // 1024,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


# --------------------------------------------------------------------------- measuring a process


@dataclass
class Measured:
    """One child process: wall time, peak memory, its exit status and what it printed."""

    command: list[str]
    wall_seconds: float
    peak_rss_bytes: int          # max over time of the summed RSS of the process and its descendants (polled)
    max_rss_bytes: int           # wait4's ru_maxrss: also counts this runner's own memory at fork, so informational only
    returncode: int
    stdout: str = ""
    stderr: str = ""
    load_before: list[float] = field(default_factory=list)

    @property
    def peak_bytes(self) -> int:
        """The polled tree RSS, raised to the process's own high-water mark when it reports one (VmHWM)."""
        reported = self.last_json().get("vm_hwm_mib")
        return max(self.peak_rss_bytes, int(float(reported) * MIB) if reported else 0)

    @property
    def peak_mib(self) -> float:
        return self.peak_bytes / MIB

    def last_json(self) -> dict[str, Any]:
        """The last stdout line that is a JSON object (what the bench tasks print)."""
        for line in reversed(self.stdout.strip().splitlines()):
            line = line.strip()
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except ValueError:
                    continue
        return {}

    def check(self) -> Measured:
        if self.returncode != 0:
            tail = "\n".join(self.stderr.strip().splitlines()[-25:])
            raise RuntimeError(f"{' '.join(self.command[:4])}... exited with {self.returncode}:\n{tail}")
        return self

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("stdout")
        data.pop("stderr")
        data["command"] = " ".join(_display_path(part) for part in self.command)
        data["peak_mib"] = round(self.peak_mib, 1)
        return data


def _display_path(part: str) -> str:
    """Commands in results.json name files relative to the repo, never by machine path."""
    text = str(part)
    for base, label in ((str(ROOT), "."), (str(Path(sys.prefix)), "<venv>")):
        text = text.replace(base, label)
    return text


def _tree_rss_bytes(root_pid: int) -> int:
    """Summed VmRSS of ``root_pid`` and all its descendants, from /proc (0 when it is gone)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0
    for entry in entries:
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                stat = handle.read().decode("ascii", "replace")
            # The command name may hold spaces and parentheses: fields start after the last ")".
            fields = stat[stat.rindex(")") + 2 :].split()
            parent = int(fields[1])
            pages = int(fields[21])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(pid)
        rss[pid] = pages * os.sysconf("SC_PAGE_SIZE")
    total, pending = 0, [root_pid]
    while pending:
        pid = pending.pop()
        total += rss.get(pid, 0)
        pending.extend(children.get(pid, []))
    return total


def run_measured(
    command: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 3600.0, poll_seconds: float = 0.02
) -> Measured:
    """Run ``command`` to completion; its wall time and peak resident memory (tree sum, polled, and wait4's max)."""
    load_before = load_average()
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=str(cwd or ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    stop = threading.Event()

    def poll() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss_bytes(process.pid))
            stop.wait(poll_seconds)

    output: dict[str, str] = {}

    def drain(name: str, stream: Any) -> None:
        output[name] = stream.read()

    threads = [threading.Thread(target=poll, daemon=True)]
    threads += [threading.Thread(target=drain, args=(name, stream), daemon=True) for name, stream in (("stdout", process.stdout), ("stderr", process.stderr))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    max_rss = 0
    status = None
    while status is None:
        # wait4 reaps the child and hands over its rusage: ru_maxrss (KiB on Linux) is the
        # high-water mark of the child or of the largest descendant it waited for.
        pid, wait_status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid == process.pid:
            status = os.waitstatus_to_exitcode(wait_status)
            max_rss = int(usage.ru_maxrss) * 1024
            break
        if time.monotonic() > deadline:
            process.kill()
            continue
        time.sleep(0.01)
    wall = time.perf_counter() - started
    process.returncode = status
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    return Measured(list(command), wall, peak, max_rss, int(status), output.get("stdout", ""), output.get("stderr", ""), load_before)


# --------------------------------------------------------------------------- generated data


def _part(task: tuple[int, int, int, int, str]) -> str:
    """Write one chunk of the big file (Excel dialect, its own header) and return its path."""
    index, start, rows, seed, folder = task
    import numpy as np

    from shared.local import synthetic

    frame = synthetic.without_target(synthetic.generate_batch(rows, month=INCOMING_MONTH, seed=seed + index))
    numbers = INCOMING_MONTH * (synthetic.MAX_ROWS_PER_BATCH + 1) + np.arange(start + 1, start + rows + 1, dtype=np.int64)
    frame[synthetic.ID_COLUMN] = np.char.add(synthetic.ID_PREFIX, np.char.zfill(numbers.astype(str), 9)).astype(object)
    path = Path(folder) / f"part-{index:05d}.csv"
    synthetic.write_excel_csv(frame, path)  # the product's own "as Excel saves it" writer
    return str(path)


def excel_csv(rows: int, *, seed: int = 11, jobs: int = 2) -> Path:
    """A ``rows`` × 84-feature CSV as Spanish-locale Excel saves it (cp1252, ``;``, decimal comma,
    dd/mm/yyyy, CRLF), generated in chunks of 50 000 rows on ``jobs`` processes and cached."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"micronegocios_{rows}_s{seed}.csv"
    stamp = path.with_suffix(".ok")
    if path.exists() and stamp.exists() and json.loads(stamp.read_text()).get("rows") == rows:
        return path
    scratch = DATA / f".parts-{rows}-{seed}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    tasks = []
    start = 0
    while start < rows:
        count = min(GENERATION_CHUNK_ROWS, rows - start)
        tasks.append((len(tasks), start, count, seed, str(scratch)))
        start += count
    began = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool, open(path, "wb") as target:
        for index, part in enumerate(pool.map(_part, tasks)):
            with open(part, "rb") as source:
                if index:
                    source.readline()  # one header for the whole file
                shutil.copyfileobj(source, target, 4 * MIB)
            os.unlink(part)
    shutil.rmtree(scratch, ignore_errors=True)
    stamp.write_text(json.dumps({"rows": rows, "seed": seed, "bytes": path.stat().st_size, "seconds": round(time.perf_counter() - began, 1)}))
    return path


def small_csv(rows: int, name: str, *, seed: int = 5) -> Path:
    """A small file in the same dialect, for cold starts."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"{name}.csv"
    if not path.exists():
        from shared.local import synthetic

        synthetic.write_excel_csv(synthetic.without_target(synthetic.generate_batch(rows, month=INCOMING_MONTH, seed=seed)), path)
    return path


# --------------------------------------------------------------------------- the bench home


def dropscore_cli(*args: str, home: Path = HOME) -> dict[str, Any]:
    """Run the `dropscore` command as a user would, with ``--json``; its JSON answer."""
    done = subprocess.run(
        [PYTHON, "-m", "shared.local.cli", *args, "--json"], env=bench_env(home), cwd=str(ROOT), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"dropscore {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def ensure_home(home: Path = HOME, *, fresh: bool = False) -> dict[str, Any]:
    """A DROPSCORE_HOME whose champion was trained with `dropscore contract infer` + `dropscore train`
    on 12 000 synthetic rows (the demo's size). Reused between runs unless ``fresh``."""
    stamp = home / "bench-setup.json"
    if not fresh and stamp.exists():
        recorded = json.loads(stamp.read_text())
        if recorded.get("setup_version") == SETUP_VERSION:
            return recorded
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    from shared.local import synthetic

    training_path = home / "entrenamiento.csv"
    synthetic.write_excel_csv(synthetic.generate_batch(TRAINING_ROWS, month=0, seed=2024), training_path)
    contract_path = home / "contrato.yaml"
    dropscore_cli(
        "contract", "infer", str(training_path), "--target", synthetic.TARGET_COLUMN, "--positive", synthetic.POSITIVE_LABEL,
        "--id", synthetic.ID_COLUMN, "--name", "bench", "-o", str(contract_path), home=home,
    )  # fmt: skip
    began = time.perf_counter()
    trained = dropscore_cli("train", str(training_path), "--contract", str(contract_path), "--time-budget", str(TRAINING_BUDGET_SECONDS), home=home)
    if not trained.get("promoted"):
        raise RuntimeError(f"the bench model was not promoted: {trained.get('reason')}")
    view = subprocess.run(
        [PYTHON, str(BENCH / "perf_tasks.py"), "mlflow-view", MLFLOW_VIEW_MODEL], env=bench_env(home), cwd=str(ROOT), capture_output=True, text=True
    )
    if view.returncode != 0:
        raise RuntimeError(f"registering the MLflow view of the champion failed:\n{view.stderr[-3000:]}")
    recorded = {
        "setup_version": SETUP_VERSION,
        "mlflow_view_model": MLFLOW_VIEW_MODEL,
        "model_version": trained["model_version"],
        "metrics": trained.get("metrics"),
        "training_rows": TRAINING_ROWS,
        "training_seconds": round(time.perf_counter() - began, 1),
    }
    stamp.write_text(json.dumps(recorded, indent=2))
    return recorded


def reset_outputs(home: Path = HOME) -> None:
    """Forget earlier runs' objects and warehouse rows; keep the model (mlflow.db and its artifacts)."""
    shutil.rmtree(home / "buckets", ignore_errors=True)
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal"):
        (home / name).unlink(missing_ok=True)


def place_in_raw(source: Path, name: str, home: Path = HOME) -> tuple[str, str]:
    """Put a file in the raw area under ``incoming/`` as an upload would; (bucket, object name) of its event.

    A hard link when possible: the bench measures the function, not the copy.
    """
    target = home / "buckets" / "raw" / "incoming" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    os.utime(target)  # a fresh generation (mtime) per run: the exactly-once claims key on it
    return "raw", f"incoming/{name}"
