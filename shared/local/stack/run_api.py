"""The local stand-in for the Cloud Run Admin API's ``jobs.run``: executions as processes.

In the cloud, the retrain function starts the Cloud Run job ``<prefix>-retrain`` with
``POST https://run.googleapis.com/v2/projects/P/locations/R/jobs/J:run`` and a container
environment override carrying the request (shared/steps/retrain.py). ``dropscore serve`` points
``DROPSCORE_RETRAIN_JOB`` at this server instead, which the event router hosts: the same
request starts the job's command (``python -m shared.steps.retrain``) as a process with the stack's
environment plus the overrides, and the variables Cloud Run sets in a job task
(``CLOUD_RUN_JOB``, ``CLOUD_RUN_EXECUTION``, ``CLOUD_RUN_TASK_INDEX``, ``CLOUD_RUN_TASK_ATTEMPT``).
A task that exits non-zero is retried up to ``max_retries`` times in the same execution, as
Cloud Run does. Each execution logs to ``<log_dir>/job-<execution>.log``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from shared.local.stack.processes import _dying_with_parent

logger = logging.getLogger("dropscore.run_api")

RUN_PATH = re.compile(r"^/v2/(projects/[^/]+/locations/[^/]+/jobs/([^/:]+)):run$")


@dataclass(frozen=True)
class LocalJob:
    """A job the local API can run: its command and how often a failed task is retried."""

    command: list[str]
    max_retries: int = 1


@dataclass
class RunApiConfig:
    port: int
    log_dir: Path
    jobs: dict[str, LocalJob] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "log_dir": str(self.log_dir),
            "jobs": {name: {"command": job.command, "max_retries": job.max_retries} for name, job in self.jobs.items()},
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunApiConfig:
        return cls(
            port=int(raw["port"]),
            log_dir=Path(raw["log_dir"]),
            jobs={name: LocalJob(list(job["command"]), int(job.get("max_retries", 1))) for name, job in raw.get("jobs", {}).items()},
        )


def job_url(port: int, job_name: str, *, project: str = "local", location: str = "local") -> str:
    """What DROPSCORE_RETRAIN_JOB holds locally: the job's resource URL on this server."""
    return f"http://127.0.0.1:{port}/v2/projects/{project}/locations/{location}/jobs/{job_name}"


def override_environment(body: dict[str, Any]) -> dict[str, str]:
    """The env overrides of a RunJobRequest (overrides.containerOverrides[].env[])."""
    env: dict[str, str] = {}
    for container in (body.get("overrides") or {}).get("containerOverrides") or []:
        for variable in container.get("env") or []:
            env[str(variable["name"])] = str(variable.get("value", ""))
    return env


class LocalRunApi:
    """A loopback HTTP server answering ``jobs:run`` by starting the job's command."""

    def __init__(self, config: RunApiConfig, environment: dict[str, str] | None = None) -> None:
        self.config = config
        self.environment = dict(os.environ if environment is None else environment)
        self.executions: list[threading.Thread] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                match = RUN_PATH.match(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._answer(400, {"error": {"code": 400, "message": "body is not JSON"}})
                    return
                if match is None or match.group(2) not in api.config.jobs:
                    self._answer(404, {"error": {"code": 404, "message": f"no job at {self.path}"}})
                    return
                operation = api.start(match.group(1), match.group(2), override_environment(body))
                self._answer(200, operation)

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
                logger.debug("run api: " + format, *args)

        self.server = ThreadingHTTPServer(("127.0.0.1", config.port), Handler)
        self._thread = threading.Thread(target=self.server.serve_forever, name="run-api", daemon=True)

    def start_serving(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def start(self, job_resource: str, job_name: str, overrides: dict[str, str]) -> dict[str, Any]:
        """Start one execution in the background; answer like the API (a long-running operation)."""
        execution_id = f"{job_name}-{datetime.now(UTC):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:5]}"
        execution = f"{job_resource.rsplit('/jobs/', 1)[0]}/jobs/{job_name}/executions/{execution_id}"
        thread = threading.Thread(
            target=self._execute, args=(job_name, execution_id, overrides), name=f"execution-{execution_id}", daemon=True
        )
        thread.start()
        self.executions.append(thread)
        logger.info("started execution %s of job %s", execution_id, job_name)
        return {
            "name": f"{job_resource.rsplit('/jobs/', 1)[0]}/operations/{uuid.uuid4()}",
            "metadata": {"@type": "type.googleapis.com/google.cloud.run.v2.Execution", "name": execution},
        }

    def _execute(self, job_name: str, execution_id: str, overrides: dict[str, str]) -> None:
        job = self.config.jobs[job_name]
        log_path = self.config.log_dir / f"job-{execution_id}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(job.max_retries + 1):
            env = {
                **self.environment,
                **overrides,
                "CLOUD_RUN_JOB": job_name,
                "CLOUD_RUN_EXECUTION": execution_id,
                "CLOUD_RUN_TASK_INDEX": "0",
                "CLOUD_RUN_TASK_COUNT": "1",
                "CLOUD_RUN_TASK_ATTEMPT": str(attempt),
            }
            with open(log_path, "ab") as log_file:
                returncode = subprocess.call(
                    _dying_with_parent(job.command), env=env, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT
                )
            logger.info("execution %s attempt %d of job %s exited %d", execution_id, attempt, job_name, returncode)
            if returncode == 0:
                return
        logger.error("execution %s of job %s failed after %d attempt(s); log: %s", execution_id, job_name, job.max_retries + 1, log_path)
