# Identities and least-privilege grants. One service account per function and one for MLflow,
# plus one per caller (Eventarc triggers, Cloud Scheduler, the retrain push subscription) and one
# for building the functions. Roles are granted on the resource they concern wherever Google
# Cloud allows it; no primitive roles (owner/editor/viewer).

locals {
  # What each function may do with each storage area: "read" (objectViewer) or "write"
  # (objectUser: read, create, overwrite, delete). The code's flows (docs: DESIGN.md):
  #   clean   raw -> clean | quarantine (+ file-level reports); for a file above shard_bytes it
  #           also assembles the shards' predictions parts into the predictions file, or
  #           withdraws them when the file is rejected (shared/steps/clean.py, shared/delivery/fanout.py)
  #   score   clean -> predictions (+ quarantine for unscorable rows, reports)
  #   drift   predictions + clean (labels) -> reports
  #   retrain clean (training data) -> reports
  function_bucket_access = {
    clean = {
      raw = "read", clean = "write", quarantine = "write", predictions = "write", reports = "write"
    }
    score = {
      clean = "read", predictions = "write", quarantine = "write", reports = "write"
    }
    drift = {
      clean = "read", predictions = "read", reports = "write"
    }
    retrain = {
      clean = "read", reports = "write"
    }
  }

  function_bucket_grants = merge([
    for function_name, areas in local.function_bucket_access : {
      for area, access in areas : "${function_name}-${area}" => {
        function = function_name
        area     = area
        role     = access == "write" ? "roles/storage.objectUser" : "roles/storage.objectViewer"
      }
    }
  ]...)

  # Pub/Sub topics each function publishes to.
  function_topic_grants = {
    "clean-alerts"   = { function = "clean", topic = google_pubsub_topic.alerts.id }
    "score-alerts"   = { function = "score", topic = google_pubsub_topic.alerts.id }
    "drift-alerts"   = { function = "drift", topic = google_pubsub_topic.alerts.id }
    "retrain-alerts" = { function = "retrain", topic = google_pubsub_topic.alerts.id }
    "drift-retrain"  = { function = "drift", topic = google_pubsub_topic.retrain.id }
  }

  pubsub_agent = "serviceAccount:${google_project_service_identity.pubsub.email}"
}

# ---------------------------------------------------------------------------------------------
# Service accounts
# ---------------------------------------------------------------------------------------------

resource "google_service_account" "function" {
  for_each = toset(local.function_names)

  project      = var.project_id
  account_id   = "${var.name_prefix}-${each.key}"
  display_name = "dropscore ${each.key} function"
  description  = "Runtime identity of the dropscore ${each.key} Cloud Run function."

  depends_on = [google_project_service.enabled]
}

resource "google_service_account" "mlflow" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-mlflow"
  display_name = "dropscore MLflow server"
  description  = "Runtime identity of the MLflow tracking server on Cloud Run."

  depends_on = [google_project_service.enabled]
}

resource "google_service_account" "builder" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-builder"
  display_name = "dropscore function builds"
  description  = "Identity Cloud Build uses to build the function images from the source zips."

  depends_on = [google_project_service.enabled]
}

resource "google_service_account" "eventarc" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-events"
  display_name = "dropscore Eventarc triggers"
  description  = "Identity of the storage triggers that invoke the clean and score functions."

  depends_on = [google_project_service.enabled]
}

resource "google_service_account" "scheduler" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-scheduler"
  display_name = "dropscore drift schedule"
  description  = "Identity Cloud Scheduler uses (OIDC token) to invoke the drift function."

  depends_on = [google_project_service.enabled]
}

resource "google_service_account" "retrain_push" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-push"
  display_name = "dropscore retrain push"
  description  = "Identity the retrain Pub/Sub push subscription uses (OIDC token) to invoke the retrain function."

  depends_on = [google_project_service.enabled]
}

# ---------------------------------------------------------------------------------------------
# Function runtime grants
# ---------------------------------------------------------------------------------------------

resource "google_storage_bucket_iam_member" "function_data" {
  for_each = local.function_bucket_grants

  bucket = google_storage_bucket.data[each.value.area].name
  role   = each.value.role
  member = "serviceAccount:${google_service_account.function[each.value.function].email}"
}

resource "google_bigquery_dataset_iam_member" "function_data_editor" {
  for_each = toset(local.function_names)

  project    = var.project_id
  dataset_id = google_bigquery_dataset.warehouse.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${google_service_account.function[each.key].email}"
}

# Running a query or load job is a project-level permission in BigQuery.
resource "google_project_iam_member" "function_bigquery_jobs" {
  for_each = toset(local.function_names)

  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${google_service_account.function[each.key].email}"
}

resource "google_pubsub_topic_iam_member" "function_publisher" {
  for_each = local.function_topic_grants

  project = var.project_id
  topic   = each.value.topic
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.function[each.value.function].email}"
}

resource "google_secret_manager_secret_iam_member" "pii_key_accessor" {
  for_each = toset(local.function_names)

  project   = var.project_id
  secret_id = google_secret_manager_secret.pii_key.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function[each.key].email}"
}

# ---------------------------------------------------------------------------------------------
# MLflow grants
# ---------------------------------------------------------------------------------------------

resource "google_storage_bucket_iam_member" "mlflow_artifacts" {
  bucket = google_storage_bucket.model_artifacts.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.mlflow.email}"
}

# The Cloud SQL Auth Proxy sidecar connects as the MLflow service account; the condition limits
# the grant to the MLflow instance.
resource "google_project_iam_member" "mlflow_cloudsql_client" {
  project = var.project_id
  role    = "roles/cloudsql.client"
  member  = "serviceAccount:${google_service_account.mlflow.email}"

  condition {
    title       = "mlflow-instance-only"
    description = "Only the dropscore MLflow Cloud SQL instance."
    expression  = "resource.name == \"projects/${var.project_id}/instances/${google_sql_database_instance.mlflow.name}\""
  }
}

resource "google_secret_manager_secret_iam_member" "mlflow_db_password_accessor" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.mlflow_db_password.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.mlflow.email}"
}

# ---------------------------------------------------------------------------------------------
# Function builds
# ---------------------------------------------------------------------------------------------

resource "google_project_iam_member" "builder" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.builder.email}"
}

resource "google_artifact_registry_repository_iam_member" "builder_writer" {
  project    = var.project_id
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.builder.email}"
}

resource "google_storage_bucket_iam_member" "builder_sources_reader" {
  bucket = google_storage_bucket.function_sources.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.builder.email}"
}

# Cloud Functions (2nd gen) copies each zip into its own bucket gcf-v2-sources-<PROJECT_NUMBER>-
# <REGION> and the build fetches it from there, as the builder service account: without this
# grant every build fails with "Access to bucket gcf-v2-sources-... denied. You must grant
# Storage Object Viewer permission to <builder>" (hashicorp/terraform-provider-google#20571,
# the failing "Cloudfunctions2 Basic Builder" acceptance test). The provider's example grants
# roles/storage.objectAdmin on the whole project; read access to that one bucket is enough (the
# condition names the bucket, and its objects, by prefix). The bucket is Google-managed and may
# not exist before the first deploy, so the grant is a conditional project binding, not a
# bucket binding.
resource "google_project_iam_member" "builder_gcf_sources_reader" {
  project = var.project_id
  role    = "roles/storage.objectViewer"
  member  = "serviceAccount:${google_service_account.builder.email}"

  condition {
    title       = "gcf-v2-sources-only"
    description = "Only the bucket Cloud Functions copies the source zips into, and its objects."
    expression  = "resource.name == \"projects/_/buckets/${local.gcf_sources_bucket_name}\" || resource.name.startsWith(\"projects/_/buckets/${local.gcf_sources_bucket_name}/\")"
  }
}

# IAM is eventually consistent: a grant made seconds ago may not be seen yet by the build or by
# Eventarc. The waits follow the provider's own examples and the issues filed against them:
# - builds: website/docs/r/cloudfunctions2_function.html.markdown, "Cloudfunctions2 Basic
#   Builder": "builder permissions need to stablize before it can pull the source zip" ->
#   time_sleep 60s;
# - Eventarc storage triggers on a fresh project: "Permission denied while using the Eventarc
#   Service Agent. If you recently started to use Eventarc, it may take a few minutes before all
#   necessary permissions are propagated" (hashicorp/terraform-provider-google#25294, #14584);
#   terraform-google-modules/terraform-google-bigquery (data_warehouse) waits 180s for it.
# time_sleep only waits on create, so later applies are not slowed down.
resource "time_sleep" "builder_iam_propagation" {
  create_duration = "60s"

  depends_on = [
    google_project_iam_member.builder,
    google_artifact_registry_repository_iam_member.builder_writer,
    google_storage_bucket_iam_member.builder_sources_reader,
    google_project_iam_member.builder_gcf_sources_reader,
  ]
}

resource "time_sleep" "eventarc_iam_propagation" {
  create_duration = "180s"

  depends_on = [
    google_project_service_identity.eventarc,
    google_project_service_identity.pubsub,
    google_project_iam_member.gcs_agent_pubsub_publisher,
    google_project_iam_member.eventarc_receiver,
    google_service_account_iam_member.pubsub_agent_token_creator,
  ]
}

# ---------------------------------------------------------------------------------------------
# Triggers: Eventarc (storage), Cloud Scheduler (drift), Pub/Sub push (retrain)
# ---------------------------------------------------------------------------------------------

# Storage triggers are delivered through Pub/Sub: the Cloud Storage service agent publishes the
# object notifications. Eventarc creates those topics itself, so this cannot be narrowed to one.
resource "google_project_iam_member" "gcs_agent_pubsub_publisher" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

resource "google_project_iam_member" "eventarc_receiver" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${google_service_account.eventarc.email}"
}

# Pub/Sub mints the OIDC tokens of push deliveries (Eventarc triggers and the retrain push).
resource "google_service_account_iam_member" "pubsub_agent_token_creator" {
  for_each = {
    eventarc     = google_service_account.eventarc.name
    retrain_push = google_service_account.retrain_push.name
  }

  service_account_id = each.value
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

# Dead-lettering: the Pub/Sub agent forwards undeliverable messages and acks the originals.
resource "google_pubsub_topic_iam_member" "pubsub_agent_dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.retrain_dead_letter.id
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_retrain_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.retrain_push.id
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}
