"""Settings read from ``DROPSCORE_*`` environment variables into one frozen object.

Handlers call :func:`load_settings` inside the request, never at import time, so a
function instance picks up its environment the way Cloud Functions gives it and tests
can change the environment between calls.

Every name the code reads is listed in :data:`ENVIRONMENT_VARIABLES`; Terraform sets
exactly these on the functions (``tests/infra`` checks it). The MLflow ecosystem's own
variables (:data:`MLFLOW_STANDARD_VARIABLES`) are honoured where ours are unset, so a machine
already set up for MLflow (``MLFLOW_TRACKING_URI`` pointing at the team's server) needs nothing more.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# name -> one-line description. Embedded-only names are marked so infra can skip them.
ENVIRONMENT_VARIABLES: dict[str, str] = {
    "DROPSCORE_HOME": "embedded mode only: folder holding buckets, mlflow.db and the DuckDB warehouse",
    "DROPSCORE_STORAGE": "base storage URI: file:///path, gs://NAME_PREFIX (buckets NAME_PREFIX-raw, ...) or s3://BUCKET[/prefix]",
    "DROPSCORE_BUCKET_RAW": "URI of the raw area (overrides the one derived from DROPSCORE_STORAGE)",
    "DROPSCORE_BUCKET_CLEAN": "URI of the clean area",
    "DROPSCORE_BUCKET_QUARANTINE": "URI of the quarantine area",
    "DROPSCORE_BUCKET_PREDICTIONS": "URI of the predictions area",
    "DROPSCORE_BUCKET_REPORTS": "URI of the reports area",
    "DROPSCORE_WAREHOUSE": "duckdb:///path/to/file.duckdb or bigquery://PROJECT/DATASET",
    "DROPSCORE_MLFLOW_TRACKING_URI": "MLflow tracking URI: sqlite:///path/mlflow.db or https://mlflow-server (default: MLFLOW_TRACKING_URI, else DROPSCORE_HOME/mlflow.db)",
    "DROPSCORE_MODEL_NAME": "registered model name in MLflow",
    "DROPSCORE_LANG": "language of reports and messages: es (default) or en",
    "DROPSCORE_TIMEZONE": "IANA time zone in which people read times (reports, alerts, CLI); default America/Guayaquil",
    "DROPSCORE_MAX_EVENT_AGE_SECONDS": "events older than this are dropped without work",
    "DROPSCORE_RETRAIN_TOPIC": "Pub/Sub topic (projects/P/topics/T) for retrain requests; empty = direct call",
    "DROPSCORE_ALERT_WEBHOOK": "URL receiving alert messages (Google Chat / Slack / Teams style JSON POST)",
    "DROPSCORE_ALERT_TOPIC": "Pub/Sub topic (projects/P/topics/T) receiving alert records",
    "DROPSCORE_PII_KEY": "secret key for the keyed hash (HMAC-SHA256) of personal-data columns",
    "DROPSCORE_RETRAIN_JOB": "Cloud Run job that retrains (projects/P/locations/R/jobs/J; locally the http:// URL of the stack's run API); unset = retrain inside the retrain function",
    "DROPSCORE_ACTOR": "who the model log records as promoting or rolling back a model (default: the login name; the functions: dropscore-functions)",
    "DROPSCORE_SHARD_BYTES": "files larger than this many bytes are cleaned into shards scored in parallel (default 268435456, 256 MiB; at least 2097152, the CSV read block)",
}

EMBEDDED_ONLY_VARIABLES = frozenset({"DROPSCORE_HOME"})

# MLflow's standard variables dropscore honours. The two URIs are read here; the MLflow client
# itself reads the credentials (and the HTTP retry settings) on every request, so they pass through.
MLFLOW_STANDARD_VARIABLES: dict[str, str] = {
    "MLFLOW_TRACKING_URI": "the tracking server, used when DROPSCORE_MLFLOW_TRACKING_URI is unset",
    "MLFLOW_REGISTRY_URI": "the model registry, when it is not the tracking server (default: the tracking URI)",
    "MLFLOW_TRACKING_TOKEN": "bearer token for the tracking server (on Cloud Run dropscore fetches one itself when unset)",
    "MLFLOW_TRACKING_USERNAME": "basic-auth user for the tracking server",
    "MLFLOW_TRACKING_PASSWORD": "basic-auth password for the tracking server",
    "MLFLOW_TRACKING_INSECURE_TLS": "true: do not verify the server's TLS certificate",
    "MLFLOW_TRACKING_SERVER_CERT_PATH": "CA bundle to verify the server's TLS certificate",
}

AREAS: tuple[str, ...] = ("raw", "clean", "quarantine", "predictions", "reports")

DEFAULT_MODEL_NAME = "dropscore"
DEFAULT_MAX_EVENT_AGE_SECONDS = 24 * 3600  # Eventarc keeps retrying for up to 24 hours
# Above this size the clean step shards a file (shared.delivery.fanout): each shard is scored by its own
# invocation, well inside the 540 s and the memory cap of one.
DEFAULT_SHARD_BYTES = 256 * 1024 * 1024
# The clean step reads a CSV in blocks of this many bytes (shared.ingest.clean_table.CSV_BLOCK_BYTES) and can only
# cut a shard between blocks: a smaller shard size could not be honoured, so it is refused.
MIN_SHARD_BYTES = 2 * 1024 * 1024
SUPPORTED_LANGUAGES = ("es", "en")
# The zone Cloud Scheduler fires the drift check in (infra's drift_time_zone): people read times there.
DEFAULT_TIMEZONE = "America/Guayaquil"


@dataclass(frozen=True)
class Settings:
    home: Path
    storage_uri: str
    area_uris: Mapping[str, str]
    warehouse_uri: str
    tracking_uri: str
    model_name: str
    language: str
    max_event_age_seconds: float
    retrain_topic: str | None
    alert_webhook: str | None
    alert_topic: str | None
    pii_key: str | None = field(default=None, repr=False)  # never printed or logged
    shard_bytes: int = DEFAULT_SHARD_BYTES
    registry_uri: str = ""  # "" = the tracking URI (what MLflow itself assumes)
    retrain_job: str | None = None
    timezone: str = DEFAULT_TIMEZONE
    actor: str = "unknown"  # who acts, in the model log (promotions, rollbacks)

    def area_uri(self, area: str) -> str:
        """URI of a logical bucket ("raw", "clean", ...), without a trailing slash."""
        return self.area_uris[area]

    def object_uri(self, area: str, key: str) -> str:
        """The URI of ``key`` in ``area``. Every key is checked on the way in (shared.object_names):
        one that would leave the area or that the backend cannot store raises ObjectNameError
        (permanent, bilingual). On the folder store the key is percent-escaped into the URI, so the
        store's one decoding gives back the key exactly and reaches no other file."""
        from shared.object_names import check_key, encode_for_uri, local_path, split_uri

        root = self.area_uris[area]
        if not key.strip("/"):
            return f"{root}/"  # the whole area, to list
        body, folder = (key[:-1], "/") if key.endswith("/") else (key, "")  # "labels/": a folder to list
        if root.startswith("file://"):
            local_path(split_uri(root)[2], body)  # checks the key, symlinks included
            return f"{root}/{encode_for_uri(body)}{folder}"
        return f"{root}/{check_key(body, local=False)}{folder}"

    @property
    def embedded(self) -> bool:
        return self.storage_uri.startswith("file://")


def _derive_area_uri(storage_uri: str, area: str) -> str:
    if storage_uri.startswith("gs://"):
        # GCS: one bucket per area, named "<prefix>-<area>" (what infra/ creates).
        return f"{storage_uri.rstrip('/')}-{area}"
    # file:// and s3://: one root, one folder or key prefix per area.
    return f"{storage_uri.rstrip('/')}/{area}"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    home = Path(get("DROPSCORE_HOME") or ".dropscore").expanduser().resolve()
    storage_uri = get("DROPSCORE_STORAGE") or (home / "buckets").as_uri()
    area_uris = {
        area: (get(f"DROPSCORE_BUCKET_{area.upper()}") or _derive_area_uri(storage_uri, area)).rstrip("/")
        for area in AREAS
    }
    language = (get("DROPSCORE_LANG") or "es").lower()[:2]
    if language not in SUPPORTED_LANGUAGES:
        language = "es"
    max_age_text = get("DROPSCORE_MAX_EVENT_AGE_SECONDS")
    # Ours first, then MLflow's own variable, then the embedded sqlite file.
    tracking_uri = get("DROPSCORE_MLFLOW_TRACKING_URI") or get("MLFLOW_TRACKING_URI") or f"sqlite:///{home / 'mlflow.db'}"
    shard_text = get("DROPSCORE_SHARD_BYTES")
    return Settings(
        home=home,
        storage_uri=storage_uri,
        area_uris=area_uris,
        warehouse_uri=get("DROPSCORE_WAREHOUSE") or f"duckdb:///{home / 'warehouse.duckdb'}",
        tracking_uri=tracking_uri,
        model_name=get("DROPSCORE_MODEL_NAME") or DEFAULT_MODEL_NAME,
        language=language,
        max_event_age_seconds=float(max_age_text) if max_age_text else DEFAULT_MAX_EVENT_AGE_SECONDS,
        retrain_topic=get("DROPSCORE_RETRAIN_TOPIC"),
        alert_webhook=get("DROPSCORE_ALERT_WEBHOOK"),
        alert_topic=get("DROPSCORE_ALERT_TOPIC"),
        pii_key=get("DROPSCORE_PII_KEY"),
        shard_bytes=_shard_bytes(shard_text),
        registry_uri=get("MLFLOW_REGISTRY_URI") or tracking_uri,
        retrain_job=get("DROPSCORE_RETRAIN_JOB"),
        timezone=_valid_timezone(get("DROPSCORE_TIMEZONE")),
        actor=get("DROPSCORE_ACTOR") or _login_name(),
    )


def _login_name() -> str:
    """The person at the keyboard, for the model log; "unknown" where there is none (a container without a user entry)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no USER/LOGNAME and no passwd entry for the uid
        return "unknown"


def _shard_bytes(text: str | None) -> int:
    """DROPSCORE_SHARD_BYTES, refused (not silently replaced) when it is not a whole number of at least MIN_SHARD_BYTES."""
    from shared.errors import SettingsError
    from shared.i18n import both

    if text is None:
        return DEFAULT_SHARD_BYTES
    cleaned = text.replace("_", "")
    if not cleaned.isdigit():
        raise SettingsError(*both("shard_bytes_not_a_number", value=repr(text)))
    value = int(cleaned)
    if value < MIN_SHARD_BYTES:
        raise SettingsError(*both("shard_bytes_below_minimum", value=value, minimum=MIN_SHARD_BYTES))
    return value


def _valid_timezone(name: str | None) -> str:
    """An IANA zone name this machine knows; an unknown one falls back to the default rather than failing every handler."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not name:
        return DEFAULT_TIMEZONE
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return DEFAULT_TIMEZONE
    return name
