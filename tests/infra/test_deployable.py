"""Issue 14: a first `terraform apply` on a fresh project succeeds, and what it deploys can work.

Structural checks with python-hcl2 (no terraform binary here), one group per item of the issue.
Each states what the provider's documentation or examples require (docs/deploy.md quotes them).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.infra.test_terraform import (
    INFRA_DIR,
    REPOSITORY_ROOT,
    block,
    function_resources,
    resource,
    resources,
    strings,
    terraform,
    variable_default,
)

SHARED_DIR = REPOSITORY_ROOT / "shared"


def depends_on(body: dict[str, Any]) -> set[str]:
    return {reference.strip("${}") for reference in body.get("depends_on", [])}


def function_depends_on() -> set[str]:
    return depends_on(resource("google_cloudfunctions2_function", "function"))


def seconds(duration: str) -> int:
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, f"duration {duration!r} is not '<n>s'"
    return int(match.group(1))


# ------------------------------------------------------------------ 1. builds can read their source


def test_builder_can_read_the_bucket_cloud_functions_copies_the_source_into() -> None:
    """Builds fetch gs://gcf-v2-sources-<PROJECT_NUMBER>-<REGION>/..., not our sources bucket (#20571)."""
    bucket_name = terraform()["locals"]["gcf_sources_bucket_name"]
    assert bucket_name == "gcf-v2-sources-${data.google_project.this.number}-${var.region}"
    grants = [
        grant
        for grant in resources("google_project_iam_member").values()
        if grant["member"] == "serviceAccount:${google_service_account.builder.email}"
        and grant["role"] in ("roles/storage.objectViewer", "roles/storage.objectAdmin")
    ]
    assert grants, "the builder service account has no storage read grant that reaches gcf-v2-sources-*"
    condition = block(grants[0], "condition")["expression"]
    assert "projects/_/buckets/${local.gcf_sources_bucket_name}" in condition


def test_function_builds_wait_for_the_builder_grants_like_the_provider_example() -> None:
    """cloudfunctions2 "Basic Builder" example: time_sleep 60s after the builder's grants."""
    wait = resource("time_sleep", "builder_iam_propagation")
    assert seconds(wait["create_duration"]) >= 60
    assert {
        "google_project_iam_member.builder",
        "google_artifact_registry_repository_iam_member.builder_writer",
        "google_project_iam_member.builder_gcf_sources_reader",
    } <= depends_on(wait)
    assert "time_sleep.builder_iam_propagation" in function_depends_on()


# ------------------------------------------------------------------ 2. Eventarc on a fresh project


def test_storage_triggers_wait_for_eventarc_iam_to_propagate() -> None:
    """Eventarc triggers fail on a fresh project's first apply while grants propagate (#25294)."""
    wait = resource("time_sleep", "eventarc_iam_propagation")
    assert seconds(wait["create_duration"]) >= 60
    assert {
        "google_project_service_identity.eventarc",
        "google_project_iam_member.gcs_agent_pubsub_publisher",
        "google_project_iam_member.eventarc_receiver",
        "google_service_account_iam_member.pubsub_agent_token_creator",
    } <= depends_on(wait)
    assert "time_sleep.eventarc_iam_propagation" in function_depends_on()


# ------------------------------------------------------------------ 3. sharded files complete


def test_clean_may_write_the_predictions_area_it_assembles_shards_into() -> None:
    cleaning = (SHARED_DIR / "steps" / "clean.py").read_text(encoding="utf-8")
    assert "assemble_if_complete" in cleaning, "clean no longer assembles shards: revisit this grant"
    access = terraform()["locals"]["function_bucket_access"]
    assert access["clean"]["predictions"] == "write", "clean composes the predictions file and deletes parts"


# ------------------------------------------------------------------ 4. the S3 fallback authenticates


def test_s3_role_trusts_only_the_function_accounts_and_this_audience() -> None:
    role = resource("aws_iam_role", "functions")
    policy = role["assume_role_policy"]
    for key in ("accounts.google.com:aud", "accounts.google.com:sub", "accounts.google.com:oaud"):
        assert f'"{key}"' in policy, f"the trust policy does not pin {key}"
    locals_ = terraform()["locals"]
    assert "google_service_account.function[name].unique_id" in locals_["s3_web_identity_subjects"]
    assert ":role/${local.s3_role_name}" in locals_["s3_role_arn"]
    assert role["name"] == "${local.s3_role_name}"
    # The code asks the metadata server for a token with audience = AWS_ROLE_ARN.
    code = (SHARED_DIR / "backends" / "storage" / "aws_credentials.py").read_text(encoding="utf-8")
    assert "AWS_ROLE_ARN" in code and "audience" in code


def test_functions_on_s3_get_the_role_and_a_nat_to_reach_aws() -> None:
    environment = terraform()["locals"]["aws_environment"]
    assert "AWS_ROLE_ARN" in environment and "AWS_DEFAULT_REGION" in environment
    nat_enabled = terraform()["locals"]["nat_enabled"]
    assert 'var.storage_backend == "s3"' in nat_enabled
    for name in ("nat",):
        assert resource("google_compute_router_nat", name)["count"] == "${local.nat_enabled ? 1 : 0}"
        assert resource("google_compute_router", name)["count"] == "${local.nat_enabled ? 1 : 0}"


@pytest.mark.parametrize("name", ["clean", "score"])
def test_no_gcs_triggers_when_the_data_lives_on_s3(name: str) -> None:
    assert "event_trigger" in function_resources("gcs")[name]
    assert "event_trigger" not in function_resources("s3")[name]


# ------------------------------------------------------------------ 5. retraining as a Cloud Run job


def retrain_job() -> dict[str, Any]:
    return resource("google_cloud_run_v2_job", "retrain")


def test_retraining_runs_as_a_cloud_run_job_with_the_retrain_functions_identity() -> None:
    task = block(block(retrain_job(), "template"), "template")
    assert task["service_account"] == '${google_service_account.function["retrain"].email}'
    container = block(task, "containers")
    assert container["image"] == "${var.retrain_image}"
    assert block(task, "vpc_access")["egress"] == "ALL_TRAFFIC", "MLflow accepts internal traffic only"
    limits = block(container, "resources")["limits"]
    assert limits["memory"] == "${var.retrain_job_settings.memory}"
    default = variable_default("retrain_job_settings")
    assert default["timeout_seconds"] > 540, "the job exists to outlast the function's 540 s"


def test_retrain_job_gets_the_functions_environment_and_secrets() -> None:
    container = block(block(block(retrain_job(), "template"), "template"), "containers")
    dynamic_env = [d["env"] for d in container["dynamic"] if "env" in d]
    assert any(env["for_each"] == "${local.retrain_job_environment}" for env in dynamic_env)
    assert "local.function_environment" in terraform()["locals"]["retrain_job_environment"]
    static_env = {env["name"]: env for env in container.get("env", [])}
    assert "DROPSCORE_PII_KEY" in static_env
    assert "secret_key_ref" in json.dumps(static_env["DROPSCORE_PII_KEY"])


def test_retrain_function_knows_the_job_and_may_run_it_with_overrides() -> None:
    locals_ = terraform()["locals"]
    assert locals_["function_environment"]["DROPSCORE_RETRAIN_JOB"] == "${local.retrain_job_id}"
    assert locals_["retrain_job_id"] == "projects/${var.project_id}/locations/${var.region}/jobs/${local.retrain_job_name}"
    assert retrain_job()["name"] == "${local.retrain_job_name}"
    grant = resource("google_cloud_run_v2_job_iam_member", "retrain_function_runs_job")
    assert grant["role"] == "roles/run.jobsExecutorWithOverrides"
    assert grant["member"] == 'serviceAccount:${google_service_account.function["retrain"].email}'
    assert grant["name"] == "${google_cloud_run_v2_job.retrain.name}"


def test_retrain_job_image_is_built_from_the_retrain_functions_zip() -> None:
    dockerfile = (INFRA_DIR / "retrain" / "Dockerfile").read_text(encoding="utf-8")
    assert "dist/functions/retrain.zip" in dockerfile
    assert "shared.steps.retrain" in dockerfile


# ------------------------------------------------------------------ 6. MLflow on Cloud Run


def mlflow_containers() -> dict[str, dict[str, Any]]:
    template = block(resource("google_cloud_run_v2_service", "mlflow"), "template")
    return {container["name"]: container for container in template["containers"]}


def test_cloud_sql_proxy_uses_lazy_refresh_because_cpu_is_idle_between_requests() -> None:
    proxy = mlflow_containers()["cloud-sql-proxy"]
    assert block(proxy, "resources")["cpu_idle"] is True
    assert "--lazy-refresh" in proxy["args"]


def test_mlflow_pools_fit_the_databases_connection_limit() -> None:
    environment = {env["name"]: env.get("value") for env in mlflow_containers()["mlflow"]["env"]}
    assert environment["MLFLOW_SQLALCHEMYSTORE_POOL_SIZE"] == "${tostring(var.mlflow_db_pool_size)}"
    assert environment["MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW"] == "${tostring(var.mlflow_db_max_overflow)}"
    locals_ = terraform()["locals"]
    # The defaults: 2 instances x 2 workers x (2 + 1) = 12 connections, under db-f1-micro's 25 - 5.
    workers = int(locals_["mlflow_workers"])
    assert f"--workers {workers}" in "".join(mlflow_containers()["mlflow"]["args"])
    peak = (
        variable_default("mlflow_max_instances") * workers
        * (variable_default("mlflow_db_pool_size") + variable_default("mlflow_db_max_overflow"))
    )  # fmt: skip
    tier_limit = locals_["mlflow_db_tier_connections"][variable_default("mlflow_db_tier")]
    assert peak <= tier_limit - int(locals_["mlflow_db_reserved_connections"])
    preconditions = block(resource("google_cloud_run_v2_service", "mlflow"), "lifecycle")["precondition"]
    assert any("local.mlflow_peak_connections" in p["condition"] for p in preconditions)


def startup_probes() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for (kind, name), body in terraform()["resource"].items():
        if kind.startswith("google_cloud_run_v2_"):
            for text_path, probe in _probes(body, f"{kind}.{name}"):
                found.append((text_path, probe))
    return found


def _probes(value: Any, path: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "startup_probe":
                found += [(f"{path}.{key}", probe) for probe in item]
            else:
                found += _probes(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            found += _probes(item, path)
    return found


def test_startup_probes_stay_within_cloud_runs_240_seconds() -> None:
    probes = startup_probes()
    assert probes, "MLflow has startup probes"
    for path, probe in probes:
        period = int(probe.get("period_seconds", 10))
        threshold = int(probe.get("failure_threshold", 3))
        assert period * threshold <= 240, f"{path}: {threshold} x {period} s exceeds Cloud Run's 240 s"
        assert int(probe.get("initial_delay_seconds", 0)) <= 240, path


def test_model_upload_cap_is_stated() -> None:
    deploy = (REPOSITORY_ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    assert "32 MiB" in deploy


# ------------------------------------------------------------------ 7. delivery


def test_alert_webhook_is_a_secret_not_a_plain_environment_variable() -> None:
    assert "DROPSCORE_ALERT_WEBHOOK" not in terraform()["locals"]["function_environment"]
    service_config = block(resource("google_cloudfunctions2_function", "function"), "service_config")
    dynamic_secrets = [d["secret_environment_variables"] for d in service_config["dynamic"] if "secret_environment_variables" in d]
    assert len(dynamic_secrets) == 1
    assert dynamic_secrets[0]["for_each"] == "${local.alert_webhook_secrets}"
    assert dynamic_secrets[0]["content"][0]["key"] == "DROPSCORE_ALERT_WEBHOOK"
    version = resource("google_secret_manager_secret_version", "alert_webhook")
    assert version["secret_data"] == "${var.alert_webhook_url}"
    assert "var.alert_webhook_url" not in json.dumps(service_config)


def test_access_logging_is_optional_and_off_by_default() -> None:
    """Domain restricted sharing refuses group:cloud-storage-analytics@google.com."""
    assert variable_default("access_logs_enabled") is False
    for name in ("access_logs",):
        assert resource("google_storage_bucket", name)["count"] == "${var.access_logs_enabled ? 1 : 0}"
    writer = resource("google_storage_bucket_iam_member", "access_logs_writer")
    assert writer["member"] == "group:cloud-storage-analytics@google.com"
    assert writer["count"] == "${var.access_logs_enabled ? 1 : 0}"
    unconditional = [
        f"{kind}.{name}"
        for (kind, name), body in terraform()["resource"].items()
        if "cloud-storage-analytics@google.com" in " ".join(strings(body)) and "count" not in body
    ]
    assert not unconditional, f"granted to the analytics group regardless of access_logs_enabled: {unconditional}"


def test_smoke_rows_are_excluded_from_the_production_predictions_view() -> None:
    view = resource("google_bigquery_table", "predictions_production")
    query = block(view, "view")["query"]
    assert "smoke" in query.lower() and "NOT" in query


def test_smoke_test_drops_its_file_where_the_code_recognises_smoke_rows() -> None:
    from shared.monitor.smoke_rows import SMOKE_MARKER, SMOKE_PREFIX, is_smoke_uri

    smoke_test = (INFRA_DIR / "smoke_test.py").read_text(encoding="utf-8")
    assert f'raw_key = f"{SMOKE_PREFIX}' in smoke_test
    view_query = block(resource("google_bigquery_table", "predictions_production"), "view")["query"]
    assert f"'{SMOKE_MARKER}'" in view_query
    assert is_smoke_uri("gs://acme-dropscore-clean/incoming/smoke/20260101T000000Z-ab12cd34.parquet")
    assert is_smoke_uri("s3://acme-data/dropscore/raw/incoming/smoke/run.csv")
    assert not is_smoke_uri("gs://acme-dropscore-clean/incoming/2026-01/ventas.parquet")
    assert not is_smoke_uri(None)


def test_shard_bytes_validation_refuses_what_the_functions_would_refuse() -> None:
    # The functions refuse DROPSCORE_SHARD_BYTES below MIN_SHARD_BYTES at settings load; a plan that
    # passes validation must never deploy functions that refuse every event.
    from shared.settings import MIN_SHARD_BYTES

    validation = block(terraform()["variable"]["shard_bytes"], "validation")
    lower = int(re.search(r"var\.shard_bytes >= (\d+)", validation["condition"]).group(1))
    assert lower == MIN_SHARD_BYTES
    assert variable_default("shard_bytes") >= MIN_SHARD_BYTES
