"""checkov over infra/: zero failed checks, and every skip names its check and says why.

checkov lives in .venv-infra (its pins conflict with the project's); `make test` creates it
through the `.venv-infra/.installed` rule, pinned by infra/requirements-checks.txt.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
INFRA_DIR = REPOSITORY_ROOT / "infra"
CHECKOV = REPOSITORY_ROOT / ".venv-infra" / "bin" / "checkov"

SKIP_COMMENT = re.compile(r"#\s*checkov:skip=([^\s:]+)(?::(.*))?")
CHECK_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")


def run_checkov() -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail(
            "checkov is not installed in .venv-infra: run `make .venv-infra/.installed` (make test does it)",
            pytrace=False,
        )
    result = subprocess.run(
        [str(CHECKOV), "-d", "infra", "--framework", "terraform", "-o", "json", "--skip-download", "--quiet"],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    # checkov exits 1 when a check fails; anything else unexpected shows up as unparsable output.
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"checkov printed no JSON (exit {result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    reports = report if isinstance(report, list) else [report]
    terraform_reports = [item for item in reports if item.get("check_type") == "terraform"]
    assert len(terraform_reports) == 1, (
        f"expected one terraform report, got {[item.get('check_type') for item in reports]}"
    )
    return terraform_reports[0]


def test_checkov_finds_no_failed_check() -> None:
    report = run_checkov()
    summary = report["summary"]
    print(
        f"checkov {summary.get('checkov_version')}: Passed checks: {summary['passed']}, "
        f"Failed checks: {summary['failed']}, Skipped checks: {summary['skipped']}"
    )
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']}:{check['file_line_range'][0]}) {check['check_name']}"
        for check in report["results"]["failed_checks"]
    ]

    assert summary["parsing_errors"] == 0, "checkov could not parse part of infra/"
    assert summary["passed"] > 0, "checkov scanned nothing"
    assert summary["failed"] == 0, "checkov failed checks:\n" + "\n".join(failed)


def test_every_skip_names_a_check_and_justifies_it() -> None:
    skips = []
    for path in sorted(INFRA_DIR.glob("*.tf")):
        for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = SKIP_COMMENT.search(line)
            if match:
                skips.append(
                    (f"infra/{path.name}:{line_number}", match.group(1), (match.group(2) or "").strip())
                )

    for location, check_id, justification in skips:
        assert CHECK_ID.match(check_id), (
            f"{location}: skip must name a check id like CKV_GCP_62, got {check_id!r}"
        )
        assert len(justification) >= 20, f"{location}: skip of {check_id} needs a justification"
