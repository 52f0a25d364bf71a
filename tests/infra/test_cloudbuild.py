"""cloudbuild.yaml: every substitution it uses is defined, every step names its image and entrypoint,
and the stages run in the order the delivery depends on."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
CLOUDBUILD_FILE = REPOSITORY_ROOT / "cloudbuild.yaml"

# Substitutions Cloud Build defines by itself.
BUILT_IN_SUBSTITUTIONS = {
    "PROJECT_ID",
    "PROJECT_NUMBER",
    "BUILD_ID",
    "LOCATION",
    "TRIGGER_NAME",
    "COMMIT_SHA",
    "SHORT_SHA",
    "REVISION_ID",
    "REPO_NAME",
    "REPO_FULL_NAME",
    "BRANCH_NAME",
    "TAG_NAME",
    "REF_NAME",
    "TRIGGER_BUILD_CONFIG_PATH",
    "SERVICE_ACCOUNT_EMAIL",
    "SERVICE_ACCOUNT",
}
# $NAME or ${NAME}, but not $$ (an escaped dollar handed to the shell).
SUBSTITUTION = re.compile(r"(?<!\$)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
STAGE_ORDER = [
    "install",
    "lint",
    "test",
    "checkov",
    "package",
    "retrain-image",
    "terraform-init",
    "terraform-validate",
    "terraform-plan",
    "terraform-apply",
    "smoke-test",
]


@pytest.fixture(scope="module")
def cloudbuild() -> dict[str, Any]:
    assert CLOUDBUILD_FILE.is_file(), "cloudbuild.yaml missing at the repository root"
    return yaml.safe_load(CLOUDBUILD_FILE.read_text(encoding="utf-8"))


def used_substitutions(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(used_substitutions(item) for item in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(used_substitutions(item) for item in value)) if value else set()
    if isinstance(value, str):
        return {braced or bare for braced, bare in SUBSTITUTION.findall(value)}
    return set()


def test_every_substitution_used_is_defined(cloudbuild: dict[str, Any]) -> None:
    defined = set(cloudbuild.get("substitutions", {}))
    used = used_substitutions({key: value for key, value in cloudbuild.items() if key != "substitutions"})

    undefined = used - defined - BUILT_IN_SUBSTITUTIONS
    assert not undefined, f"cloudbuild.yaml uses undefined substitutions {sorted(undefined)}"
    assert all(name.startswith("_") for name in defined), "user substitutions must start with an underscore"
    unused = defined - used
    assert not unused, f"substitutions defined but never used: {sorted(unused)}"


def test_every_step_sets_its_image_and_entrypoint(cloudbuild: dict[str, Any]) -> None:
    steps = cloudbuild["steps"]
    assert steps, "cloudbuild.yaml has no steps"
    for index, step in enumerate(steps):
        label = step.get("id", f"step {index}")
        assert step.get("id"), f"step {index} has no id"
        assert step.get("name"), f"{label} has no image (name)"
        assert step.get("entrypoint"), f"{label} has no entrypoint"


def test_images_are_pinned(cloudbuild: dict[str, Any]) -> None:
    substitutions = cloudbuild["substitutions"]
    for step in cloudbuild["steps"]:
        image = step["name"]
        for braced, bare in SUBSTITUTION.findall(image):
            image = image.replace(
                f"${{{braced}}}" if braced else f"${bare}", str(substitutions[braced or bare])
            )
        assert ":" in image.rsplit("/", 1)[-1], f"{step['id']}: image {image} has no tag"
        assert not image.endswith(":latest"), f"{step['id']}: image {image} is not pinned"


def test_stages_run_in_delivery_order(cloudbuild: dict[str, Any]) -> None:
    ids = [step["id"] for step in cloudbuild["steps"]]
    positions = [ids.index(stage) for stage in STAGE_ORDER if stage in ids]
    assert [stage for stage in STAGE_ORDER if stage in ids] == STAGE_ORDER, (
        f"missing stages: {set(STAGE_ORDER) - set(ids)}"
    )
    assert positions == sorted(positions), f"stages out of order: {ids}"
    for step in cloudbuild["steps"]:
        assert "waitFor" not in step, f"{step['id']}: steps must run one after the other"


def test_make_targets_and_commands(cloudbuild: dict[str, Any]) -> None:
    steps = {step["id"]: step for step in cloudbuild["steps"]}

    assert steps["test"]["entrypoint"] == "make" and steps["test"]["args"] == ["test"]
    assert steps["package"]["entrypoint"] == "make" and steps["package"]["args"] == ["package"]
    assert steps["checkov"]["args"] == ["infra-check"]
    assert "ruff" in " ".join(steps["lint"]["args"]) or steps["lint"]["args"] == ["lint"]
    assert "-chdir=infra" in " ".join(steps["terraform-plan"]["args"])


def test_apply_is_skipped_unless_enabled(cloudbuild: dict[str, Any]) -> None:
    steps = {step["id"]: step for step in cloudbuild["steps"]}
    apply_script = " ".join(steps["terraform-apply"]["args"])
    smoke_script = " ".join(steps["smoke-test"]["args"])

    assert cloudbuild["substitutions"]["_APPLY"] == "false"
    assert '"${_APPLY}" = "true"' in apply_script and "apply -input=false tfplan" in apply_script
    assert "${_APPLY}" in smoke_script and "infra/smoke_test.py" in smoke_script
    assert (REPOSITORY_ROOT / "infra" / "smoke_test.py").is_file()


def test_makefile_targets_used_by_the_build_exist() -> None:
    makefile = (REPOSITORY_ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("install", "lint", "test", "infra-check", "package"):
        assert re.search(rf"^{re.escape(target)}:", makefile, re.MULTILINE), (
            f"Makefile has no {target} target"
        )
    assert re.search(r"^test:.*\$\(INFRA_VENV\)/\.installed", makefile, re.MULTILINE), (
        "make test must install .venv-infra"
    )


# ------------------------------------------------------------------ issue 14, item 7


def test_build_runs_as_the_dedicated_deployer_account(cloudbuild: dict[str, Any]) -> None:
    """Not Cloud Build's default account (effectively Owner); logs then must go to Cloud Logging."""
    assert cloudbuild["serviceAccount"] == (
        "projects/${PROJECT_ID}/serviceAccounts/${_NAME_PREFIX}-deployer@${PROJECT_ID}.iam.gserviceaccount.com"
    )
    assert cloudbuild["options"]["logging"] == "CLOUD_LOGGING_ONLY"
    roles = (REPOSITORY_ROOT / "infra" / "deployer-roles.txt").read_text(encoding="utf-8")
    assert "roles/logging.logWriter" in roles


def test_timeout_fits_tests_a_first_apply_and_the_smoke_test(cloudbuild: dict[str, Any]) -> None:
    timeout = int(cloudbuild["timeout"].removesuffix("s"))
    smoke = " ".join(step for step in next(s for s in cloudbuild["steps"] if s["id"] == "smoke-test")["args"])
    # ~20 min of checks and packaging, ~45 min of first apply, up to 15 min of smoke test.
    assert timeout >= 80 * 60, f"{timeout} s cannot hold tests + a first apply + the smoke test"
    assert timeout <= 24 * 3600, "Cloud Build's maximum"
    assert "--timeout" not in smoke or "900" in smoke


def test_terraform_init_uses_the_committed_lock_file_read_only(cloudbuild: dict[str, Any]) -> None:
    steps = {step["id"]: step for step in cloudbuild["steps"]}
    script = " ".join(steps["terraform-init"]["args"])
    assert "-lockfile=readonly" in script
    assert "infra/.terraform.lock.hcl" in script, "a missing lock file must stop the build with a message"


def test_retrain_image_is_built_from_the_packaged_zip_and_passed_to_the_plan(cloudbuild: dict[str, Any]) -> None:
    steps = {step["id"]: step for step in cloudbuild["steps"]}
    build = " ".join(steps["retrain-image"]["args"])
    assert "infra/retrain/Dockerfile" in build and "sha256sum dist/functions/retrain.zip" in build
    assert "docker push" in build
    assert "-var=retrain_image=$$(cat retrain-image.txt)" in " ".join(steps["terraform-plan"]["args"])


# Which deployer role creates each resource type infra/ uses (longest prefix wins). A new
# resource type fails test_deployer_roles_cover_every_resource_type until it is mapped here and
# its role is in infra/deployer-roles.txt.
ROLE_FOR_RESOURCE_PREFIX = {
    "google_artifact_registry_": "roles/artifactregistry.admin",
    "google_bigquery_": "roles/bigquery.admin",
    "google_cloudfunctions2_": "roles/cloudfunctions.admin",
    "google_cloud_run_v2_": "roles/run.admin",
    "google_cloud_scheduler_": "roles/cloudscheduler.admin",
    "google_compute_firewall": "roles/compute.securityAdmin",
    "google_compute_": "roles/compute.networkAdmin",
    "google_project_iam_": "roles/resourcemanager.projectIamAdmin",
    "google_project_service": "roles/serviceusage.serviceUsageAdmin",
    "google_pubsub_": "roles/pubsub.admin",
    "google_secret_manager_": "roles/secretmanager.admin",
    "google_service_account": "roles/iam.serviceAccountAdmin",
    "google_service_networking_": "roles/servicenetworking.networksAdmin",
    "google_sql_": "roles/cloudsql.admin",
    "google_storage_": "roles/storage.admin",
    # No Google Cloud role: local to Terraform, or on AWS (applied with AWS credentials).
    "random_": None,
    "time_": None,
    "aws_": None,
}


def deployer_roles() -> set[str]:
    text = (REPOSITORY_ROOT / "infra" / "deployer-roles.txt").read_text(encoding="utf-8")
    return {line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")}


def test_deployer_roles_cover_every_resource_type() -> None:
    from tests.infra.test_terraform import terraform

    roles = deployer_roles()
    for resource_type in sorted({kind for kind, _ in terraform()["resource"]}):
        prefixes = [prefix for prefix in ROLE_FOR_RESOURCE_PREFIX if resource_type.startswith(prefix)]
        assert prefixes, f"{resource_type}: which deployer role creates it? (map it in ROLE_FOR_RESOURCE_PREFIX)"
        role = ROLE_FOR_RESOURCE_PREFIX[max(prefixes, key=len)]
        assert role is None or role in roles, f"{resource_type} needs {role} in infra/deployer-roles.txt"
    # Storage triggers create Eventarc triggers; deploying functions and the job acts as their accounts.
    assert {"roles/eventarc.admin", "roles/iam.serviceAccountUser", "roles/logging.logWriter"} <= roles
    assert not roles & {"roles/owner", "roles/editor"}, "the deployer must not be Owner or Editor"
