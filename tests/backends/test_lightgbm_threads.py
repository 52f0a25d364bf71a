"""How many threads LightGBM gets where a step has its process to itself (the score function):
the CPUs it may use, its cgroup's quota counted (a Cloud Function may see a host's cores with one
vCPU of quota), never more than two."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.backends import lightgbm_runtime
from shared.backends.lightgbm_runtime import (
    MAX_STEP_THREADS,
    cgroup_cpu_quota,
    threads_for_one_step,
    usable_cpus,
)


def _cgroup(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "quota"),
    [
        ({"cpu.max": "max 100000\n"}, None),  # v2, no quota
        ({"cpu.max": "100000 100000\n"}, 1),
        ({"cpu.max": "150000 100000\n"}, 1),  # 1.5 CPUs: one whole
        ({"cpu.max": "50000 100000\n"}, 1),  # half a CPU still runs one thread
        ({"cpu.max": "400000 100000\n"}, 4),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),  # v1, no quota
        ({"cpu/cpu.cfs_quota_us": "200000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 2),
        ({"cpu.max": "garbage\n"}, None),
        ({"cpu.max": "max\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "200000\n"}, None),  # no period: nothing to divide by
        ({"cpu.max": "100000 0\n"}, None),
        ({}, None),  # not mounted
    ],
)
def test_the_cgroup_quota_is_read_as_whole_cpus(tmp_path: Path, files: dict[str, str], quota: int | None) -> None:
    assert cgroup_cpu_quota(_cgroup(tmp_path, files)) == quota


def test_the_quota_lowers_the_cpus_the_affinity_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lightgbm_runtime.os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3}, raising=False)
    assert usable_cpus(_cgroup(tmp_path / "none", {})) == 4
    assert usable_cpus(_cgroup(tmp_path / "one", {"cpu.max": "100000 100000"})) == 1
    assert usable_cpus(_cgroup(tmp_path / "eight", {"cpu.max": "800000 100000"})) == 4


def test_a_step_takes_at_most_two_threads_and_at_least_one(monkeypatch: pytest.MonkeyPatch) -> None:
    for cpus, threads in [(1, 1), (2, 2), (16, MAX_STEP_THREADS)]:
        threads_for_one_step.cache_clear()
        monkeypatch.setattr(lightgbm_runtime, "usable_cpus", lambda cpus=cpus: cpus)
        assert threads_for_one_step() == threads
    threads_for_one_step.cache_clear()
