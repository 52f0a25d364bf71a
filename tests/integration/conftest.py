"""The local stack, started once for the whole integration session and stopped at its end, pass or fail.

Tests reach it only from outside, as a user would: the vendors' clients against the
emulator, the CLI in a subprocess, HTTP to the function servers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shared.local.event_router import RetryPolicy
from shared.local.stack.local_stack import LocalStack, StackOptions
from tests.conftest import SyntheticFiles
from tests.integration.helpers import cli_environment, cli_json

# Short enough that the dead-letter test ends quickly; nothing in a healthy run is retried.
TEST_RETRY = RetryPolicy(max_seconds=6.0, initial_backoff_seconds=0.5, max_backoff_seconds=2.0)
MAX_EVENT_AGE_SECONDS = 3600.0


@dataclass(frozen=True)
class Champion:
    version: str
    result: dict[str, Any]


@pytest.fixture(scope="session")
def gcs_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    home = tmp_path_factory.mktemp("stack-gcs") / "home"
    stack = LocalStack(
        StackOptions(home=home, storage="gs", retry=TEST_RETRY, max_event_age_seconds=MAX_EVENT_AGE_SECONDS)
    )
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def gcs_cli_env(gcs_stack: LocalStack) -> dict[str, str]:
    return cli_environment(gcs_stack.options.home, gcs_stack.client_environment)


@pytest.fixture(scope="session")
def gcs_champion(gcs_stack: LocalStack, gcs_cli_env: dict[str, str], synthetic_files: SyntheticFiles) -> Champion:
    """`dropscore train` in a subprocess, through the MLflow server over HTTP."""
    result = cli_json(["train", str(synthetic_files.training), "--contract", str(synthetic_files.contract)], gcs_cli_env)
    assert result["promoted"], result
    return Champion(str(result["model_version"]), result)


@pytest.fixture(scope="session")
def repository_root() -> Path:
    return Path(__file__).resolve().parents[2]
