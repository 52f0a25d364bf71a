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

  # One entry per function (keys match local.function_names and var.function_settings). The key
  # is also the entry point; trigger_area is the data bucket whose finalize events invoke it
  # through Eventarc, or null for the functions invoked over HTTP (drift by Cloud Scheduler,
  # retrain by the Pub/Sub push subscription in pubsub.tf).
  functions = {
    clean = {
      description  = "Validates and cleans each file dropped in the raw bucket; rejected rows go to quarantine."
      trigger_area = "raw"
    }
    score = {
      description  = "Scores each clean batch with the champion model and writes predictions."
      trigger_area = "clean"
    }
    drift = {
      description  = "Monthly drift and performance check; requests a retrain when warranted. Invoked by Cloud Scheduler."
      trigger_area = null
    }
    retrain = {
      description  = "Trains a challenger, gates it against the champion and promotes or keeps it. Fed by the retrain topic."
      trigger_area = null
    }
  }
}

resource "google_cloudfunctions2_function" "function" {
  for_each = local.functions

  name        = "${var.name_prefix}-${each.key}"
  project     = var.project_id
  location    = var.region
  description = each.value.description

  build_config {
    runtime           = local.function_build.runtime
    entry_point       = each.key
    service_account   = local.function_build.service_account
    docker_repository = local.function_build.docker_repository
    source {
      storage_source {
        bucket = local.function_build.source_bucket
        object = google_storage_bucket_object.function_source[each.key].name
      }
    }
  }

  service_config {
    available_memory                 = var.function_settings[each.key].memory
    timeout_seconds                  = var.function_settings[each.key].timeout_seconds
    max_instance_count               = var.function_settings[each.key].max_instances
    min_instance_count               = 0
    max_instance_request_concurrency = 1
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function[each.key].email
    environment_variables            = merge(local.function_environment, local.aws_environment)

    secret_environment_variables {
      key        = "DROPSCORE_PII_KEY"
      project_id = var.project_id
      secret     = google_secret_manager_secret.pii_key.secret_id
      version    = google_secret_manager_secret_version.pii_key.version
    }

    # The webhook URL is a credential (whoever has it can post into the channel): it lives in
    # Secret Manager (secrets.tf) and reaches the code as a secret environment variable, the
    # shape of the provider's "Cloudfunctions2 Secret Env" example. No webhook, no variable.
    dynamic "secret_environment_variables" {
      for_each = local.alert_webhook_secrets
      content {
        key        = "DROPSCORE_ALERT_WEBHOOK"
        project_id = var.project_id
        secret     = secret_environment_variables.value.secret_id
        version    = secret_environment_variables.value.version
      }
    }

    direct_vpc_egress = "VPC_EGRESS_ALL_TRAFFIC"
    direct_vpc_network_interface {
      network    = google_compute_network.vpc.name
      subnetwork = google_compute_subnetwork.serverless.name
    }
  }

  # Storage finalize on the function's trigger bucket (clean: raw, score: clean), retried on failure.
  # Only while the data lives in GCS: with storage_backend = "s3" the GCS buckets stay empty and
  # S3 sends no events to Google Cloud, so a trigger would only wait on the wrong bucket.
  dynamic "event_trigger" {
    for_each = each.value.trigger_area == null || var.storage_backend != "gcs" ? [] : [each.value.trigger_area]
    content {
      trigger_region        = var.region
      event_type            = "google.cloud.storage.object.v1.finalized"
      retry_policy          = "RETRY_POLICY_RETRY"
      service_account_email = google_service_account.eventarc.email
      event_filters {
        attribute = "bucket"
        value     = google_storage_bucket.data[event_trigger.value].name
      }
    }
  }

  # depends_on cannot vary per instance: the Eventarc grants only matter to clean and score,
  # and merely order drift and retrain after them. The two time_sleep resources (iam.tf) come
  # after the builder and Eventarc grants, so a fresh project's first apply does not race them.
  depends_on = [
    google_project_iam_member.gcs_agent_pubsub_publisher,
    google_project_iam_member.eventarc_receiver,
    google_project_service_identity.eventarc,
    google_secret_manager_secret_iam_member.pii_key_accessor,
    google_secret_manager_secret_iam_member.alert_webhook_accessor,
    google_project_iam_member.builder,
    google_artifact_registry_repository_iam_member.builder_writer,
    google_storage_bucket_iam_member.builder_sources_reader,
    google_project_iam_member.builder_gcf_sources_reader,
    time_sleep.builder_iam_propagation,
    time_sleep.eventarc_iam_propagation,
  ]
}

# The functions were four separate resources; these keep the deployed ones in place.
moved {
  from = google_cloudfunctions2_function.clean
  to   = google_cloudfunctions2_function.function["clean"]
}

moved {
  from = google_cloudfunctions2_function.score
  to   = google_cloudfunctions2_function.function["score"]
}

moved {
  from = google_cloudfunctions2_function.drift
  to   = google_cloudfunctions2_function.function["drift"]
}

moved {
  from = google_cloudfunctions2_function.retrain
  to   = google_cloudfunctions2_function.function["retrain"]
}

# ---------------------------------------------------------------------------------------------
# Who may invoke what (Cloud Run invoker on each function's underlying service)
# ---------------------------------------------------------------------------------------------

locals {
  # Gen2 functions run on a Cloud Run service of the same name.
  function_services = { for name, function in google_cloudfunctions2_function.function : name => function.name }

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
    uri         = google_cloudfunctions2_function.function["drift"].service_config[0].uri
    headers = {
      "Content-Type" = "application/json"
    }
    body = base64encode(jsonencode({ trigger = "cloud-scheduler" }))

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloudfunctions2_function.function["drift"].service_config[0].uri
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.function_invoker]
}
