"""Smoke test of a deployed dropscore: drop a tiny CSV in the raw bucket, wait for its predictions.

    python infra/smoke_test.py --outputs tf-outputs.json --csv gs://BUCKET/sample.csv [--rows 5]

--outputs is `terraform output -json` (bucket names come from it); --csv is a CSV that matches
the deployed model's contract (a local path or a gs:// URI), of which only the header and the
first --rows rows are sent. The file lands as incoming/smoke/<run id>.csv, so the predictions
are expected at predictions/smoke/<run id>.csv.predictions.csv (shared/delivery/locations.py). A file-level
report in the quarantine bucket means the file was rejected as a whole: that fails at once.

Exit status: 0 when predictions with a score column and at least one row appear in time.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

POLL_SECONDS = 10


def read_head(csv_source: str, rows: int) -> bytes:
    """The header and first `rows` data rows of a local or gs:// CSV, as bytes."""
    if csv_source.startswith("gs://"):
        from google.cloud import storage

        bucket_name, _, key = csv_source[len("gs://") :].partition("/")
        text = storage.Client().bucket(bucket_name).blob(key).download_as_bytes().decode("utf-8-sig")
    else:
        text = Path(csv_source).read_text(encoding="utf-8-sig")
    lines = text.splitlines(keepends=True)
    if len(lines) < 2:
        raise SystemExit(f"{csv_source} has no data rows")
    return "".join(lines[: rows + 1]).encode("utf-8")


def output_value(outputs: dict, name: str) -> str:
    if name not in outputs:
        raise SystemExit(f"terraform output {name!r} missing from the outputs file")
    return outputs[name]["value"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", type=Path, required=True, help="file holding `terraform output -json`")
    parser.add_argument(
        "--csv", required=True, help="CSV matching the model's contract: local path or gs:// URI"
    )
    parser.add_argument("--rows", type=int, default=5, help="data rows to send (default 5)")
    parser.add_argument(
        "--timeout", type=float, default=900, help="seconds to wait for predictions (default 900)"
    )
    arguments = parser.parse_args(argv)

    from google.cloud import storage

    outputs = json.loads(arguments.outputs.read_text(encoding="utf-8"))
    buckets = output_value(outputs, "bucket_names")
    client = storage.Client()

    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    raw_key = f"incoming/smoke/{run_id}.csv"
    predictions_key = f"smoke/{run_id}.csv.predictions.csv"
    report_key = f"incoming/smoke/{run_id}.csv.report.json"

    client.bucket(buckets["raw"]).blob(raw_key).upload_from_string(
        read_head(arguments.csv, arguments.rows), content_type="text/csv"
    )
    print(
        f"uploaded gs://{buckets['raw']}/{raw_key}; waiting for gs://{buckets['predictions']}/{predictions_key}"
    )

    deadline = time.monotonic() + arguments.timeout
    predictions_blob = client.bucket(buckets["predictions"]).blob(predictions_key)
    report_blob = client.bucket(buckets["quarantine"]).blob(report_key)
    while time.monotonic() < deadline:
        if predictions_blob.exists():
            text = predictions_blob.download_as_bytes().decode("utf-8-sig")
            table = list(csv.DictReader(io.StringIO(text)))
            if not table or "score" not in table[0]:
                print(f"predictions file has no rows or no score column:\n{text[:2000]}", file=sys.stderr)
                return 1
            print(
                f"smoke test passed: {len(table)} scored rows in gs://{buckets['predictions']}/{predictions_key}"
            )
            return 0
        if report_blob.exists():
            print(
                f"the file was rejected as a whole; report gs://{buckets['quarantine']}/{report_key}:\n"
                + report_blob.download_as_bytes().decode("utf-8")[:4000],
                file=sys.stderr,
            )
            return 1
        time.sleep(POLL_SECONDS)

    print(
        f"no predictions after {arguments.timeout:.0f} s: check the clean and score function logs",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
