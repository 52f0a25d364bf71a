"""``dropscore serve``: the production shape on one machine, started and stopped as one thing.

What runs (every service on a free loopback port, its log under ``<stack>/logs``):

- object storage: gcp-storage-emulator with the buckets created (or moto for the S3 fallback);
- an MLflow tracking server (sqlite, artifacts served through the server);
- one functions-framework server per function, started from its own folder;
- the event router (:mod:`shared.local.event_router`), playing Eventarc for the storage triggers
  and Pub/Sub (with a push subscription) for retrain requests.

State lives under ``DROPSCORE_HOME/stack``: emulator data, ``mlflow.db``, artifacts, the
DuckDB warehouse every function shares, the router's ledger and dead letters, and, while
the stack runs, ``stack.json`` (where everything is; ``dropscore serve tick`` reads it) and
``env`` (the variables a shell needs to use the stack).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sys
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.errors import PermanentError, ServiceUnavailableError
from shared.local.event_router import READY_LINE, PushSubscription, RetryPolicy, Route, RouterConfig
from shared.local.stack import emulators, mlflow_server, run_api
from shared.local.stack.function_servers import (
    REPOSITORY_ROOT,
    SIGNATURE_TYPES,
    base_environment,
    function_key,
    function_server_spec,
    functions_folder,
)
from shared.local.stack.processes import (
    DEFAULT_START_TIMEOUT_SECONDS,
    LOOPBACK,
    ManagedProcess,
    free_loopback_port,
    start_process,
    start_services,
    stop_all,
)
from shared.settings import load_settings

DEFAULT_GCS_PREFIX = "dropscore-local"
RETRAIN_JOB_NAME = f"{DEFAULT_GCS_PREFIX}-retrain"
DEFAULT_S3_BUCKET = "dropscore-local"
STATE_FILE = "stack.json"
ENV_FILE = "env"
# Variables the stack decides; the same names from the caller's shell would point elsewhere.
STACK_OWNED_PREFIXES = ("DROPSCORE_BUCKET_",)
STACK_OWNED_VARIABLES = frozenset(
    {"DROPSCORE_HOME", "DROPSCORE_STORAGE", "DROPSCORE_WAREHOUSE", "DROPSCORE_MLFLOW_TRACKING_URI", "DROPSCORE_RETRAIN_TOPIC", "DROPSCORE_RETRAIN_JOB"}
)
# Passed to the functions but never written to stack.json or the env file (a webhook URL holds its token).
SECRET_VARIABLES = frozenset({"DROPSCORE_PII_KEY", "DROPSCORE_ALERT_WEBHOOK"})


def stack_folder(home: Path) -> Path:
    return home / "stack"


@dataclass
class StackOptions:
    home: Path
    storage: str = "gs"  # "gs" (gcp-storage-emulator) or "s3" (moto)
    storage_uri: str | None = None  # gs://PREFIX or s3://BUCKET[/prefix]; a local default otherwise
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    poll_seconds: float = 0.5
    max_event_age_seconds: float | None = None
    start_timeout: float = DEFAULT_START_TIMEOUT_SECONDS
    # DROPSCORE_* settings passed to every function (language, model name, PII key...).
    passthrough: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> StackOptions:
        env = os.environ if environ is None else environ
        settings = load_settings(env)
        configured = (env.get("DROPSCORE_STORAGE") or "").strip()
        storage = overrides.pop("storage", None) or ("s3" if configured.startswith("s3://") else "gs")
        storage_uri = configured if configured.startswith(f"{storage}://") else None
        passthrough = {
            name: value
            for name, value in env.items()
            if name.startswith("DROPSCORE_")
            and name not in STACK_OWNED_VARIABLES
            and not name.startswith(STACK_OWNED_PREFIXES)
            and value.strip()
        }
        return cls(home=settings.home, storage=storage, storage_uri=storage_uri, passthrough=passthrough, **overrides)

    def resolved_storage_uri(self) -> str:
        if self.storage not in ("gs", "s3"):
            raise PermanentError(f"unknown storage {self.storage!r} for the local stack: use gs or s3")
        if self.storage_uri:
            return self.storage_uri.rstrip("/")
        return f"gs://{DEFAULT_GCS_PREFIX}" if self.storage == "gs" else f"s3://{DEFAULT_S3_BUCKET}"


@dataclass
class StackState:
    """Where everything runs; written to ``stack.json`` while the stack is up."""

    home: str
    storage_uri: str
    areas: dict[str, str]
    services: dict[str, str]
    functions: dict[str, str]
    retrain_topic: str
    client_environment: dict[str, str]
    pids: dict[str, int]
    logs: str
    dead_letter_dir: str
    started_at: str

    @classmethod
    def read(cls, home: Path) -> StackState:
        path = stack_folder(home) / STATE_FILE
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError as exc:
            raise ServiceUnavailableError(
                "the local stack",
                str(path),
                "Start it with `dropscore serve` (in another shell, with the same DROPSCORE_HOME).",
                detail="no stack is running for this DROPSCORE_HOME",
            ) from exc


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs. A zombie (exited, not yet reaped by its parent) holds no port and runs nothing."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return status != "Z"


class LocalStack:
    """Start with :meth:`start` (or ``with LocalStack(options) as stack``); :meth:`stop` ends every child."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.folder = stack_folder(options.home)
        self.logs = self.folder / "logs"
        self.dead_letter_dir = self.folder / "dead-letter"
        self.storage_uri = options.resolved_storage_uri()
        self.settings = load_settings({"DROPSCORE_STORAGE": self.storage_uri, "DROPSCORE_HOME": str(options.home)})
        # key -> child; keys: "storage", "mlflow", "function <name>", "router".
        self.processes: dict[str, ManagedProcess] = {}
        self.functions: dict[str, str] = {}  # name -> URL
        self.storage_endpoint = ""
        self.tracking_uri = ""
        self.retrain_topic = ""
        self.pubsub_address = ""
        self.client_environment: dict[str, str] = {}
        self.router_log_offset = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> LocalStack:
        functions_folder()  # fail before starting anything when the sources are not there
        self._refuse_second_stack()
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            # Storage and MLflow side by side (MLflow's start-up is the slow part), then the
            # functions that need both, then the router that needs the functions.
            self._start_services()
            self._set_client_environment()
            self._start_functions()
            self._start_router()
            self._write_state()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every child (safe to call twice, and after a failed start)."""
        # The router first, so that no delivery starts against a function going away.
        router = self.processes.pop("router", None)
        if router is not None:
            router.stop()
        others = list(self.processes.values())
        self.processes.clear()
        stop_all(others)
        self.functions.clear()
        for name in (STATE_FILE, ENV_FILE):
            with contextlib.suppress(FileNotFoundError):
                (self.folder / name).unlink()

    def _refuse_second_stack(self) -> None:
        try:
            state = StackState.read(self.options.home)
        except (ServiceUnavailableError, TypeError, ValueError):
            return
        if any(pid_alive(pid) for pid in state.pids.values()):
            raise PermanentError(
                f"a local stack is already running for {self.options.home} (see {self.folder / STATE_FILE}); "
                "stop it with Ctrl-C in its shell, or use another DROPSCORE_HOME"
            )

    # -- services ----------------------------------------------------------------------------

    def _start_services(self) -> None:
        env = base_environment()
        if self.options.storage == "gs":
            storage = emulators.gcs_emulator_spec(self.folder / "gcs", self.logs / "storage.log", env)
        else:
            storage = emulators.moto_server_spec(self.folder / "moto", self.logs / "storage.log", env)
        tracking = mlflow_server.mlflow_server_spec(self.folder / "mlflow", self.logs / "mlflow.log", env)
        start_services([storage, tracking], self.processes, timeout=self.options.start_timeout)
        self.storage_endpoint = self.processes["storage"].url
        self.tracking_uri = self.processes["mlflow"].url
        if self.options.storage == "gs":
            buckets = sorted({uri.split("://", 1)[1].split("/", 1)[0] for uri in self.settings.area_uris.values()})
            emulators.create_gcs_buckets(self.storage_endpoint, buckets)
        else:
            emulators.create_s3_bucket(self.storage_endpoint, self.storage_uri.split("://", 1)[1].split("/", 1)[0])

    def _storage_client_environment(self) -> dict[str, str]:
        if self.options.storage == "gs":
            return emulators.gcs_client_environment(self.storage_endpoint)
        return emulators.s3_client_environment(self.storage_endpoint, self.folder)

    def _set_client_environment(self) -> None:
        """What every function (and a user's shell) gets: the variables Terraform sets, pointed here."""
        # The router binds this port later; the functions must know it now. If another program
        # took it in between, the router exits and start() says so with the router's log.
        self.pubsub_address = f"{LOOPBACK}:{free_loopback_port()}"
        self.retrain_topic = f"projects/{emulators.LOCAL_PROJECT}/topics/{DEFAULT_GCS_PREFIX}-retrain"
        # The router also stands in for Cloud Run's jobs.run (shared/local/stack/run_api.py): the retrain
        # function starts the retrain job there, as it does in the cloud.
        self.run_api_port = free_loopback_port()
        env = dict(self.options.passthrough)
        env.update(
            {
                "DROPSCORE_STORAGE": self.storage_uri,
                "DROPSCORE_WAREHOUSE": f"duckdb:///{self.folder / 'warehouse.duckdb'}",
                "DROPSCORE_MLFLOW_TRACKING_URI": self.tracking_uri,
                "DROPSCORE_RETRAIN_TOPIC": self.retrain_topic,
                "DROPSCORE_RETRAIN_JOB": run_api.job_url(self.run_api_port, RETRAIN_JOB_NAME),
                "PUBSUB_EMULATOR_HOST": self.pubsub_address,
                "PUBSUB_PROJECT_ID": emulators.LOCAL_PROJECT,
            }
        )
        if self.options.max_event_age_seconds is not None:
            env["DROPSCORE_MAX_EVENT_AGE_SECONDS"] = f"{self.options.max_event_age_seconds:g}"
        env.update(mlflow_server.CLIENT_ENVIRONMENT)
        env.update(self._storage_client_environment())
        self.client_environment = env

    def _start_functions(self) -> None:
        specs = [function_server_spec(name, self.client_environment, self.logs / f"function-{name}.log") for name in SIGNATURE_TYPES]
        start_services(specs, self.processes, timeout=self.options.start_timeout)
        self.functions = {name: self.processes[function_key(name)].url for name in SIGNATURE_TYPES}

    def _start_router(self) -> None:
        routes = [
            Route(self.settings.area_uri("raw"), "clean", self.functions["clean"]),
            Route(self.settings.area_uri("clean"), "score", self.functions["score"]),
        ]
        push = PushSubscription(self.retrain_topic, int(self.pubsub_address.rsplit(":", 1)[1]), "retrain", self.functions["retrain"])
        config = RouterConfig(
            routes=routes,
            dead_letter_dir=self.dead_letter_dir,
            # One ledger per storage: the S3 stack's moto forgets its objects on every start.
            ledger_path=self.folder / "router" / f"delivered-{self.options.storage}.jsonl",
            retry=self.options.retry,
            poll_seconds=self.options.poll_seconds,
            push=push,
            run_api=run_api.RunApiConfig(
                port=self.run_api_port,
                log_dir=self.logs,
                # infra/retrain_job.tf: the container runs this, with max_retries 1 by default.
                jobs={RETRAIN_JOB_NAME: run_api.LocalJob([sys.executable, "-m", "shared.steps.retrain"], max_retries=1)},
            ).to_dict(),
        )
        config_path = self.folder / "router" / "config.json"
        config_path.parent.mkdir(parents=True, exist_ok=True)
        config_path.write_text(config.to_json(), encoding="utf-8")
        # The router starts the job executions, which get what a job task would: the functions'
        # environment (the job runs the retrain function's code with its settings).
        env = base_environment()
        env.update(self.client_environment)
        env.update(self._storage_client_environment())
        env["PYTHONPATH"] = str(REPOSITORY_ROOT)
        log_path = self.logs / "router.log"
        process = start_process(
            "event router",
            [sys.executable, "-m", "shared.local.event_router", "--config", str(config_path)],
            env=env,
            cwd=self.folder,
            log_path=log_path,
            url=f"grpc://{self.pubsub_address}",
        )
        self.processes["router"] = process
        offset = log_path.stat().st_size if log_path.exists() else 0

        def ready() -> bool:
            with open(log_path, "rb") as handle:
                handle.seek(offset)
                return READY_LINE.encode() in handle.read()

        process.wait_until_ready(ready, self.options.start_timeout, "Check the router's log; it needs the storage service above.")
        self.router_log_offset = offset

    # -- what users see ----------------------------------------------------------------------

    def state(self) -> StackState:
        services = {"storage": self.storage_endpoint, "mlflow": self.tracking_uri, "pubsub": self.pubsub_address}
        return StackState(
            home=str(self.options.home),
            storage_uri=self.storage_uri,
            areas=dict(self.settings.area_uris),
            services=services,
            functions=dict(self.functions),
            retrain_topic=self.retrain_topic,
            client_environment=self.shareable_environment(),
            pids={name: process.pid for name, process in self.processes.items()},
            logs=str(self.logs),
            dead_letter_dir=str(self.dead_letter_dir),
            started_at=datetime.now(UTC).isoformat(),
        )

    def shareable_environment(self) -> dict[str, str]:
        """The client environment without secrets, as written to files."""
        return {name: value for name, value in self.client_environment.items() if name not in SECRET_VARIABLES}

    def _write_state(self) -> None:
        (self.folder / STATE_FILE).write_text(json.dumps(asdict(self.state()), indent=2), encoding="utf-8")
        # DROPSCORE_HOME too, so that `dropscore serve tick` finds this stack from any folder.
        variables = {"DROPSCORE_HOME": str(self.options.home), **self.shareable_environment()}
        # MLflow's own tools (`mlflow models predict -m models:/…`) read the standard variable.
        variables["MLFLOW_TRACKING_URI"] = self.tracking_uri
        # The personal-data key the functions run with: a shell that sourced this file and trains or
        # drops must hash with the same key, or the same cédula gets two tokens. That makes the env
        # file a secret, so it is created readable by its owner only (stack.json stays secret-free).
        pii_key = self.client_environment.get("DROPSCORE_PII_KEY", "").strip()
        if pii_key:
            variables["DROPSCORE_PII_KEY"] = pii_key
        lines = [f"export {name}={shlex.quote(value)}" for name, value in sorted(variables.items())]
        env_path = self.folder / ENV_FILE
        env_path.unlink(missing_ok=True)
        descriptor = os.open(env_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as env_file:
            env_file.write("\n".join(lines) + "\n")

    def table(self) -> str:
        """What runs where, as printed by ``dropscore serve``."""
        areas = self.settings.area_uris
        storage_name = "gcp-storage-emulator" if self.options.storage == "gs" else "moto S3 server"
        if self.options.storage == "gs":
            storage_detail = "buckets " + ", ".join(uri.removeprefix("gs://") for uri in areas.values())
        else:
            storage_detail = f"bucket {self.storage_uri.removeprefix('s3://')}, areas " + ", ".join(areas)
        rows = [
            (storage_name, self.storage_endpoint, storage_detail),
            ("MLflow tracking server", self.tracking_uri, "sqlite mlflow.db, artifacts served by the server"),
        ]
        triggers = {
            "clean": f"finalized in {areas['raw']}",
            "score": f"finalized in {areas['clean']}",
            "drift": "HTTP, `dropscore serve tick drift` (Cloud Scheduler)",
            "retrain": f"Pub/Sub push from {self.retrain_topic.rsplit('/', 1)[1]}, `dropscore serve tick retrain`",
        }
        for name, url in self.functions.items():
            rows.append((f"function {name}", url, f"{SIGNATURE_TYPES[name]}: {triggers[name]}"))
        rows.append(("event router (Eventarc)", f"pid {self.processes['router'].pid}", f"polls every {self.options.poll_seconds:g} s, retries {self.options.retry.max_seconds:g} s"))
        rows.append(("Pub/Sub (publish + push)", self.pubsub_address, f"topic {self.retrain_topic}"))
        rows.append(("warehouse (DuckDB)", self.client_environment["DROPSCORE_WAREHOUSE"], "shared by every function"))
        widths = [max(len(row[column]) for row in rows + [("SERVICE", "WHERE", "WHAT")]) for column in range(2)]
        lines = [f"{'SERVICE':<{widths[0]}}  {'WHERE':<{widths[1]}}  WHAT"]
        lines += [f"{name:<{widths[0]}}  {where:<{widths[1]}}  {what}" for name, where, what in rows]
        return "\n".join(lines)


@contextlib.contextmanager
def running_stack(options: StackOptions) -> Iterator[LocalStack]:
    stack = LocalStack(options)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
