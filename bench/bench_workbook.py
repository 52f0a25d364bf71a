"""Excel workbooks: time and peak memory of reading a big .xlsx, and of the clean function on it.

    .venv/bin/python bench/bench_workbook.py [--rows 200000] [--compare-rows 20000]

Three measurements, each in a fresh process (peak RSS of the process tree, polled, and wait4's max):

1. ``read``: the streamed .xlsx reader alone (shared.ingest.workbook_reader) over the whole sheet;
2. ``clean``: the clean function's handler on the workbook dropped into the raw bucket, as a
   finalize event would start it (validation, Parquet, quarantine, fan-out as configured) —
   against the 512 MiB a function gets;
3. ``calamine``: python-calamine reading the same sheet whole (what it does for .xls/.ods), on
   ``--compare-rows`` rows, to show why .xlsx is not read that way.

The workbook is the benchmark's synthetic data (84 features, as in bench_performance.py),
numbers as numbers and dates as dates, written with xlsxwriter in constant-memory mode and cached
under bench/out/data/. Writing 200 000 rows takes some minutes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.perf_common import (  # noqa: E402
    DATA,
    HOME,
    MIB,
    PYTHON,
    bench_env,
    ensure_home,
    excel_csv,
    place_in_raw,
    reset_outputs,
    run_measured,
)

READ_SHEET = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from shared.ingest.workbook_reader import open_table
began = time.perf_counter()
rows = 0
with open(sys.argv[2], "rb") as stream:
    chunks = open_table(stream)
    for frame in chunks:
        rows += len(frame)
print(json.dumps({"rows": rows, "columns": len(chunks.header), "seconds": time.perf_counter() - began}))
"""

READ_CALAMINE = """
import json, sys, time
from python_calamine import CalamineWorkbook
began = time.perf_counter()
sheet = CalamineWorkbook.from_path(sys.argv[1]).get_sheet_by_index(0)
rows = sum(1 for _ in sheet.iter_rows())
print(json.dumps({"rows": rows, "seconds": time.perf_counter() - began}))
"""


def workbook(rows: int) -> Path:
    """The bench's synthetic CSV as an .xlsx: the contract's numbers as numbers, its date as a date."""
    import pandas as pd
    import xlsxwriter

    path = DATA / f"micronegocios_{rows}.xlsx"
    if path.exists():
        return path
    source = excel_csv(rows)
    partial = path.with_suffix(".partial.xlsx")
    book = xlsxwriter.Workbook(str(partial), {"constant_memory": True})
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet = book.add_worksheet("Datos")
    row_index = 0
    for frame in pd.read_csv(source, sep=";", dtype=str, encoding="cp1252", keep_default_na=False, chunksize=20_000):
        if row_index == 0:
            sheet.write_row(0, 0, list(frame.columns))
            row_index = 1
            kinds = [_kind(frame[name]) for name in frame.columns]
        for record in frame.itertuples(index=False):
            for column, (text, kind) in enumerate(zip(record, kinds, strict=True)):
                if text == "":
                    continue
                if kind == "number":
                    sheet.write_number(row_index, column, float(text.replace(",", ".")))
                elif kind == "date":
                    sheet.write_datetime(row_index, column, datetime.datetime.strptime(text, "%d/%m/%Y"), date_format)
                else:
                    sheet.write_string(row_index, column, text)
            row_index += 1
    book.close()
    partial.rename(path)
    return path


def _kind(values) -> str:  # noqa: ANN001
    present = values[values != ""].head(200)
    if len(present) and present.str.fullmatch(r"\d{2}/\d{2}/\d{4}").all():
        return "date"
    if len(present) and present.str.fullmatch(r"-?\d+(,\d+)?").all():
        return "number"
    return "text"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--compare-rows", type=int, default=20_000)
    parser.add_argument("--skip-clean", action="store_true", help="only the readers (no champion needed)")
    args = parser.parse_args()

    results: dict[str, object] = {}
    big = workbook(args.rows)
    results["workbook"] = {"rows": args.rows, "bytes": big.stat().st_size}
    read = run_measured([PYTHON, "-c", READ_SHEET, str(ROOT), str(big)])
    results["read"] = {**json.loads(read.stdout.strip().splitlines()[-1]), "wall_seconds": round(read.wall_seconds, 1), "peak_mib": round(read.peak_rss_bytes / MIB)}
    if not args.skip_clean:
        ensure_home()
        reset_outputs()
        bucket, name = place_in_raw(big, "libro.xlsx")
        clean = run_measured([PYTHON, str(ROOT / "bench" / "perf_tasks.py"), "event", "clean", bucket, name], env=bench_env(HOME))
        if clean.returncode != 0:
            raise SystemExit(f"clean failed:\n{clean.stderr[-3000:]}")
        outcome = json.loads(clean.stdout.strip().splitlines()[-1])
        results["clean"] = {
            "status": outcome["result"].get("status"),
            "rows_in": outcome["result"].get("rows_in"),
            "handler_seconds": round(outcome["handler_seconds"], 1),
            "peak_mib": round(clean.peak_rss_bytes / MIB),
            "max_rss_mib": round(clean.max_rss_bytes / MIB),
        }
    small = workbook(args.compare_rows)
    for label, command in (
        ("read_compare", [PYTHON, "-c", READ_SHEET, str(ROOT), str(small)]),
        ("calamine_compare", [PYTHON, "-c", READ_CALAMINE, str(small)]),
    ):
        measured = run_measured(command)
        results[label] = {**json.loads(measured.stdout.strip().splitlines()[-1]), "peak_mib": round(measured.peak_rss_bytes / MIB)}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
