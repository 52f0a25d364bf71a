"""One functions-framework server per Cloud Function, started the way Cloud Functions starts it.

Each server runs from its own ``functions/<name>/`` folder with ``--source main.py`` and
the signature type the trigger needs, with ``shared`` importable beside it (PYTHONPATH
here, the zip's own ``shared/`` folder in a deploy) and only the environment the cloud
would set, so nothing from the developer's shell changes what the function does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from shared.errors import ServiceUnavailableError
from shared.local.stack.processes import LOOPBACK, ServiceSpec, http_probe, venv_executable

REPOSITORY_ROOT = Path(__file__).resolve().parents[3]

# name -> signature type: storage and Pub/Sub triggers deliver CloudEvents; Cloud Scheduler calls drift over plain HTTP.
SIGNATURE_TYPES: dict[str, str] = {"clean": "cloudevent", "score": "cloudevent", "drift": "http", "retrain": "cloudevent"}
# Event-driven functions get at most 540 s per event (infra/ sets the same ceiling).
FUNCTION_TIMEOUT_SECONDS = 540
# Variables passed from the caller's environment: the OS basics a Python process needs.
PASSTHROUGH_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "SYSTEMROOT")


def functions_folder(repo_root: Path = REPOSITORY_ROOT) -> Path:
    folder = repo_root / "functions"
    if not (folder / "clean" / "main.py").is_file():
        raise ServiceUnavailableError(
            "the functions' source folders",
            str(folder),
            "Run `dropscore serve` from a clone of the repository (installed with `make install`).",
        )
    return folder


def base_environment(source: Mapping[str, str] | None = None) -> dict[str, str]:
    """The bare environment a fresh Cloud Run instance has, plus the OS basics from ``source``."""
    source = os.environ if source is None else source
    env = {name: source[name] for name in PASSTHROUGH_VARIABLES if source.get(name)}
    env["PYTHONUNBUFFERED"] = "1"  # log lines reach the log file as they happen
    return env


def function_environment(name: str, stack_environment: Mapping[str, str], repo_root: Path = REPOSITORY_ROOT) -> dict[str, str]:
    env = base_environment()
    env.update(stack_environment)
    env.update(
        {
            # What Cloud Run functions set for the framework.
            "K_SERVICE": name,
            "FUNCTION_TARGET": name,
            "FUNCTION_SIGNATURE_TYPE": SIGNATURE_TYPES[name],
            # infra/ deploys every function with max_instance_request_concurrency = 1.
            "WORKERS": "1",
            "THREADS": "1",
            "CLOUD_RUN_TIMEOUT_SECONDS": str(FUNCTION_TIMEOUT_SECONDS),
            # A deploy has shared/ beside main.py; here it is the repository's.
            "PYTHONPATH": str(repo_root),
        }
    )
    return env


def function_key(name: str) -> str:
    return f"function {name}"


def function_server_spec(
    name: str, stack_environment: Mapping[str, str], log_path: Path, *, repo_root: Path = REPOSITORY_ROOT
) -> ServiceSpec:
    source_folder = functions_folder(repo_root) / name
    executable = venv_executable("functions-framework")
    signature_type = SIGNATURE_TYPES[name]

    def build(port: int) -> tuple[list[str], str]:
        command = [
            executable,
            "--target", name,
            "--source", "main.py",
            "--signature-type", signature_type,
            "--host", LOOPBACK,
            "--port", str(port),
        ]  # fmt: skip
        return command, f"http://{LOOPBACK}:{port}"

    return ServiceSpec(
        key=function_key(name),
        name=f"function {name} (functions-framework)",
        build=build,
        # functions-framework answers /robots.txt itself (404, or 405 for event functions, which
        # take POST only): the server is up and main.py imported, and nothing ran, where a GET on
        # / would run an HTTP function.
        probe_for=lambda url: http_probe(f"{url}/robots.txt", lambda status: status in (404, 405)),
        env=function_environment(name, stack_environment, repo_root),
        cwd=source_folder,
        log_path=log_path,
        how_to_fix=f"Check that functions/{name}/main.py imports cleanly; functions-framework ships with `make install`.",
    )
