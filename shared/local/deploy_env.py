"""`dropscore env --from-terraform [DIR]`: a laptop gets the deployment's settings from Terraform.

The functions receive their DROPSCORE_* variables from Terraform (infra/main.tf,
``local.function_environment``), which also publishes them as the output
``dropscore_environment``. This command reads ``terraform output -json`` (run in DIR, default
``infra``; or a saved copy given with ``--file``) and prints ``export NAME=value`` lines, or
writes them to an env file with ``-o``, so that `dropscore train`, `drop`, `models` ... on a
laptop use the same buckets, warehouse, registered model and topics as the cloud. Without them
the first training would keep the archived training file, the clean training data, the reports
and the model events on the laptop, and the first cloud retrain would find no training data.

Secrets are never in Terraform outputs. The PII key is written as a command that reads it from
Secret Manager when the file is sourced (``$(gcloud secrets versions access ...)``), so the env
file holds no secret and the laptop hashes identifiers exactly as the functions do.

MLflow accepts internal traffic only: from a laptop it is reached through
``gcloud run services proxy`` (docs/deploy.md), whose local URL ``--tracking-uri`` puts in place
of the service's own.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from shared.errors import TerraformOutputError
from shared.i18n import both, message
from shared.settings import EMBEDDED_ONLY_VARIABLES, ENVIRONMENT_VARIABLES, Settings

ENVIRONMENT_OUTPUT = "dropscore_environment"
# Read from Secret Manager by the functions; never a Terraform output.
SECRET_VARIABLES = {"DROPSCORE_PII_KEY", "DROPSCORE_ALERT_WEBHOOK"}
# Only the retrain function starts the job; a laptop's `dropscore retrain` trains itself. A person at a
# laptop acts as themselves in the model log, not as the functions.
CLOUD_ONLY_VARIABLES = {"DROPSCORE_RETRAIN_JOB", "DROPSCORE_ACTOR"}


def _value(outputs: Mapping[str, Any], name: str) -> Any:
    entry = outputs.get(name)
    if isinstance(entry, Mapping) and "value" in entry:
        return entry["value"]
    return None


def read_terraform_outputs(directory: Path, runner: Callable[..., Any] = subprocess.run) -> dict[str, Any]:
    """``terraform output -json`` in ``directory``: the state of the deployment, read-only."""
    if shutil.which("terraform") is None:
        raise TerraformOutputError(*both("cli_terraform_not_found"))
    completed = runner(
        ["terraform", f"-chdir={directory}", "output", "-json"], capture_output=True, text=True, check=False, timeout=120
    )
    if completed.returncode != 0:
        raise TerraformOutputError(*both("cli_terraform_output_failed", directory=directory, detail=completed.stderr.strip()[:800]))
    return json.loads(completed.stdout or "{}")


def load_outputs(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TerraformOutputError(*both("cli_terraform_outputs_missing_file", path=path)) from exc
    except ValueError as exc:
        raise TerraformOutputError(*both("cli_terraform_outputs_not_json", path=path, detail=exc)) from exc


def deployment_environment(outputs: Mapping[str, Any], *, tracking_uri: str | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """(plain variables, secret variables as shell commands) for a laptop from Terraform's outputs."""
    environment = _value(outputs, ENVIRONMENT_OUTPUT)
    if not isinstance(environment, Mapping) or not environment:
        raise TerraformOutputError(*both("cli_terraform_no_environment", output=ENVIRONMENT_OUTPUT))
    plain = {str(name): str(value) for name, value in environment.items() if name not in CLOUD_ONLY_VARIABLES}
    expected = set(ENVIRONMENT_VARIABLES) - set(EMBEDDED_ONLY_VARIABLES) - SECRET_VARIABLES - CLOUD_ONLY_VARIABLES
    missing = sorted(expected - set(plain))
    if missing:
        raise TerraformOutputError(*both("cli_terraform_missing_variables", output=ENVIRONMENT_OUTPUT, variables=", ".join(missing)))
    if tracking_uri:
        plain["DROPSCORE_MLFLOW_TRACKING_URI"] = tracking_uri
    project = _value(outputs, "project_id")
    if project:
        # google-cloud-storage, BigQuery and Pub/Sub clients pick the project from here.
        plain["GOOGLE_CLOUD_PROJECT"] = str(project)
    secrets: dict[str, str] = {}
    pii_secret = _value(outputs, "pii_key_secret")
    if pii_secret:
        secrets["DROPSCORE_PII_KEY"] = f"gcloud secrets versions access latest --secret={shlex.quote(str(pii_secret))}"
        if project:
            secrets["DROPSCORE_PII_KEY"] += f" --project={shlex.quote(str(project))}"
    return plain, secrets


def render_env_file(plain: Mapping[str, str], secrets: Mapping[str, str]) -> str:
    lines = ["# dropscore deployment settings, from `terraform output -json` (dropscore env --from-terraform)."]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in sorted(plain.items())]
    if secrets:
        lines.append("# Read from Secret Manager when this file is sourced: the file itself holds no secret.")
        lines += [f'export {name}="$({command})"' for name, command in sorted(secrets.items())]
    return "\n".join(lines) + "\n"


def cmd_env(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    if args.file:
        outputs = load_outputs(Path(args.file))
        source = str(args.file)
    elif args.from_terraform is not None:
        directory = Path(args.from_terraform)
        outputs = read_terraform_outputs(directory)
        source = f"terraform -chdir={directory} output -json"
    else:
        raise TerraformOutputError(*both("cli_env_source_needed"))
    plain, secrets = deployment_environment(outputs, tracking_uri=args.tracking_uri)
    text = render_env_file(plain, secrets)
    env_file = None
    if args.output:
        env_file = Path(args.output)
        env_file.parent.mkdir(parents=True, exist_ok=True)
        env_file.write_text(text, encoding="utf-8")
        os.chmod(env_file, 0o600)  # names of buckets and a project: nobody else's business
    if not args.json:
        if env_file is None:
            print(text, end="")
        else:
            print(message("cli_env_written", settings.language, path=env_file, count=len(plain)))
    return {"source": source, "environment": plain, "secret_commands": secrets, "env_file": str(env_file) if env_file else None}


def register(command: Callable[..., argparse.ArgumentParser], language: str = "es") -> None:
    """Add `dropscore env` through shared.local.cli_parser's ``command`` helper, its help in ``language``."""

    def h(code: str) -> str:
        return message(code, language)

    env = command("env", cmd_env, "help_env")
    env.add_argument(
        "--from-terraform", nargs="?", const="infra", metavar="DIR",
        help=h("help_env_from_terraform"),
    )
    env.add_argument("--file", metavar="OUTPUTS.json", help=h("help_env_file"))
    env.add_argument(
        "--tracking-uri",
        help=h("help_env_tracking_uri"),
    )
    env.add_argument("-o", "--output", help=h("help_env_output"))
