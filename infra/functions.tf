# The four Cloud Run functions (2nd gen). Each folder functions/<name>/ becomes one function whose
# entry point is the Python function <name> in its main.py; the zip comes from `make package`.
#
#   clean   storage finalize on the raw bucket    (Eventarc, retried on failure)
#   score   storage finalize on the clean bucket  (Eventarc, retried on failure)
#   drift   HTTP, invoked only by Cloud Scheduler with an OIDC token
#   retrain Pub/Sub push from the retrain topic, with a dead-letter topic (pubsub.tf)
#
# All four accept internal traffic only, run as their own service account, and get the same
# DROPSCORE_* environment (main.tf, local.function_environment) plus the PII key as a secret.

locals {
  function_build = {
    runtime           = var.function_runtime
    service_account   = google_service_account.builder.id
    docker_repository = google_artifact_registry_repository.images.id
    source_bucket     = google_storage_bucket.function_sources.name
  }
}

resource "google_cloudfunctions2_function" "clean" {
  name        = "${var.name_prefix}-clean"
  project     = var.project_id
  location    = var.region
  description = "Validates and cleans each file dropped in the raw bucket; rejected rows go to quarantine."

  build_config {
    runtime           = local.function_build.runtime
    entry_point       = "clean"
    service_account   = local.function_build.service_account
    docker_repository = local.function_build.docker_repository
    source {
      storage_source {
        bucket = local.function_build.source_bucket
        object = google_storage_bucket_object.function_source["clean"].name
      }
    }
  }

  service_config {
    available_memory                 = var.function_settings["clean"].memory
    timeout_seconds                  = var.function_settings["clean"].timeout_seconds
    max_instance_count               = var.function_settings["clean"].max_instances
    min_instance_count               = 0
    max_instance_request_concurrency = 1
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function["clean"].email
    environment_variables            = merge(local.function_environment, local.aws_environment)

    secret_environment_variables {
      key        = "DROPSCORE_PII_KEY"
      project_id = var.project_id
      secret     = google_secret_manager_secret.pii_key.secret_id
      version    = google_secret_manager_secret_version.pii_key.version
    }

    direct_vpc_egress = "VPC_EGRESS_ALL_TRAFFIC"
    direct_vpc_network_interface {
      network    = google_compute_network.vpc.name
      subnetwork = google_compute_subnetwork.serverless.name
    }
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.storage.object.v1.finalized"
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.eventarc.email
    event_filters {
      attribute = "bucket"
      value     = google_storage_bucket.data["raw"].name
    }
  }

  depends_on = [
    google_project_iam_member.gcs_agent_pubsub_publisher,
    google_project_iam_member.eventarc_receiver,
    google_project_service_identity.eventarc,
    google_secret_manager_secret_iam_member.pii_key_accessor,
    google_project_iam_member.builder,
    google_artifact_registry_repository_iam_member.builder_writer,
    google_storage_bucket_iam_member.builder_sources_reader,
  ]
}

resource "google_cloudfunctions2_function" "score" {
  name        = "${var.name_prefix}-score"
  project     = var.project_id
  location    = var.region
  description = "Scores each clean batch with the champion model and writes predictions."

  build_config {
    runtime           = local.function_build.runtime
    entry_point       = "score"
    service_account   = local.function_build.service_account
    docker_repository = local.function_build.docker_repository
    source {
      storage_source {
        bucket = local.function_build.source_bucket
        object = google_storage_bucket_object.function_source["score"].name
      }
    }
  }

  service_config {
    available_memory                 = var.function_settings["score"].memory
    timeout_seconds                  = var.function_settings["score"].timeout_seconds
    max_instance_count               = var.function_settings["score"].max_instances
    min_instance_count               = 0
    max_instance_request_concurrency = 1
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function["score"].email
    environment_variables            = merge(local.function_environment, local.aws_environment)

    secret_environment_variables {
      key        = "DROPSCORE_PII_KEY"
      project_id = var.project_id
      secret     = google_secret_manager_secret.pii_key.secret_id
      version    = google_secret_manager_secret_version.pii_key.version
    }

    direct_vpc_egress = "VPC_EGRESS_ALL_TRAFFIC"
    direct_vpc_network_interface {
      network    = google_compute_network.vpc.name
      subnetwork = google_compute_subnetwork.serverless.name
    }
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.storage.object.v1.finalized"
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.eventarc.email
    event_filters {
      attribute = "bucket"
      value     = google_storage_bucket.data["clean"].name
    }
  }

  depends_on = [
    google_project_iam_member.gcs_agent_pubsub_publisher,
    google_project_iam_member.eventarc_receiver,
    google_project_service_identity.eventarc,
    google_secret_manager_secret_iam_member.pii_key_accessor,
    google_project_iam_member.builder,
    google_artifact_registry_repository_iam_member.builder_writer,
    google_storage_bucket_iam_member.builder_sources_reader,
  ]
}

resource "google_cloudfunctions2_function" "drift" {
  name        = "${var.name_prefix}-drift"
  project     = var.project_id
  location    = var.region
  description = "Monthly drift and performance check; requests a retrain when warranted. Invoked by Cloud Scheduler."

  build_config {
    runtime           = local.function_build.runtime
    entry_point       = "drift"
    service_account   = local.function_build.service_account
    docker_repository = local.function_build.docker_repository
    source {
      storage_source {
        bucket = local.function_build.source_bucket
        object = google_storage_bucket_object.function_source["drift"].name
      }
    }
  }

  service_config {
    available_memory                 = var.function_settings["drift"].memory
    timeout_seconds                  = var.function_settings["drift"].timeout_seconds
    max_instance_count               = var.function_settings["drift"].max_instances
    min_instance_count               = 0
    max_instance_request_concurrency = 1
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function["drift"].email
    environment_variables            = merge(local.function_environment, local.aws_environment)

    secret_environment_variables {
      key        = "DROPSCORE_PII_KEY"
      project_id = var.project_id
      secret     = google_secret_manager_secret.pii_key.secret_id
      version    = google_secret_manager_secret_version.pii_key.version
    }

    direct_vpc_egress = "VPC_EGRESS_ALL_TRAFFIC"
    direct_vpc_network_interface {
      network    = google_compute_network.vpc.name
      subnetwork = google_compute_subnetwork.serverless.name
    }
  }

  depends_on = [
    google_secret_manager_secret_iam_member.pii_key_accessor,
    google_project_iam_member.builder,
    google_artifact_registry_repository_iam_member.builder_writer,
    google_storage_bucket_iam_member.builder_sources_reader,
  ]
}

resource "google_cloudfunctions2_function" "retrain" {
  name        = "${var.name_prefix}-retrain"
  project     = var.project_id
  location    = var.region
  description = "Trains a challenger, gates it against the champion and promotes or keeps it. Fed by the retrain topic."

  build_config {
    runtime           = local.function_build.runtime
    entry_point       = "retrain"
    service_account   = local.function_build.service_account
    docker_repository = local.function_build.docker_repository
    source {
      storage_source {
        bucket = local.function_build.source_bucket
        object = google_storage_bucket_object.function_source["retrain"].name
      }
    }
  }

  service_config {
    available_memory                 = var.function_settings["retrain"].memory
    timeout_seconds                  = var.function_settings["retrain"].timeout_seconds
    max_instance_count               = var.function_settings["retrain"].max_instances
    min_instance_count               = 0
    max_instance_request_concurrency = 1
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function["retrain"].email
    environment_variables            = merge(local.function_environment, local.aws_environment)

    secret_environment_variables {
      key        = "DROPSCORE_PII_KEY"
      project_id = var.project_id
      secret     = google_secret_manager_secret.pii_key.secret_id
      version    = google_secret_manager_secret_version.pii_key.version
    }

    direct_vpc_egress = "VPC_EGRESS_ALL_TRAFFIC"
    direct_vpc_network_interface {
      network    = google_compute_network.vpc.name
      subnetwork = google_compute_subnetwork.serverless.name
    }
  }

  depends_on = [
    google_secret_manager_secret_iam_member.pii_key_accessor,
    google_project_iam_member.builder,
    google_artifact_registry_repository_iam_member.builder_writer,
    google_storage_bucket_iam_member.builder_sources_reader,
  ]
}

# ---------------------------------------------------------------------------------------------
# Who may invoke what (Cloud Run invoker on each function's underlying service)
# ---------------------------------------------------------------------------------------------

locals {
  # Gen2 functions run on a Cloud Run service of the same name.
  function_services = {
    clean   = google_cloudfunctions2_function.clean.name
    score   = google_cloudfunctions2_function.score.name
    drift   = google_cloudfunctions2_function.drift.name
    retrain = google_cloudfunctions2_function.retrain.name
  }

  function_invokers = {
    clean   = "serviceAccount:${google_service_account.eventarc.email}"
    score   = "serviceAccount:${google_service_account.eventarc.email}"
    drift   = "serviceAccount:${google_service_account.scheduler.email}"
    retrain = "serviceAccount:${google_service_account.retrain_push.email}"
  }
}

resource "google_cloud_run_v2_service_iam_member" "function_invoker" {
  for_each = local.function_invokers

  project  = var.project_id
  location = var.region
  name     = local.function_services[each.key]
  role     = "roles/run.invoker"
  member   = each.value
}

# ---------------------------------------------------------------------------------------------
# Monthly drift check
# ---------------------------------------------------------------------------------------------

resource "google_cloud_scheduler_job" "drift" {
  name             = "${var.name_prefix}-drift"
  project          = var.project_id
  region           = var.region
  description      = "Runs the dropscore drift check (${var.drift_schedule}, ${var.drift_time_zone})."
  schedule         = var.drift_schedule
  time_zone        = var.drift_time_zone
  attempt_deadline = "${var.function_settings["drift"].timeout_seconds}s"

  retry_config {
    retry_count          = 1
    min_backoff_duration = "300s"
  }

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.drift.service_config[0].uri
    headers = {
      "Content-Type" = "application/json"
    }
    body = base64encode(jsonencode({ trigger = "cloud-scheduler" }))

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloudfunctions2_function.drift.service_config[0].uri
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.function_invoker]
}
