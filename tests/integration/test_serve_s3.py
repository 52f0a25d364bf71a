"""`dropscore serve` itself, on the S3 fallback: moto in server mode, boto3 over HTTP, Ctrl-C stops it all.

The stack runs as a user runs it: the CLI in its own process, printing the table; the test
uploads with boto3 and waits for the predictions, then presses Ctrl-C (SIGINT) and checks
that every process the stack started is gone.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.local.stack.function_servers import REPOSITORY_ROOT, base_environment
from shared.local.stack.local_stack import StackState, stack_folder
from tests.conftest import MONTH_ROWS, SyntheticFiles
from tests.integration.helpers import (
    WAIT_SECONDS,
    cli_environment,
    cli_json,
    dropscore_command,
    live_process_groups,
    s3_client,
    wait_for,
)

pytestmark = pytest.mark.integration

BUCKET = "dropscore-it"
PREFIX = "empresa"


@dataclass
class ServeProcess:
    popen: subprocess.Popen[str]
    output_path: Path
    home: Path
    state: StackState

    def output(self) -> str:
        return self.output_path.read_text(encoding="utf-8", errors="replace")


def _stop(popen: subprocess.Popen[str]) -> int | None:
    if popen.poll() is None:
        popen.send_signal(signal.SIGINT)
        try:
            return popen.wait(timeout=120)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=30)
    return popen.returncode


SERVE_PII_KEY = "serve-test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    home = tmp_path_factory.mktemp("serve-s3") / "home"
    env = base_environment()
    env.update({"DROPSCORE_HOME": str(home), "DROPSCORE_STORAGE": f"s3://{BUCKET}/{PREFIX}", "DROPSCORE_LANG": "en", "PYTHONPATH": str(REPOSITORY_ROOT)})
    env["DROPSCORE_PII_KEY"] = SERVE_PII_KEY
    output_path = home.parent / "serve.out"
    with open(output_path, "w", encoding="utf-8") as output:
        popen = subprocess.Popen([*dropscore_command(), "serve"], env=env, cwd=str(home.parent), stdout=output, stderr=subprocess.STDOUT, text=True)
    state: StackState | None = None
    try:
        wait_for(
            lambda: popen.poll() is not None or "Ctrl-C" in output_path.read_text(encoding="utf-8"),
            "`dropscore serve` to print its table",
            timeout=WAIT_SECONDS,
            on_timeout=lambda: output_path.read_text(encoding="utf-8"),
        )
        assert popen.poll() is None, output_path.read_text(encoding="utf-8")
        state = StackState.read(home)
        yield ServeProcess(popen, output_path, home, state)
    finally:
        _stop(popen)
        if state is not None:
            # Every child leads its own process group. A leak is reported by the last test; never leave it running.
            for group in live_process_groups(set(state.pids.values())):
                os.killpg(group, signal.SIGKILL)


def test_serve_prints_what_runs_where(serve: ServeProcess) -> None:
    output = serve.output()

    assert "moto S3 server" in output and "MLflow tracking server" in output
    for name, url in serve.state.functions.items():
        assert f"function {name}" in output and url in output
    assert f"s3://{BUCKET}/{PREFIX}/raw" in output
    assert serve.state.storage_uri == f"s3://{BUCKET}/{PREFIX}"
    env_file = stack_folder(serve.home) / "env"
    exports = env_file.read_text()
    assert exports.count("export ") >= 5
    # Another shell that sources it talks to the same MLflow (ours and MLflow's own variable) and
    # hashes personal data with the key the functions run with; so only its owner may read it.
    assert f"export MLFLOW_TRACKING_URI={serve.state.client_environment['DROPSCORE_MLFLOW_TRACKING_URI']}" in exports
    assert f"export DROPSCORE_PII_KEY={SERVE_PII_KEY}" in exports
    assert env_file.stat().st_mode & 0o777 == 0o600
    assert SERVE_PII_KEY not in (stack_folder(serve.home) / "stack.json").read_text()


def test_csv_uploaded_with_boto3_comes_back_scored(serve: ServeProcess, synthetic_files: SyntheticFiles) -> None:
    env = cli_environment(serve.home, serve.state.client_environment)
    trained = cli_json(["train", str(synthetic_files.training), "--contract", str(synthetic_files.contract)], env)
    assert trained["promoted"], trained
    s3 = s3_client(serve.state.services["storage"])

    s3.upload_file(str(synthetic_files.months[2]), BUCKET, f"{PREFIX}/raw/incoming/mes_2.csv")

    key = f"{PREFIX}/predictions/mes_2.csv.predictions.csv"

    def predictions() -> bytes | None:
        listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=key).get("Contents", [])
        return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() if listed else None

    body = wait_for(predictions, f"s3://{BUCKET}/{key}", on_timeout=serve.output)
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/clean/manifests/incoming/mes_2.csv.json")["Body"].read())
    assert manifest["rows_in"] == MONTH_ROWS and len(rows) == manifest["rows_clean"] > 0
    assert {row["model_version"] for row in rows} == {str(trained["model_version"])}
    line = f"s3://{BUCKET}/{PREFIX}/raw/incoming/mes_2.csv -> clean: 200"
    wait_for(lambda: line in serve.output(), line, timeout=60)  # echoed from the router's log by `serve`


def test_ctrl_c_stops_everything(serve: ServeProcess) -> None:
    pids = serve.state.pids

    returncode = _stop(serve.popen)

    assert returncode == 0, serve.output()[-3000:]
    assert "Everything stopped." in serve.output()
    # Every child led its own process group (servers with workers included): all must be empty.
    assert live_process_groups(set(pids.values())) == {}
    assert not (stack_folder(serve.home) / "stack.json").exists()
