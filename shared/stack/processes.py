"""Child processes of the local stack: start on a free loopback port, wait until ready, stop for good.

Every child runs in its own session (process group), so stopping it signals the whole
group: servers that fork workers (gunicorn under functions-framework, uvicorn under
``mlflow server``) go down with their parent instead of lingering on a port. On Linux a
child also gets SIGTERM if the process that started it dies without cleaning up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from shared.errors import ServiceUnavailableError

LOOPBACK = "127.0.0.1"
STOP_GRACE_SECONDS = 10.0
# A loaded two-core laptop can take this long to import MLflow and start its server.
DEFAULT_START_TIMEOUT_SECONDS = 120.0
PORT_ATTEMPTS = 3
LOG_TAIL_LINES = 15
_PR_SET_PDEATHSIG = 1
# Probes talk to loopback only: a proxy from the user's environment must not sit in between.
_DIRECT_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_loopback_port() -> int:
    """A port nobody listens on right now (the OS picks it; a child binds it a moment later).

    Another program could take it in between; :func:`start_on_free_port` retries on a new
    port when a child exits because its address was in use.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def venv_executable(name: str) -> str:
    """A console script installed beside this interpreter (the project's virtualenv)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    raise ServiceUnavailableError(
        name,
        str(candidate),
        "Install the project's environment with `make install` and run dropscore from it.",
        detail="console script not found beside the Python interpreter",
    )


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # Best effort: if the stack's owner is killed (SIGKILL, a crashed test run), its children
    # must not keep ports and files busy. Only the direct child gets this; stop() handles groups.
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


@dataclass
class ManagedProcess:
    """One started child: what it is, where it logs, and how to stop it."""

    name: str
    command: list[str]
    log_path: Path
    url: str
    popen: subprocess.Popen[bytes]
    _log_file: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_until_ready(self, probe: Callable[[], bool], timeout: float, how_to_fix: str) -> None:
        """Poll ``probe`` until it answers True; fail with the log's tail if the child exits or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.running():
                raise ServiceUnavailableError(
                    self.name,
                    self.url,
                    how_to_fix,
                    detail=f"it exited with code {self.popen.returncode}; log {self.log_path}:\n{self.log_tail()}",
                )
            if probe():
                return
            if time.monotonic() > deadline:
                raise ServiceUnavailableError(
                    self.name,
                    self.url,
                    how_to_fix,
                    detail=f"not ready after {timeout:.0f} s; log {self.log_path}:\n{self.log_tail()}",
                )
            time.sleep(0.25)

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM the child's process group, then SIGKILL whatever is left after ``grace`` seconds."""
        try:
            if self.running():
                self._signal_group(signal.SIGTERM)
                try:
                    self.popen.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    pass
            # Workers of a server that exited may still be alive in its group.
            self._signal_group(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=grace)
        finally:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None

    def _signal_group(self, signum: int) -> None:
        # The child called setsid(), so its process group id is its pid.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signum)


def start_process(
    name: str,
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log_path: Path,
    url: str,
) -> ManagedProcess:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = open(log_path, "ab")  # noqa: SIM115 - the ManagedProcess closes it on stop()
    try:
        popen = subprocess.Popen(
            list(command),
            cwd=str(cwd),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
        )
    except OSError as exc:
        log_file.close()
        raise ServiceUnavailableError(
            name, url, "Install the project's environment with `make install`.", detail=f"cannot run {command[0]}: {exc}"
        ) from exc
    return ManagedProcess(name=name, command=list(command), log_path=log_path, url=url, popen=popen, _log_file=log_file)


def _address_in_use(process: ManagedProcess) -> bool:
    tail = process.log_tail(40).lower()
    return "address already in use" in tail or "errno 98" in tail


def start_on_free_port(
    name: str,
    build: Callable[[int], tuple[list[str], str]],
    probe_for: Callable[[str], Callable[[], bool]],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log_path: Path,
    timeout: float = DEFAULT_START_TIMEOUT_SECONDS,
    how_to_fix: str,
) -> ManagedProcess:
    """Start ``build(port)`` -> (command, url) on a free port and wait for ``probe_for(url)``.

    Retried on a fresh port when the chosen one was taken between choosing and binding.
    """
    for attempt in range(1, PORT_ATTEMPTS + 1):
        command, url = build(free_loopback_port())
        process = start_process(name, command, env=env, cwd=cwd, log_path=log_path, url=url)
        try:
            process.wait_until_ready(probe_for(url), timeout, how_to_fix)
            return process
        except ServiceUnavailableError:
            process.stop()
            if attempt < PORT_ATTEMPTS and _address_in_use(process):
                continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def http_probe(url: str, accept: Callable[[int], bool] = lambda status: status < 500) -> Callable[[], bool]:
    """A readiness probe: True once ``url`` answers with a status ``accept`` likes."""

    def probe() -> bool:
        try:
            with _DIRECT_OPENER.open(url, timeout=5) as response:
                return accept(response.status)
        except urllib.error.HTTPError as error:
            return accept(error.code)
        except (OSError, ValueError):
            return False

    return probe
