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
from shared.settings import EMBEDDED_ONLY_VARIABLES, ENVIRONMENT_VARIABLES, Settings

ENVIRONMENT_OUTPUT = "dropscore_environment"
# Read from Secret Manager by the functions; never a Terraform output.
SECRET_VARIABLES = {"DROPSCORE_PII_KEY", "DROPSCORE_ALERT_WEBHOOK"}
# Only the retrain function starts the job; a laptop's `dropscore retrain` trains itself.
CLOUD_ONLY_VARIABLES = {"DROPSCORE_RETRAIN_JOB"}


def _value(outputs: Mapping[str, Any], name: str) -> Any:
    entry = outputs.get(name)
    if isinstance(entry, Mapping) and "value" in entry:
        return entry["value"]
    return None


def read_terraform_outputs(directory: Path, runner: Callable[..., Any] = subprocess.run) -> dict[str, Any]:
    """``terraform output -json`` in ``directory``: the state of the deployment, read-only."""
    if shutil.which("terraform") is None:
        raise TerraformOutputError(
            "no se encontró el comando terraform; instálelo o pase --file con la salida de `terraform output -json` / "
            "terraform not found: install it or pass --file with the output of `terraform output -json`"
        )
    completed = runner(
        ["terraform", f"-chdir={directory}", "output", "-json"], capture_output=True, text=True, check=False, timeout=120
    )
    if completed.returncode != 0:
        raise TerraformOutputError(
            f"`terraform output -json` falló en {directory} / failed in {directory}: {completed.stderr.strip()[:800]}"
        )
    return json.loads(completed.stdout or "{}")


def load_outputs(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TerraformOutputError(f"no existe el archivo {path} / file {path} does not exist") from exc
    except ValueError as exc:
        raise TerraformOutputError(f"{path} no es JSON de `terraform output -json` / is not `terraform output -json` JSON: {exc}") from exc


def deployment_environment(outputs: Mapping[str, Any], *, tracking_uri: str | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """(plain variables, secret variables as shell commands) for a laptop from Terraform's outputs."""
    environment = _value(outputs, ENVIRONMENT_OUTPUT)
    if not isinstance(environment, Mapping) or not environment:
        raise TerraformOutputError(
            f"las salidas de Terraform no tienen «{ENVIRONMENT_OUTPUT}»: ¿es el directorio infra/ de dropscore y se hizo `terraform apply`? / "
            f"the Terraform outputs have no '{ENVIRONMENT_OUTPUT}': is this dropscore's infra/ directory, and was it applied?"
        )
    plain = {str(name): str(value) for name, value in environment.items() if name not in CLOUD_ONLY_VARIABLES}
    expected = set(ENVIRONMENT_VARIABLES) - set(EMBEDDED_ONLY_VARIABLES) - SECRET_VARIABLES - CLOUD_ONLY_VARIABLES
    missing = sorted(expected - set(plain))
    if missing:
        raise TerraformOutputError(
            f"faltan en «{ENVIRONMENT_OUTPUT}»: {', '.join(missing)} (¿infra/ más antiguo que este dropscore? aplique de nuevo) / "
            f"missing from '{ENVIRONMENT_OUTPUT}': {', '.join(missing)} (infra/ older than this dropscore? apply again)"
        )
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
        raise TerraformOutputError("use --from-terraform [DIR] or --file OUTPUTS.json / use --from-terraform [DIR] o --file OUTPUTS.json")
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
        elif settings.language == "en":
            print(f"Wrote {env_file} ({len(plain)} variables). Load it with: source {env_file}")
        else:
            print(f"Escrito {env_file} ({len(plain)} variables). Cárguelo con: source {env_file}")
    return {"source": source, "environment": plain, "secret_commands": secrets, "env_file": str(env_file) if env_file else None}


def register(command: Callable[..., argparse.ArgumentParser], language: str = "es") -> None:
    """Add `dropscore env` through cli.build_parser's ``command`` helper, its help in ``language``."""

    def h(spanish: str, english: str) -> str:
        return spanish if language == "es" else english

    env = command(
        "env",
        cmd_env,
        (
            "imprimir (o escribir con -o) la configuración DROPSCORE_* del despliegue a partir de las salidas de Terraform, para un portátil",
            "print (or write with -o) the deployment's DROPSCORE_* settings from Terraform's outputs, for a laptop",
        ),
    )
    env.add_argument(
        "--from-terraform", nargs="?", const="infra", metavar="DIR",
        help=h("ejecutar `terraform output -json` en DIR (por defecto infra)", "run `terraform output -json` in DIR (default infra)"),
    )
    env.add_argument("--file", metavar="OUTPUTS.json", help=h("leer un `terraform output -json` guardado en vez de ejecutar terraform", "read a saved `terraform output -json` instead of running terraform"))
    env.add_argument(
        "--tracking-uri",
        help=h("URL de MLflow en lugar de la del servicio (la de `gcloud run services proxy`, p. ej. http://localhost:5000)", "MLflow URL to use instead of the service's (the `gcloud run services proxy` one, e.g. http://localhost:5000)"),
    )
    env.add_argument("-o", "--output", help=h("escribir un archivo env para `source` en vez de imprimir las líneas export", "write an env file to source instead of printing the export lines"))
