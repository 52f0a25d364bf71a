"""Servers started by the stack die with it, even when its owner is killed outright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared.local.stack.local_stack import pid_alive

ROOT = Path(__file__).resolve().parents[2]

OWNER = """
import os, sys, time
from pathlib import Path
from shared.local.stack.processes import start_process

folder = Path(sys.argv[1])
child = start_process(
    "sleeper", [sys.executable, "-c", "import time; time.sleep(120)"],
    env=dict(os.environ), cwd=folder, log_path=folder / "sleeper.log", url="",
)
print(child.popen.pid, flush=True)
time.sleep(120)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_started_server_dies_when_its_owner_is_killed(tmp_path: Path) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(tmp_path)], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    try:
        child = int(owner.stdout.readline())
        assert pid_alive(child)
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=10)
        deadline = time.monotonic() + 10
        while pid_alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not pid_alive(child), "the server outlived the stack that started it"
    finally:
        owner.kill()
        owner.wait(timeout=10)
