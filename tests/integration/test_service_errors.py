"""A service that is down or misconfigured: the error says which one, where it was expected, how to start it.

Each case runs the real CLI in a fresh process against a loopback port nobody listens on.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from shared.errors import ServiceUnavailableError
from shared.local.stack.local_stack import STATE_FILE, stack_folder
from shared.local.stack.processes import ServiceSpec, start_services
from tests.conftest import SyntheticFiles
from tests.conftest_services import closed_port_url
from tests.integration.helpers import cli_environment, run_cli

pytestmark = pytest.mark.integration


def failing(arguments: list[str], env: dict[str, str]) -> str:
    result = run_cli(arguments, env, check=False)
    assert result.returncode != 0, result.stdout
    return result.stderr


def test_mlflow_server_down(tmp_path: Path) -> None:
    url = closed_port_url()
    env = cli_environment(tmp_path / "home", {"DROPSCORE_MLFLOW_TRACKING_URI": url})

    stderr = failing(["models"], env)

    assert f"MLflow tracking server is not reachable at {url}" in stderr
    assert "dropscore serve" in stderr and "DROPSCORE_MLFLOW_TRACKING_URI" in stderr


def test_storage_emulator_down(tmp_path: Path, synthetic_files: SyntheticFiles) -> None:
    url = closed_port_url()
    env = cli_environment(tmp_path / "home", {"DROPSCORE_STORAGE": "gs://empresa", "STORAGE_EMULATOR_HOST": url, "GOOGLE_CLOUD_PROJECT": "p"})

    stderr = failing(["drop", str(synthetic_files.months[1])], env)

    assert f"Google Cloud Storage is not reachable at {url}" in stderr
    assert "dropscore serve" in stderr and "STORAGE_EMULATOR_HOST" in stderr


def test_s3_endpoint_down(tmp_path: Path, synthetic_files: SyntheticFiles) -> None:
    url = closed_port_url()
    env = cli_environment(
        tmp_path / "home",
        {
            "DROPSCORE_STORAGE": "s3://empresa",
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        },
    )

    stderr = failing(["drop", str(synthetic_files.months[1])], env)

    assert f"Amazon S3 is not reachable at {url}" in stderr
    assert "dropscore serve" in stderr and "AWS_ENDPOINT_URL" in stderr


def test_tick_without_a_running_stack(tmp_path: Path) -> None:
    home = tmp_path / "home"

    stderr = failing(["serve", "tick", "drift"], cli_environment(home, {}))

    assert "the local stack is not reachable at" in stderr and str(stack_folder(home) / STATE_FILE) in stderr
    assert "dropscore serve" in stderr


def test_tick_when_the_function_is_down(tmp_path: Path) -> None:
    home = tmp_path / "home"
    url = closed_port_url()
    state = {
        "home": str(home), "storage_uri": "gs://x", "areas": {}, "services": {}, "functions": {"drift": url, "retrain": url},
        "retrain_topic": "projects/p/topics/t", "client_environment": {}, "pids": {}, "logs": str(tmp_path),
        "dead_letter_dir": str(tmp_path / "dead"), "started_at": "2026-01-01T00:00:00+00:00",
    }  # fmt: skip
    stack_folder(home).mkdir(parents=True)
    (stack_folder(home) / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")

    stderr = failing(["serve", "tick", "drift"], cli_environment(home, {}))

    assert f"the drift function is not reachable at {url}" in stderr and "dropscore serve" in stderr


def test_a_server_that_cannot_start_is_named_with_its_address_and_log(tmp_path: Path) -> None:
    spec = ServiceSpec(
        key="broken",
        name="function broken (functions-framework)",
        build=lambda port: ([sys.executable, "-c", "import sys; print('ModuleNotFoundError: no module named x'); sys.exit(3)"], f"http://127.0.0.1:{port}"),
        probe_for=lambda url: lambda: False,
        env={},
        cwd=tmp_path,
        log_path=tmp_path / "broken.log",
        how_to_fix="Check that functions/broken/main.py imports cleanly.",
    )
    started: dict = {}

    with pytest.raises(ServiceUnavailableError) as caught:
        start_services([spec], started, timeout=60)

    message = str(caught.value)
    assert message.startswith("function broken (functions-framework) is not reachable at http://127.0.0.1:")
    assert "Check that functions/broken/main.py imports cleanly." in message
    assert "exited with code 3" in message and "no module named x" in message and str(tmp_path / "broken.log") in message
    assert not started["broken"].running()
