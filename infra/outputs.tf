output "bucket_names" {
  description = "GCS bucket of each data area (raw, clean, quarantine, predictions, reports) plus model_artifacts, function_sources and access_logs (null while access_logs_enabled is false)."
  value = merge(
    { for area, bucket in google_storage_bucket.data : area => bucket.name },
    {
      model_artifacts  = google_storage_bucket.model_artifacts.name
      function_sources = google_storage_bucket.function_sources.name
      access_logs      = one(google_storage_bucket.access_logs[*].name)
    },
  )
}

output "raw_bucket" {
  description = "Bucket where users drop CSV files: gs://<raw_bucket>/incoming/ (labels/ and training/ for labeled data)."
  value       = google_storage_bucket.data["raw"].name
}

output "predictions_bucket" {
  description = "Bucket where the predictions CSV files appear."
  value       = google_storage_bucket.data["predictions"].name
}

output "function_uris" {
  description = "HTTPS URI of each function (internal ingress: callable only from the project's VPC and Google services)."
  value       = { for name, function in google_cloudfunctions2_function.function : name => function.service_config[0].uri }
}

output "mlflow_url" {
  description = "MLflow tracking URI (DROPSCORE_MLFLOW_TRACKING_URI). Internal ingress: from a laptop use `gcloud run services proxy` (docs/deploy.md)."
  value       = google_cloud_run_v2_service.mlflow.uri
}

output "mlflow_service_name" {
  description = "Cloud Run service name of the MLflow server, for `gcloud run services proxy`."
  value       = google_cloud_run_v2_service.mlflow.name
}

output "bigquery_dataset_id" {
  description = "BigQuery dataset holding predictions, batches, drift_results, alerts and model_events."
  value       = google_bigquery_dataset.warehouse.dataset_id
}

output "warehouse_uri" {
  description = "DROPSCORE_WAREHOUSE as set on the functions."
  value       = local.function_environment.DROPSCORE_WAREHOUSE
}

output "retrain_topic" {
  description = "Pub/Sub topic for retrain requests (DROPSCORE_RETRAIN_TOPIC)."
  value       = google_pubsub_topic.retrain.id
}

output "retrain_dead_letter_subscription" {
  description = "Subscription holding retrain requests that failed every delivery attempt."
  value       = google_pubsub_subscription.retrain_dead_letter.id
}

output "alert_topic" {
  description = "Pub/Sub topic receiving alert records (DROPSCORE_ALERT_TOPIC)."
  value       = google_pubsub_topic.alerts.id
}

output "drift_scheduler_job" {
  description = "Cloud Scheduler job that runs the drift check; `gcloud scheduler jobs run` it to check now."
  value       = google_cloud_scheduler_job.drift.name
}

output "function_service_accounts" {
  description = "Runtime service account e-mail of each function."
  value       = { for name, account in google_service_account.function : name => account.email }
}

output "artifact_registry_repository" {
  description = "Docker repository for the MLflow image (and the function builds)."
  value       = "${google_artifact_registry_repository.images.location}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
}

output "storage_uri" {
  description = "DROPSCORE_STORAGE as set on the functions (gs://<name_prefix> or s3://<bucket>/<prefix>)."
  value       = local.storage_uri
}

output "s3_bucket_name" {
  description = "S3 fallback bucket, or null when the fallback is off."
  value       = one(aws_s3_bucket.data[*].bucket)
}

output "s3_access_policy_arn" {
  description = "IAM policy granting access to the S3 fallback bucket only; attach it to whoever else runs dropscore on S3. Null when the fallback is off."
  value       = one(aws_iam_policy.s3_access[*].arn)
}

output "s3_functions_role_arn" {
  description = "AWS role the functions assume (web identity federation) to reach the S3 bucket. Null when the fallback is off."
  value       = one(aws_iam_role.functions[*].arn)
}

# ---------------------------------------------------------------------------------------------
# What a laptop needs to talk to this deployment: `dropscore env --from-terraform` (shared/
# deploy_env.py) turns these into DROPSCORE_* exports. Nothing here is secret.
# ---------------------------------------------------------------------------------------------

output "dropscore_environment" {
  description = "The DROPSCORE_* variables the functions and the retrain job run with (secrets excluded): buckets, warehouse, MLflow, model name, topics. `dropscore env --from-terraform` exports them on a laptop."
  value       = local.function_environment
}

output "project_id" {
  description = "Google Cloud project of the deployment."
  value       = var.project_id
}

output "region" {
  description = "Region of the buckets, functions, job and MLflow."
  value       = var.region
}

output "model_name" {
  description = "Registered model name in MLflow (DROPSCORE_MODEL_NAME)."
  value       = var.model_name
}

output "area_uris" {
  description = "URI of each data area (DROPSCORE_BUCKET_<AREA>): gs://<bucket> or s3://<bucket>/<prefix>/<area>."
  value       = local.area_uris
}

output "tracking_uri" {
  description = "DROPSCORE_MLFLOW_TRACKING_URI of the functions (internal ingress: from a laptop go through `gcloud run services proxy`)."
  value       = google_cloud_run_v2_service.mlflow.uri
}

output "pii_key_secret" {
  description = "Secret Manager secret holding DROPSCORE_PII_KEY (the value never leaves Secret Manager through Terraform outputs)."
  value       = google_secret_manager_secret.pii_key.secret_id
}

output "retrain_job" {
  description = "Cloud Run job that retrains (`gcloud run jobs executions list --job` it to follow retrains)."
  value       = google_cloud_run_v2_job.retrain.name
}
