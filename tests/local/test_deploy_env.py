"""`dropscore env --from-terraform` (issue 14, item 8): a laptop talks to the deployment's buckets.

tests/infra/fixtures/terraform-outputs.json is `terraform output -json` of a deployment of
infra/ (project acme-dropscore-prod, prefix acme-dropscore), in Terraform's own JSON shape.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from shared.errors import TerraformOutputError
from shared.local import cli, deploy_env
from shared.settings import load_settings
from tests.infra.test_terraform import terraform

OUTPUTS = Path(__file__).resolve().parents[1] / "infra" / "fixtures" / "terraform-outputs.json"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_outputs_expose_the_environment_the_functions_run_with() -> None:
    outputs = terraform()["output"]
    assert outputs["dropscore_environment"]["value"] == "${local.function_environment}"
    assert outputs["project_id"]["value"] == "${var.project_id}"
    assert outputs["pii_key_secret"]["value"] == "${google_secret_manager_secret.pii_key.secret_id}"
    for name in ("area_uris", "warehouse_uri", "tracking_uri", "model_name", "region", "storage_uri"):
        assert name in outputs, f"outputs.tf has no {name}"
    # The fixture has every output outputs.tf declares (it is what `terraform output -json` gives).
    assert set(json.loads(OUTPUTS.read_text(encoding="utf-8"))) == set(outputs)


def test_sourced_env_file_points_the_laptop_at_the_deployment(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    env_file = tmp_path / "acme.env"
    code, out, _ = run_cli(capsys, "env", "--file", str(OUTPUTS), "--tracking-uri", "http://localhost:5000", "-o", str(env_file))
    assert code == 0 and "source" in out
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    text = env_file.read_text(encoding="utf-8")
    assert 'export DROPSCORE_PII_KEY="$(gcloud secrets versions access latest --secret=acme-dropscore-pii-key --project=acme-dropscore-prod)"' in text
    assert "DROPSCORE_RETRAIN_JOB" not in text

    # What a shell that sourced the file hands to dropscore (the secret command stubbed out).
    script = f'gcloud() {{ echo stub-pii-key; }}; source {env_file}; {sys.executable} -c "import json, os; print(json.dumps(dict(os.environ)))"'
    environment = json.loads(subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]}).stdout)
    settings = load_settings(environment)
    assert settings.area_uri("raw") == "gs://acme-dropscore-raw"
    assert settings.area_uri("reports") == "gs://acme-dropscore-reports"
    assert settings.warehouse_uri == "bigquery://acme-dropscore-prod/acme_dropscore"
    assert settings.tracking_uri == "http://localhost:5000"
    assert settings.model_name == "dropscore"
    assert settings.retrain_topic == "projects/acme-dropscore-prod/topics/acme-dropscore-retrain"
    assert settings.pii_key == "stub-pii-key"
    assert not settings.embedded
    assert environment["GOOGLE_CLOUD_PROJECT"] == "acme-dropscore-prod"


def test_from_terraform_runs_terraform_output_in_the_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stand-in `terraform` on PATH (no real binary here) records its arguments and prints the outputs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.txt"
    fake = bin_dir / "terraform"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\ncat {OUTPUTS}\n', encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    code, out, _ = run_cli(capsys, "env", "--from-terraform", "deploy/infra", "--json")

    assert code == 0
    assert calls.read_text().split() == ["-chdir=deploy/infra", "output", "-json"]
    result = json.loads(out)
    assert result["environment"]["DROPSCORE_BUCKET_CLEAN"] == "gs://acme-dropscore-clean"
    assert result["environment"]["DROPSCORE_MLFLOW_TRACKING_URI"].startswith("https://acme-dropscore-mlflow-")
    code, out, _ = run_cli(capsys, "env", "--from-terraform")
    assert calls.read_text().splitlines()[-1].split()[0] == "-chdir=infra"
    assert "export DROPSCORE_STORAGE=gs://acme-dropscore" in out.splitlines()


def test_outputs_of_something_else_are_refused_in_both_languages(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    other = tmp_path / "outputs.json"
    other.write_text(json.dumps({"vpc_id": {"sensitive": False, "type": "string", "value": "vpc-1"}}), encoding="utf-8")

    code, _, err = run_cli(capsys, "env", "--file", str(other))

    assert code == 2
    # the terminal speaks one language (Spanish by default); --json carries both
    assert "dropscore_environment" in err and "¿es el directorio" in err and "is this dropscore's" not in err
    assert "Traceback" not in err
    code, out, _ = run_cli(capsys, "env", "--file", str(other), "--json")
    assert code == 2 and "is this dropscore's" in json.loads(out)["message_en"]


def test_outputs_of_an_older_deployment_name_what_is_missing(tmp_path: Path) -> None:
    outputs = json.loads(OUTPUTS.read_text(encoding="utf-8"))
    del outputs["dropscore_environment"]["value"]["DROPSCORE_SHARD_BYTES"]
    with pytest.raises(TerraformOutputError, match="DROPSCORE_SHARD_BYTES"):
        deploy_env.deployment_environment(outputs)
