# Retraining as a Cloud Run job. A function may run 540 s with at most 32 GiB (4 GiB by default
# here), and retraining loads every labeled row into memory: about a million rows was the
# ceiling. A Cloud Run job task may run up to 168 hours with up to 8 vCPU and 32 GiB.
#
#   drift -> retrain topic -> retrain function (Pub/Sub push, pubsub.tf) -> jobs.run with an
#   override carrying the request id -> this job -> shared.steps.retrain -> challenger, gates,
#   promotion (shared/lifecycle/promotion.py run_retrain)
#
# The function stays the Pub/Sub entry point (dead-letter topic, retries, event age) and only
# starts an execution; shared/steps/retrain.py makes both the start and the training idempotent
# per request id, so a redelivered message neither starts a second execution nor trains twice.
#
# The image is built from the retrain function's own zip (`make package`, infra/retrain/
# Dockerfile), so the job runs byte-for-byte the code the function ships; cloudbuild.yaml builds
# it and tags it with that zip's sha256. Resource shape follows the provider's
# website/docs/r/cloud_run_v2_job.html.markdown examples "Cloudrunv2 Job Directvpc" (vpc_access
# with network_interfaces) and "Cloudrunv2 Job Secret" (env value_source secret_key_ref).

locals {
  retrain_job_name = "${var.name_prefix}-retrain"
  # Built from strings, not from the resource: the job's own environment names it.
  retrain_job_id = "projects/${var.project_id}/locations/${var.region}/jobs/${local.retrain_job_name}"

  # What the job's container receives: everything the functions get (it runs the same code
  # with the same settings) plus the AWS variables on the S3 backend.
  retrain_job_environment = merge(local.function_environment, local.aws_environment)
}

resource "google_cloud_run_v2_job" "retrain" {
  name                = local.retrain_job_name
  project             = var.project_id
  location            = var.region
  deletion_protection = var.deletion_protection

  template {
    task_count  = 1
    parallelism = 1

    template {
      # The retrain function's identity: the job does what that function did (read the clean
      # area, write reports, BigQuery, MLflow, alerts), so it needs exactly its grants.
      service_account = google_service_account.function["retrain"].email
      timeout         = "${var.retrain_job_settings.timeout_seconds}s"
      # A retry runs in the same execution and takes the request's claim over from the failed
      # attempt (shared/steps/retrain.py), so it never trains alongside it.
      max_retries = var.retrain_job_settings.max_retries

      # All traffic through the VPC, like the functions: MLflow accepts internal traffic only.
      vpc_access {
        egress = "ALL_TRAFFIC"
        network_interfaces {
          network    = google_compute_network.vpc.name
          subnetwork = google_compute_subnetwork.serverless.name
        }
      }

      containers {
        image = var.retrain_image

        resources {
          limits = {
            cpu    = var.retrain_job_settings.cpu
            memory = var.retrain_job_settings.memory
          }
        }

        dynamic "env" {
          for_each = local.retrain_job_environment
          content {
            name  = env.key
            value = env.value
          }
        }

        env {
          name = "DROPSCORE_PII_KEY"
          value_source {
            secret_key_ref {
              secret  = google_secret_manager_secret.pii_key.secret_id
              version = google_secret_manager_secret_version.pii_key.version
            }
          }
        }

        dynamic "env" {
          for_each = local.alert_webhook_secrets
          content {
            name = "DROPSCORE_ALERT_WEBHOOK"
            value_source {
              secret_key_ref {
                secret  = env.value.secret_id
                version = env.value.version
              }
            }
          }
        }
      }
    }
  }

  depends_on = [
    google_project_service.enabled,
    google_secret_manager_secret_iam_member.pii_key_accessor,
    google_secret_manager_secret_iam_member.alert_webhook_accessor,
  ]
}

# The retrain function starts executions with a per-request environment override: that is
# run.jobs.runWithOverrides, granted on this job only (roles/run.jobsExecutorWithOverrides).
resource "google_cloud_run_v2_job_iam_member" "retrain_function_runs_job" {
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_job.retrain.name
  role     = "roles/run.jobsExecutorWithOverrides"
  member   = "serviceAccount:${google_service_account.function["retrain"].email}"
}
