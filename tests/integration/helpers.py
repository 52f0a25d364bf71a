"""Helpers for the integration suite: run the CLI against a stack, reach its services with the vendors' clients."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from shared.local.stack.emulators import DUMMY_AWS_KEY, LOCAL_PROJECT, LOCAL_REGION
from shared.local.stack.function_servers import REPOSITORY_ROOT, base_environment
from shared.local.stack.local_stack import LocalStack

# Generous: a loaded two-core machine trains, cleans and scores slowly. Waits end as soon as
# the thing appears, so a fast machine never pays this.
WAIT_SECONDS = 240.0
CLI_TIMEOUT_SECONDS = 600.0

T = TypeVar("T")


def wait_for(produce: Callable[[], T | None], what: str, timeout: float = WAIT_SECONDS, on_timeout: Callable[[], str] | None = None) -> T:
    """Poll ``produce`` until it returns something other than None (or False)."""
    deadline = time.monotonic() + timeout
    while True:
        value = produce()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"\n{on_timeout()}" if on_timeout else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{extra}")
        time.sleep(0.5)


def dropscore_command() -> list[str]:
    script = Path(sys.executable).parent / "dropscore"
    return [str(script)] if script.exists() else [sys.executable, "-m", "shared.local.cli"]


def cli_environment(home: Path, client_environment: Mapping[str, str]) -> dict[str, str]:
    """A user's shell after ``source <stack>/env``: nothing else from the test process leaks in."""
    env = base_environment()
    env.update(client_environment)
    env["DROPSCORE_HOME"] = str(home)
    env["PYTHONPATH"] = str(REPOSITORY_ROOT)
    return env


def run_cli(arguments: list[str], env: Mapping[str, str], *, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*dropscore_command(), *arguments],
        env=dict(env),
        cwd=str(cwd or REPOSITORY_ROOT),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )
    if check:
        assert result.returncode == 0, f"dropscore {' '.join(arguments)} failed ({result.returncode}):\n{result.stderr[-4000:]}"
    return result


def cli_json(arguments: list[str], env: Mapping[str, str]) -> dict[str, Any]:
    result = run_cli([*arguments, "--json"], env)
    return json.loads(result.stdout)


def gcs_client(endpoint: str) -> Any:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(project=LOCAL_PROJECT, credentials=AnonymousCredentials(), client_options={"api_endpoint": endpoint})


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.session.Session(
        aws_access_key_id=DUMMY_AWS_KEY, aws_secret_access_key=DUMMY_AWS_KEY, region_name=LOCAL_REGION
    ).client("s3", endpoint_url=endpoint)


def logs_of(stack: LocalStack) -> str:
    """The last lines of every log of the stack, for failure messages."""
    parts = []
    for path in sorted(stack.logs.glob("*.log")):
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[-25:]
        parts.append(f"--- {path.name}\n" + "\n".join(lines))
    return "\n".join(parts)


def log_text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def live_process_groups(group_ids: set[int]) -> dict[int, list[int]]:
    """Process group id -> pids still running in it (zombies excluded), read from /proc."""
    found: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        state, group = fields[0], int(fields[2])
        if group in group_ids and state != "Z":
            found.setdefault(group, []).append(int(entry.name))
    return found


def wait_for_log_line(path: Path, *needles: str, timeout: float = 60.0) -> str:
    """The first line of the log at ``path`` that holds every needle, once it is there."""

    def find() -> str | None:
        return next((line for line in log_text(path).splitlines() if all(needle in line for needle in needles)), None)

    return wait_for(find, f"a line with {needles} in {path.name}", timeout=timeout, on_timeout=lambda: log_text(path)[-3000:])
