"""Structural checks of infra/ with python-hcl2 (no terraform binary here).

They tie the Terraform to the code: the function folders and their entry points, the
DROPSCORE_* names shared/settings.py reads, the warehouse schema files, and the triggers.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from functools import cache, partial
from pathlib import Path
from typing import Any

import hcl2
import pytest

from shared import settings

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
INFRA_DIR = REPOSITORY_ROOT / "infra"
FUNCTIONS_DIR = REPOSITORY_ROOT / "functions"
SCHEMAS_DIR = REPOSITORY_ROOT / "shared" / "backends" / "warehouse" / "schemas"

# Fixed by the design: folder name == entry point name, and how each one is invoked.
EXPECTED_FUNCTIONS = {"clean": "cloudevent", "score": "cloudevent", "drift": "http", "retrain": "cloudevent"}
STORAGE_FINALIZED = "google.cloud.storage.object.v1.finalized"
WAREHOUSE_PARTITIONS = {
    "predictions": "scored_at",
    "batches": "processed_at",
    "drift_results": "checked_at",
    "alerts": "created_at",
    "model_events": "occurred_at",
}
# The tables the dashboards and checks filter on must be clustered; batches and model_events are
# small logs and may leave clustering empty.
CLUSTERED_TABLES = {"predictions", "drift_results", "alerts"}
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
PRIMITIVE_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}


# --------------------------------------------------------------------------- parsing helpers


def unquote(value: Any) -> Any:
    """python-hcl2 keeps the quotes of string literals and block labels: drop them."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def clean(value: Any) -> Any:
    """Unquote every string, and drop hcl2's bookkeeping keys (__is_block__, __comments__), recursively."""
    if isinstance(value, dict):
        return {unquote(key): clean(item) for key, item in value.items() if not key.startswith("__")}
    if isinstance(value, list):
        return [clean(item) for item in value]
    return unquote(value)


@cache
def terraform() -> dict[str, Any]:
    """All infra/*.tf merged: resources by (type, name), data, locals, variables, outputs, terraform."""
    merged: dict[str, Any] = {
        "resource": {},
        "data": {},
        "locals": {},
        "variable": {},
        "output": {},
        "terraform": [],
    }
    for path in sorted(INFRA_DIR.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            document = clean(hcl2.load(handle))
        for block in document.get("resource", []):
            for resource_type, named in block.items():
                for name, body in named.items():
                    assert (resource_type, name) not in merged["resource"], (
                        f"duplicate {resource_type}.{name}"
                    )
                    merged["resource"][(resource_type, name)] = body
        for block in document.get("data", []):
            for data_type, named in block.items():
                for name, body in named.items():
                    merged["data"][(data_type, name)] = body
        for block in document.get("locals", []):
            for key, value in block.items():
                assert key not in merged["locals"], f"local.{key} defined twice"
                merged["locals"][key] = value
        for kind in ("variable", "output"):
            for block in document.get(kind, []):
                merged[kind].update(block)
        merged["terraform"].extend(document.get("terraform", []))
    return merged


def resources(resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: body for (kind, name), body in terraform()["resource"].items() if kind == resource_type}


def resource(resource_type: str, name: str) -> dict[str, Any]:
    found = resources(resource_type)
    assert name in found, f"infra/ has no {resource_type}.{name}"
    return found[name]


def block(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The single nested block `name` of a resource body."""
    blocks = body.get(name)
    assert isinstance(blocks, list) and len(blocks) == 1, f"expected exactly one {name} block, got {blocks!r}"
    return blocks[0]


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        yield value


# What a for_each resource may iterate over, and the dynamic-block for_each forms understood.
FOR_EACH_LOCAL = re.compile(r"\$\{local\.(\w+)\}")
FOR_EACH_LOCAL_SET = re.compile(r"\$\{toset\(local\.(\w+)\)\}")
EACH_VALUE_ATTRIBUTE = re.compile(r"\$\{each\.value\.(\w+)\}")
# `each.value.X == null ? [] : [each.value.X]`, optionally also empty unless the data lives in GCS
# (the storage triggers: `... == null || var.storage_backend != "gcs" ? [] : ...`).
OPTIONAL_DYNAMIC = re.compile(
    r"\$\{each\.value\.(\w+) == null( \|\| var\.storage_backend != \"gcs\")? \? \[\] : \[each\.value\.\1\]\}"
)


def for_each_instances(body: dict[str, Any]) -> dict[str, Any]:
    """The instances of a for_each resource, key -> each.value, read from the local it iterates."""
    expression = body["for_each"]
    if match := FOR_EACH_LOCAL.fullmatch(expression):
        instances = terraform()["locals"].get(match.group(1))
        assert isinstance(instances, dict), f"local.{match.group(1)} must be an object literal"
        return instances
    if match := FOR_EACH_LOCAL_SET.fullmatch(expression):
        names = terraform()["locals"].get(match.group(1))
        assert isinstance(names, list), f"local.{match.group(1)} must be a list literal"
        return {unquote(name): unquote(name) for name in names}
    pytest.fail(f"cannot expand for_each = {expression!r} (use local.<map> or toset(local.<list>))")


def substitute(value: Any, replace: Any) -> Any:
    """Apply replace(str) -> Any to every string of a parsed body, recursively."""
    if isinstance(value, dict):
        return {key: substitute(item, replace) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, replace) for item in value]
    if isinstance(value, str):
        return replace(value)
    return value


def resolve_iterator(reference: str, value: str, text: str) -> str:
    """`[<block>.value]` inside a dynamic block's content, for one iteration value."""
    return text.replace(f"[{reference}]", f'["{value}"]')


def instantiate(body: dict[str, Any], key: str, item: Any, storage_backend: str = "gcs") -> dict[str, Any]:
    """One instance of a for_each resource: each.key / each.value resolved, dynamic blocks expanded.

    ``storage_backend`` is the value of var.storage_backend the instance is expanded for.
    """

    def resolve_each(text: str) -> Any:
        if text == "${each.key}":
            return key
        if match := EACH_VALUE_ATTRIBUTE.fullmatch(text):
            assert isinstance(item, dict) and match.group(1) in item, f"{key} has no {match.group(1)}"
            return item[match.group(1)]
        resolved = text.replace("[each.key]", f'["{key}"]').replace("${each.key}", key)
        assert "each." not in resolved, f"cannot resolve {text!r} for instance {key!r}"
        return resolved

    instance = {name: value for name, value in body.items() if name not in ("for_each", "dynamic")}
    for dynamic in body.get("dynamic", []):
        for block_name, spec in dynamic.items():
            match = OPTIONAL_DYNAMIC.fullmatch(spec["for_each"])
            assert match, f'dynamic "{block_name}" for_each {spec["for_each"]!r} is not understood'
            assert isinstance(item, dict) and match.group(1) in item, f"{key} has no {match.group(1)}"
            only_on_gcs = match.group(2) is not None
            empty = item[match.group(1)] is None or (only_on_gcs and storage_backend != "gcs")
            values = [] if empty else [item[match.group(1)]]
            assert len(spec["content"]) == 1, f'dynamic "{block_name}" needs exactly one content block'
            assert block_name not in instance, f"{block_name} is both a static and a dynamic block"
            if values:
                instance[block_name] = [
                    substitute(spec["content"][0], partial(resolve_iterator, f"{block_name}.value", value))
                    for value in values
                ]
    instance = substitute(instance, resolve_each)
    for dynamic in body.get("dynamic", []):
        for block_name in dynamic:
            leftover = [text for text in strings(instance) if f"{block_name}.value" in text]
            assert not leftover, f"cannot resolve {leftover} for instance {key!r}"
    return instance


def function_resources(storage_backend: str = "gcs") -> dict[str, dict[str, Any]]:
    """Cloud Functions keyed by their entry point, for_each resources expanded to their instances.

    Each carries "address", the Terraform address other resources must use to reach it.
    """
    by_entry_point: dict[str, dict[str, Any]] = {}
    for name, body in resources("google_cloudfunctions2_function").items():
        if "for_each" in body:
            instances = {
                f'google_cloudfunctions2_function.{name}["{key}"]': instantiate(body, key, item, storage_backend)
                for key, item in for_each_instances(body).items()
            }
        else:
            assert "dynamic" not in body, (
                f"google_cloudfunctions2_function.{name}: dynamic blocks need for_each"
            )
            instances = {f"google_cloudfunctions2_function.{name}": body}
        for address, instance in instances.items():
            entry_point = block(instance, "build_config")["entry_point"]
            assert isinstance(entry_point, str), f"{address} has entry point {entry_point!r}"
            assert entry_point not in by_entry_point, f"two functions use entry point {entry_point}"
            by_entry_point[entry_point] = {"address": address, **instance}
    return by_entry_point


def function_uri(name: str) -> str:
    """How other resources must reference the URI of function `name`."""
    return "${" + function_resources()[name]["address"] + ".service_config[0].uri}"


def function_folders() -> list[str]:
    return sorted(
        folder.name
        for folder in FUNCTIONS_DIR.iterdir()
        if folder.is_dir() and not folder.name.startswith((".", "_"))
    )


def variable_default(name: str) -> Any:
    variables = terraform()["variable"]
    assert name in variables, f"infra/variables.tf has no variable {name}"
    return variables[name].get("default")


# --------------------------------------------------------------------------- functions


def test_every_function_folder_has_a_function_resource() -> None:
    folders = function_folders()
    functions = function_resources()

    assert set(EXPECTED_FUNCTIONS) <= set(folders), (
        f"functions/ lacks {sorted(set(EXPECTED_FUNCTIONS) - set(folders))}"
    )
    for folder in folders:
        assert folder in functions, (
            f"functions/{folder} has no google_cloudfunctions2_function with entry_point {folder!r}"
        )
    assert set(functions) == set(folders), (
        f"functions without a folder: {sorted(set(functions) - set(folders))}"
    )


@pytest.mark.parametrize("name", sorted(EXPECTED_FUNCTIONS))
def test_entry_point_exists_in_main_py(name: str) -> None:
    main_file = FUNCTIONS_DIR / name / "main.py"
    if not main_file.is_file():
        pytest.fail(f"functions/{name}/main.py missing", pytrace=False)
    tree = ast.parse(main_file.read_text(encoding="utf-8"), filename=str(main_file))
    definitions = {
        node.name: node for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    if name not in definitions:
        pytest.fail(f"functions/{name}/main.py has no top-level function {name}(...)", pytrace=False)
    arguments = definitions[name].args
    positional = arguments.posonlyargs + arguments.args
    assert len(positional) == 1, (
        f"{name}() must take exactly one argument (the {EXPECTED_FUNCTIONS[name]} payload)"
    )


@pytest.mark.parametrize("name", sorted(EXPECTED_FUNCTIONS))
def test_function_is_built_from_its_own_content_hashed_zip(name: str) -> None:
    function = function_resources()[name]
    storage_source = block(block(block(function, "build_config"), "source"), "storage_source")

    assert storage_source["object"] == f'${{google_storage_bucket_object.function_source["{name}"].name}}'
    source_object = resource("google_storage_bucket_object", "function_source")
    assert "filesha256(" in source_object["name"], "the source object must be named by the zip's content hash"
    assert terraform()["locals"]["function_names"] == sorted(
        EXPECTED_FUNCTIONS, key=list(EXPECTED_FUNCTIONS).index
    )
    assert "/${name}.zip" in terraform()["locals"]["function_zips"], "zips must be <package_dir>/<name>.zip"


@pytest.mark.parametrize("name", sorted(EXPECTED_FUNCTIONS))
def test_function_runs_as_its_own_service_account_with_internal_ingress(name: str) -> None:
    service_config = block(function_resources()[name], "service_config")

    assert service_config["service_account_email"] == f'${{google_service_account.function["{name}"].email}}'
    assert service_config["ingress_settings"] == "ALLOW_INTERNAL_ONLY"


# --------------------------------------------------------------------------- environment


def cloud_variable_names() -> set[str]:
    return set(settings.ENVIRONMENT_VARIABLES) - set(settings.EMBEDDED_ONLY_VARIABLES)


def test_settings_declare_the_names_infra_relies_on() -> None:
    assert "DROPSCORE_HOME" in settings.EMBEDDED_ONLY_VARIABLES
    assert "DROPSCORE_PII_KEY" in settings.ENVIRONMENT_VARIABLES
    assert set(settings.EMBEDDED_ONLY_VARIABLES) <= set(settings.ENVIRONMENT_VARIABLES)


@pytest.mark.parametrize("name", sorted(EXPECTED_FUNCTIONS))
def test_every_dropscore_variable_the_code_reads_is_set_on_the_function(name: str) -> None:
    service_config = block(function_resources()[name], "service_config")
    plain_environment = terraform()["locals"]["function_environment"]
    assert isinstance(plain_environment, dict), "local.function_environment must be an object literal"
    assert "local.function_environment" in service_config["environment_variables"]

    plain_names = set(plain_environment)
    secret_names = {secret["key"] for secret in service_config.get("secret_environment_variables", [])}
    secret_names |= {
        content["key"]
        for dynamic in service_config.get("dynamic", [])
        for content in dynamic.get("secret_environment_variables", {}).get("content", [])
    }
    extra_environment = terraform()["locals"]["aws_environment"]

    assert "DROPSCORE_" not in extra_environment, "local.aws_environment must not set DROPSCORE_* names"
    assert not plain_names & secret_names, (
        f"set both plainly and as secrets: {sorted(plain_names & secret_names)}"
    )
    missing = cloud_variable_names() - plain_names - secret_names
    unknown = {n for n in plain_names | secret_names if n.startswith("DROPSCORE_")} - cloud_variable_names()
    assert not missing, f"{name} does not get {sorted(missing)} (shared/settings.py reads them)"
    assert not unknown, (
        f"{name} gets {sorted(unknown)}, which shared/settings.py does not read (or are embedded-only)"
    )


@pytest.mark.parametrize("name", sorted(EXPECTED_FUNCTIONS))
def test_pii_key_comes_from_secret_manager(name: str) -> None:
    service_config = block(function_resources()[name], "service_config")
    secrets = {secret["key"]: secret for secret in service_config.get("secret_environment_variables", [])}

    assert "DROPSCORE_PII_KEY" in secrets
    assert "DROPSCORE_PII_KEY" not in terraform()["locals"]["function_environment"]
    assert secrets["DROPSCORE_PII_KEY"]["secret"].startswith("${google_secret_manager_secret.")


def test_embedded_only_variables_are_not_set_in_the_cloud() -> None:
    infra_text = "\n".join(path.read_text(encoding="utf-8") for path in INFRA_DIR.glob("*.tf"))
    for variable in settings.EMBEDDED_ONLY_VARIABLES:
        assert variable not in terraform()["locals"]["function_environment"]
        assert re.search(rf"\b{variable}\s*=", infra_text) is None, f"{variable} is assigned in infra/"


def test_bucket_variables_point_at_the_buckets_terraform_creates() -> None:
    environment = terraform()["locals"]["function_environment"]
    for area in settings.AREAS:
        assert environment[f"DROPSCORE_BUCKET_{area.upper()}"] == f'${{local.area_uris["{area}"]}}'
    assert set(settings.AREAS) == {unquote(area) for area in terraform()["locals"]["areas"]}
    assert "${var.name_prefix}-${area}" in terraform()["locals"]["data_bucket_names"]
    assert '"gs://${var.name_prefix}"' in terraform()["locals"]["storage_uri"]
    assert resource("google_storage_bucket", "data")["for_each"] == "${local.data_bucket_names}"

    # The explicit URIs and the code's own derivation from DROPSCORE_STORAGE agree.
    derived = settings.load_settings({"DROPSCORE_STORAGE": "gs://acme-dropscore"})
    for area in settings.AREAS:
        assert derived.area_uri(area) == f"gs://acme-dropscore-{area}"


def test_warehouse_topics_and_mlflow_variables_name_the_right_resources() -> None:
    environment = terraform()["locals"]["function_environment"]

    assert environment["DROPSCORE_WAREHOUSE"] == "bigquery://${var.project_id}/${local.dataset_id}"
    assert environment["DROPSCORE_RETRAIN_TOPIC"] == "${google_pubsub_topic.retrain.id}"
    assert environment["DROPSCORE_ALERT_TOPIC"] == "${google_pubsub_topic.alerts.id}"
    assert environment["DROPSCORE_MLFLOW_TRACKING_URI"] == "${google_cloud_run_v2_service.mlflow.uri}"
    assert environment["DROPSCORE_RETRAIN_JOB"] == "${local.retrain_job_id}"


# --------------------------------------------------------------------------- triggers


@pytest.mark.parametrize(("name", "area"), [("clean", "raw"), ("score", "clean")])
def test_storage_triggers_point_at_the_right_bucket_and_retry(name: str, area: str) -> None:
    trigger = block(function_resources()[name], "event_trigger")

    assert trigger["event_type"] == STORAGE_FINALIZED
    assert trigger["retry_policy"] == "RETRY_POLICY_RETRY"
    assert trigger["event_filters"] == [
        {"attribute": "bucket", "value": f'${{google_storage_bucket.data["{area}"].name}}'}
    ]
    assert trigger["service_account_email"] == "${google_service_account.eventarc.email}"
    invokers = terraform()["locals"]["function_invokers"]
    assert invokers[name] == "serviceAccount:${google_service_account.eventarc.email}"


@pytest.mark.parametrize("name", ["drift", "retrain"])
def test_drift_and_retrain_have_no_eventarc_trigger(name: str) -> None:
    assert "event_trigger" not in function_resources()[name]


def test_retrain_is_fed_by_the_retrain_topic_with_a_dead_letter_topic() -> None:
    subscriptions = resources("google_pubsub_subscription")
    pushing = {name: body for name, body in subscriptions.items() if "push_config" in body}
    assert list(pushing) == ["retrain_push"], f"push subscriptions: {sorted(pushing)}"
    subscription = pushing["retrain_push"]
    push = block(subscription, "push_config")
    dead_letter = block(subscription, "dead_letter_policy")
    retrain_uri = function_uri("retrain")

    assert subscription["topic"] == "${google_pubsub_topic.retrain.id}"
    assert push["push_endpoint"].startswith(retrain_uri + "/")
    assert push["push_endpoint"].endswith("${google_pubsub_topic.retrain.id}")
    oidc = block(push, "oidc_token")
    assert oidc["audience"] == retrain_uri
    assert oidc["service_account_email"] == "${google_service_account.retrain_push.email}"
    assert dead_letter["dead_letter_topic"] == "${google_pubsub_topic.retrain_dead_letter.id}"
    assert (
        terraform()["locals"]["function_invokers"]["retrain"]
        == "serviceAccount:${google_service_account.retrain_push.email}"
    )
    # The topic drift publishes to is the one retrain listens on.
    assert terraform()["locals"]["function_environment"]["DROPSCORE_RETRAIN_TOPIC"] == subscription["topic"]


def test_pubsub_service_agent_can_dead_letter_and_sign_push_tokens() -> None:
    dead_letter_publisher = resource("google_pubsub_topic_iam_member", "pubsub_agent_dead_letter_publisher")
    subscriber = resource("google_pubsub_subscription_iam_member", "pubsub_agent_retrain_subscriber")
    token_creator = resource("google_service_account_iam_member", "pubsub_agent_token_creator")

    assert dead_letter_publisher["topic"] == "${google_pubsub_topic.retrain_dead_letter.id}"
    assert dead_letter_publisher["role"] == "roles/pubsub.publisher"
    assert subscriber["subscription"] == "${google_pubsub_subscription.retrain_push.id}"
    assert token_creator["role"] == "roles/iam.serviceAccountTokenCreator"
    assert "local.pubsub_agent" in dead_letter_publisher["member"]
    assert "google_project_service_identity.pubsub" in terraform()["locals"]["pubsub_agent"]


def test_scheduler_targets_drift_with_an_oidc_token() -> None:
    jobs = resources("google_cloud_scheduler_job")
    assert list(jobs) == ["drift"]
    job = jobs["drift"]
    http_target = block(job, "http_target")
    oidc = block(http_target, "oidc_token")
    drift_uri = function_uri("drift")

    assert http_target["uri"] == drift_uri
    assert oidc["audience"] == drift_uri
    assert oidc["service_account_email"] == "${google_service_account.scheduler.email}"
    assert job["schedule"] == "${var.drift_schedule}"
    assert job["time_zone"] == "${var.drift_time_zone}"
    assert variable_default("drift_schedule") == "0 6 1 * *"
    assert variable_default("drift_time_zone") == "America/Guayaquil"
    # Only the scheduler may invoke drift.
    assert (
        terraform()["locals"]["function_invokers"]["drift"]
        == "serviceAccount:${google_service_account.scheduler.email}"
    )


# --------------------------------------------------------------------------- nothing public


def test_no_resource_grants_public_access() -> None:
    for (resource_type, name), body in terraform()["resource"].items():
        for text in strings(body):
            for public in PUBLIC_MEMBERS:
                assert public not in text, f"{resource_type}.{name} mentions {public}"
    for public in PUBLIC_MEMBERS:
        assert all(public not in text for text in strings(terraform()["locals"]))


def test_operator_members_refuse_public_principals() -> None:
    validation = block(terraform()["variable"]["mlflow_operator_members"], "validation")
    pattern = re.search(r'regex\("([^"]+)"', validation["condition"]).group(1)
    assert re.match(pattern, "user:ana@example.com")
    for public in PUBLIC_MEMBERS:
        assert re.match(pattern, public) is None


def test_every_ingress_is_internal() -> None:
    for name, body in function_resources().items():
        assert block(body, "service_config")["ingress_settings"] == "ALLOW_INTERNAL_ONLY", name
    for name, body in resources("google_cloud_run_v2_service").items():
        ingress = body["ingress"]
        if ingress != "INGRESS_TRAFFIC_INTERNAL_ONLY":
            # Only the documented operator switch may widen it, and it is off by default.
            match = re.fullmatch(
                r'\$\{var\.(\w+) \? "INGRESS_TRAFFIC_ALL" : "INGRESS_TRAFFIC_INTERNAL_ONLY"\}', ingress
            )
            assert match, f"google_cloud_run_v2_service.{name} ingress is {ingress}"
            assert variable_default(match.group(1)) is False


def test_buckets_are_private_uniform_versioned_and_logged() -> None:
    for name, bucket in resources("google_storage_bucket").items():
        assert bucket["uniform_bucket_level_access"] is True, name
        assert bucket["public_access_prevention"] == "enforced", name
        assert block(bucket, "versioning")["enabled"] is True, name
        if name != "access_logs":
            # Optional (access_logs_enabled): a dynamic block over the log bucket, when it exists.
            logging_blocks = [d["logging"] for d in bucket.get("dynamic", []) if "logging" in d]
            assert len(logging_blocks) == 1, f"{name} has no dynamic logging block"
            assert logging_blocks[0]["for_each"] == "${local.access_log_buckets}", name
            assert logging_blocks[0]["content"][0]["log_bucket"] == "${logging.value}", name
    assert terraform()["locals"]["access_log_buckets"] == "${google_storage_bucket.access_logs[*].name}"


def test_raw_and_quarantine_expire_after_configurable_days() -> None:
    retention = terraform()["locals"]["area_retention_days"]
    assert retention["raw"] == "${var.raw_retention_days}"
    assert retention["quarantine"] == "${var.quarantine_retention_days}"


def test_database_has_no_public_ip_and_s3_blocks_public_access() -> None:
    ip_configuration = block(
        block(resource("google_sql_database_instance", "mlflow"), "settings"), "ip_configuration"
    )
    assert ip_configuration["ipv4_enabled"] is False
    for name, public_access_block in resources("aws_s3_bucket_public_access_block").items():
        for setting in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        ):
            assert public_access_block[setting] is True, f"{name}.{setting}"


def test_no_primitive_roles() -> None:
    for (resource_type, name), body in terraform()["resource"].items():
        role = body.get("role")
        if role is not None:
            assert role not in PRIMITIVE_ROLES, f"{resource_type}.{name} grants {role}"
    for text in strings(terraform()["locals"]):
        assert text not in PRIMITIVE_ROLES


def test_mlflow_serves_artifacts_into_its_bucket_with_the_password_from_secret_manager() -> None:
    service = resource("google_cloud_run_v2_service", "mlflow")
    containers = {container["name"]: container for container in block(service, "template")["containers"]}
    mlflow = containers["mlflow"]
    arguments = " ".join(strings(mlflow["args"]))
    password = next(env for env in mlflow["env"] if env["name"] == "DB_PASSWORD")

    assert "--serve-artifacts" in arguments
    assert "--artifacts-destination gs://${google_storage_bucket.model_artifacts.name}" in arguments
    assert "postgresql" in arguments
    assert block(block(password, "value_source"), "secret_key_ref")["secret"].startswith(
        "${google_secret_manager_secret."
    )
    assert mlflow["image"] == "${var.mlflow_image}"
    assert "cloud-sql-proxy" in containers


# --------------------------------------------------------------------------- BigQuery


def test_bigquery_tables_read_the_shared_schema_files() -> None:
    table = resource("google_bigquery_table", "tables")
    locals_ = terraform()["locals"]

    assert locals_["schemas_dir"] == "${path.module}/../shared/backends/warehouse/schemas"
    assert [unquote(name) for name in locals_["bigquery_table_names"]] == list(WAREHOUSE_PARTITIONS)
    assert 'file("${local.schemas_dir}/${each.key}.json")' in table["schema"]
    assert "jsondecode(" in table["schema"]
    assert 'file("${local.schemas_dir}/tables.json")' in locals_["bigquery_table_options"]
    assert table["clustering"] == "${local.bigquery_table_options[each.key].clustering}"
    partitioning = block(table, "time_partitioning")
    assert partitioning["field"] == "${local.bigquery_table_options[each.key].time_partitioning.field}"


def read_schema_file(name: str) -> Any:
    path = SCHEMAS_DIR / name
    if not path.is_file():
        pytest.fail(f"shared/backends/warehouse/schemas/{name} missing (Terraform reads it)", pytrace=False)
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("table", "partition_field"), sorted(WAREHOUSE_PARTITIONS.items()))
def test_schema_files_partition_by_day_and_cluster_on_existing_columns(
    table: str, partition_field: str
) -> None:
    fields = read_schema_file(f"{table}.json")
    options = read_schema_file("tables.json")
    assert isinstance(fields, list) and fields, f"shared/backends/warehouse/schemas/{table}.json must be a list of fields"
    columns = {field["name"]: field for field in fields}
    assert table in options, f"shared/backends/warehouse/schemas/tables.json has no entry for {table}"
    table_options = options[table]

    assert table_options["time_partitioning"] == {"type": "DAY", "field": partition_field}
    assert columns[partition_field]["type"] in ("TIMESTAMP", "DATE", "DATETIME")
    clustering = table_options["clustering"]
    assert isinstance(clustering, list) and len(clustering) <= 4, (
        f"{table}: clustering must list at most 4 columns"
    )
    if table in CLUSTERED_TABLES:
        assert clustering, f"shared/backends/warehouse/schemas/tables.json: {table} must be clustered (non-empty clustering)"
    assert set(clustering) <= set(columns), (
        f"{table} clusters on unknown columns {sorted(set(clustering) - set(columns))}"
    )
    assert isinstance(table_options.get("description"), str) and table_options["description"]


# --------------------------------------------------------------------------- module hygiene


def test_every_variable_is_typed_and_described_and_enumerations_are_validated() -> None:
    variables = terraform()["variable"]
    for name, variable in variables.items():
        assert "type" in variable, f"variable {name} has no type"
        assert variable.get("description"), f"variable {name} has no description"
    for enumeration in ("storage_backend", "language", "function_runtime", "mlflow_db_version"):
        assert "validation" in variables[enumeration], f"variable {enumeration} has no validation"
    assert variable_default("storage_backend") == "gcs"
    assert 'contains(["gcs", "s3"]' in block(variables["storage_backend"], "validation")["condition"]
    settings_keys = set(variable_default("function_settings"))
    assert settings_keys == set(EXPECTED_FUNCTIONS)


def test_every_output_is_described() -> None:
    outputs = terraform()["output"]
    for name, output in outputs.items():
        assert output.get("description"), f"output {name} has no description"
    for required in ("bucket_names", "function_uris", "mlflow_url", "bigquery_dataset_id"):
        assert required in outputs


def test_provider_versions_are_pinned_to_a_range() -> None:
    required = {}
    for terraform_block in terraform()["terraform"]:
        for providers in terraform_block.get("required_providers", []):
            required.update(providers)
    assert set(required) == {"google", "google-beta", "aws", "archive", "random", "time"}
    for name, provider in required.items():
        assert "<" in provider["version"] and ">=" in provider["version"], (
            f"{name} version {provider['version']!r}"
        )


VERSION_RANGE = re.compile(r"^>= ?(\d+)\.(\d+)(?:\.\d+)?, ?< ?(\d+)\.0$")


def test_each_provider_range_stays_inside_one_major_version() -> None:
    """Issue 14, item 7: ">= 5.80, < 7.0" let one machine lock aws 5.x and the next 6.x."""
    for terraform_block in terraform()["terraform"]:
        for providers in terraform_block.get("required_providers", []):
            for name, provider in providers.items():
                match = VERSION_RANGE.match(provider["version"])
                assert match, f"{name}: {provider['version']!r} is not '>= X.Y, < Z.0'"
                lower_major, upper_major = int(match.group(1)), int(match.group(3))
                assert upper_major == lower_major + 1, f"{name} {provider['version']!r} spans more than one major version"


def test_s3_fallback_is_conditional_and_policy_limited_to_the_bucket() -> None:
    assert terraform()["locals"]["s3_enabled"] == '${var.storage_backend == "s3" || var.s3_fallback_enabled}'
    for (resource_type, name), body in terraform()["resource"].items():
        if resource_type.startswith("aws_"):
            assert body.get("count") == "${local.s3_count}", f"{resource_type}.{name} is not conditional"
    policy = resource("aws_iam_policy", "s3_access")["policy"]
    assert "aws_s3_bucket.data[0].arn" in policy
    assert '"*"' not in policy and 'Resource = "*"' not in policy
