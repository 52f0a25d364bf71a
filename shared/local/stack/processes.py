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


# If the stack's owner is killed (SIGKILL, a crashed test run), its children must not keep ports
# and files busy: each child asks the kernel for SIGTERM when its parent dies (PR_SET_PDEATHSIG,
# kept across exec). A short launcher does it, then execs the server. Not a preexec_fn: Python code
# between fork and exec is unsafe in a process with threads (the stack's gRPC Pub/Sub server has
# some), and a preexec_fn forces fork(), which runs gRPC's fork handlers in the child; they aborted
# a freshly forked function server now and then ("epoll_wait error: Bad file descriptor"). Without
# it, subprocess can use vfork, which runs none. Only the direct child gets this; stop() handles groups.
_DIE_WITH_PARENT_LAUNCHER = f"""
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl({_PR_SET_PDEATHSIG}, signal.SIGTERM, 0, 0, 0)
except Exception:
    pass  # best effort, as the parent-death signal always was
if os.getppid() != int(sys.argv[1]):
    sys.exit(0)  # the parent died before the signal was set: nobody will stop this server
os.execvp(sys.argv[2], sys.argv[2:])
"""


def _dying_with_parent(command: Sequence[str]) -> list[str]:
    if not sys.platform.startswith("linux"):
        return list(command)
    return [sys.executable, "-c", _DIE_WITH_PARENT_LAUNCHER, str(os.getpid()), *command]


class _NotReadyYet(Exception):
    """Still starting (a one-shot readiness check)."""


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

    def wait_until_ready(self, probe: Callable[[], bool], timeout: float, how_to_fix: str, *, poll: bool = True) -> None:
        """Poll ``probe`` until it answers True; fail with the log's tail if the child exits or time runs out.

        With ``poll=False`` look once and raise :class:`_NotReadyYet` if it is still starting.
        """
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
                    detail=f"not ready in time; log {self.log_path}:\n{self.log_tail()}",
                )
            if not poll:
                raise _NotReadyYet
            time.sleep(0.25)

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM the child's process group, then SIGKILL whatever is left after ``grace`` seconds."""
        stop_all([self], grace)

    def _signal_group(self, signum: int) -> None:
        # The child called setsid(), so its process group id is its pid.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signum)


def stop_all(processes: Sequence[ManagedProcess], grace: float = STOP_GRACE_SECONDS) -> None:
    """Stop several children at once: one grace period for all, not one each."""
    try:
        for process in processes:
            if process.running():
                process._signal_group(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
        # Whatever is left, and workers of a server that exited, may still be alive in its group.
        for process in processes:
            process._signal_group(signal.SIGKILL)
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=grace)
    finally:
        for process in processes:
            if process._log_file is not None:
                process._log_file.close()
                process._log_file = None


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
            _dying_with_parent(command),
            cwd=str(cwd),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
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


@dataclass(frozen=True)
class ServiceSpec:
    """How to start one server: ``build(port)`` gives (command, url); ``probe_for(url)`` says when it is ready."""

    key: str
    name: str
    build: Callable[[int], tuple[list[str], str]]
    probe_for: Callable[[str], Callable[[], bool]]
    env: Mapping[str, str]
    cwd: Path
    log_path: Path
    how_to_fix: str


def start_services(
    specs: Sequence[ServiceSpec],
    started: dict[str, ManagedProcess],
    *,
    timeout: float = DEFAULT_START_TIMEOUT_SECONDS,
) -> None:
    """Start every server on a free port, side by side, and wait until all are ready.

    All children are started from the calling thread: on Linux the parent-death signal
    follows the thread that forked, and a helper thread ending would take its children
    down. Each child goes into ``started`` the moment it exists, so a caller that catches
    the error (or Ctrl-C) can stop everything. A child that lost its port to another
    program between choosing and binding is restarted on a new one.
    """

    def launch(spec: ServiceSpec) -> tuple[ManagedProcess, Callable[[], bool], float]:
        command, url = spec.build(free_loopback_port())
        process = start_process(spec.name, command, env=spec.env, cwd=spec.cwd, log_path=spec.log_path, url=url)
        started[spec.key] = process
        return process, spec.probe_for(url), time.monotonic() + timeout

    pending = {spec.key: (spec, *launch(spec), 1) for spec in specs}
    while pending:
        for key, (spec, process, probe, deadline, attempt) in list(pending.items()):
            try:
                process.wait_until_ready(probe, timeout=max(0.0, deadline - time.monotonic()), how_to_fix=spec.how_to_fix, poll=False)
            except _NotReadyYet:
                continue
            except ServiceUnavailableError:
                process.stop()
                if attempt < PORT_ATTEMPTS and _address_in_use(process):
                    pending[key] = (spec, *launch(spec), attempt + 1)
                    continue
                raise
            del pending[key]
        if pending:
            time.sleep(0.25)


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
