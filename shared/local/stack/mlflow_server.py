"""An MLflow tracking server on loopback, shaped like the Cloud Run one.

sqlite backend, ``--serve-artifacts`` with a local artifact folder: clients (the CLI, the
functions) log and download artifacts through the server's ``mlflow-artifacts`` proxy and
never touch the artifact store directly, as on Cloud Run where only the server holds the
bucket's credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from shared.local.stack.processes import LOOPBACK, ServiceSpec, http_probe, venv_executable

# "Server down" must fail in seconds, not after MLflow's default four minutes of retries.
# Given to every process that talks to the local server (functions, CLI via the env file).
CLIENT_ENVIRONMENT = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "120",
}


def server_environment(base: Mapping[str, str]) -> dict[str, str]:
    env = dict(base)
    # MLflow 3 starts a job runner and a dozen queue consumers by default (for GenAI jobs we do
    # not use): seconds of start-up and a gigabyte of memory on a small machine.
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    return env


def mlflow_server_spec(state_dir: Path, log_path: Path, env: Mapping[str, str]) -> ServiceSpec:
    state_dir.mkdir(parents=True, exist_ok=True)
    artifacts = state_dir / "mlartifacts"
    artifacts.mkdir(exist_ok=True)
    backend = f"sqlite:///{state_dir / 'mlflow.db'}"
    executable = venv_executable("mlflow")

    def build(port: int) -> tuple[list[str], str]:
        command = [
            executable, "server",
            "--backend-store-uri", backend,
            "--serve-artifacts",
            "--artifacts-destination", str(artifacts),
            "--host", LOOPBACK,
            "--port", str(port),
            "--workers", "1",
        ]  # fmt: skip
        return command, f"http://{LOOPBACK}:{port}"

    return ServiceSpec(
        key="mlflow",
        name="MLflow tracking server",
        build=build,
        probe_for=lambda url: http_probe(f"{url}/health", lambda status: status == 200),
        env=server_environment(env),
        cwd=state_dir,
        log_path=log_path,
        how_to_fix="mlflow ships with the runtime dependencies: `make install`.",
    )
