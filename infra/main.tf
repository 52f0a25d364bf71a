# dropscore on Google Cloud: four Cloud Run functions (2nd gen) around five data buckets, a
# BigQuery warehouse, Pub/Sub for retrain requests and alerts, and an MLflow server on Cloud Run.
# Resources are split by concern: storage.tf, bigquery.tf, pubsub.tf, functions.tf, mlflow.tf,
# iam.tf, network.tf, secrets.tf, s3.tf.

locals {
  function_names = ["clean", "score", "drift", "retrain"]

  # The areas the code knows (shared/settings.py AREAS), one GCS bucket each.
  areas = ["raw", "clean", "quarantine", "predictions", "reports"]

  labels = merge({ "app" = "dropscore", "managed-by" = "terraform" }, var.labels)

  s3_enabled = var.storage_backend == "s3" || var.s3_fallback_enabled

  data_bucket_names       = { for area in local.areas : area => "${var.name_prefix}-${area}" }
  artifacts_bucket_name   = "${var.name_prefix}-model-artifacts"
  sources_bucket_name     = "${var.name_prefix}-function-sources"
  access_logs_bucket_name = "${var.name_prefix}-access-logs"

  # Where Cloud Functions (2nd gen) keeps its copy of every source zip; the build reads it there.
  gcf_sources_bucket_name = "gcf-v2-sources-${data.google_project.this.number}-${var.region}"

  s3_bucket_name = coalesce(var.s3_bucket_name, "${var.name_prefix}-data")
  s3_storage_uri = "s3://${local.s3_bucket_name}/${var.s3_prefix}"

  # What the code receives as DROPSCORE_STORAGE and DROPSCORE_BUCKET_<AREA>. The explicit
  # per-area URIs are set even on GCS, so nothing depends on the naming rule being re-derived.
  storage_uri = var.storage_backend == "gcs" ? "gs://${var.name_prefix}" : local.s3_storage_uri
  area_uris = {
    for area in local.areas : area => (
      var.storage_backend == "gcs" ? "gs://${local.data_bucket_names[area]}" : "${local.s3_storage_uri}/${area}"
    )
  }

  dataset_id = replace(var.name_prefix, "-", "_")

  package_dir   = startswith(var.package_dir, "/") ? var.package_dir : "${path.module}/${var.package_dir}"
  function_zips = { for name in local.function_names : name => "${local.package_dir}/${name}.zip" }

  # Every DROPSCORE_* name shared/settings.py reads, except the embedded-only DROPSCORE_HOME and
  # the secrets DROPSCORE_PII_KEY and DROPSCORE_ALERT_WEBHOOK, which come from Secret Manager
  # (functions.tf, secrets.tf). tests/infra checks this
  # list against ENVIRONMENT_VARIABLES so code and infrastructure cannot drift apart.
  function_environment = {
    DROPSCORE_STORAGE               = local.storage_uri
    DROPSCORE_BUCKET_RAW            = local.area_uris["raw"]
    DROPSCORE_BUCKET_CLEAN          = local.area_uris["clean"]
    DROPSCORE_BUCKET_QUARANTINE     = local.area_uris["quarantine"]
    DROPSCORE_BUCKET_PREDICTIONS    = local.area_uris["predictions"]
    DROPSCORE_BUCKET_REPORTS        = local.area_uris["reports"]
    DROPSCORE_WAREHOUSE             = "bigquery://${var.project_id}/${local.dataset_id}"
    DROPSCORE_MLFLOW_TRACKING_URI   = google_cloud_run_v2_service.mlflow.uri
    DROPSCORE_MODEL_NAME            = var.model_name
    DROPSCORE_LANG                  = var.language
    DROPSCORE_TIMEZONE              = var.drift_time_zone
    DROPSCORE_MAX_EVENT_AGE_SECONDS = tostring(var.max_event_age_seconds)
    DROPSCORE_RETRAIN_TOPIC         = google_pubsub_topic.retrain.id
    DROPSCORE_ALERT_TOPIC           = google_pubsub_topic.alerts.id
    DROPSCORE_SHARD_BYTES           = tostring(var.shard_bytes)
    DROPSCORE_RETRAIN_JOB           = local.retrain_job_id
    # The model log's "who" for promotions and rollbacks the functions and the retrain job make themselves.
    DROPSCORE_ACTOR = "dropscore-functions"
  }

  # Standard AWS SDK variables, only when the functions store data on S3: boto3 assumes this role
  # with a Google-signed identity token of the function's service account (s3.tf).
  aws_environment = {
    for name, value in {
      AWS_ROLE_ARN       = one(aws_iam_role.functions[*].arn)
      AWS_DEFAULT_REGION = var.aws_region
    } : name => value if var.storage_backend == "s3"
  }

  apis = [
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "compute.googleapis.com",
    "eventarc.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "servicenetworking.googleapis.com",
    "sqladmin.googleapis.com",
    "storage.googleapis.com",
  ]
}

resource "google_project_service" "enabled" {
  for_each = toset(local.apis)

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# Service agents the triggers rely on. google_project_service_identity (beta) makes sure they
# exist before IAM bindings name them: the Eventarc agent only appears once it is requested.
resource "google_project_service_identity" "pubsub" {
  provider = google-beta

  project = var.project_id
  service = "pubsub.googleapis.com"

  depends_on = [google_project_service.enabled]
}

resource "google_project_service_identity" "eventarc" {
  provider = google-beta

  project = var.project_id
  service = "eventarc.googleapis.com"

  depends_on = [google_project_service.enabled]
}

data "google_project" "this" {
  project_id = var.project_id

  depends_on = [google_project_service.enabled]
}

data "google_storage_project_service_account" "gcs" {
  project = var.project_id

  depends_on = [google_project_service.enabled]
}
