# Secrets live in Secret Manager and reach the workloads as secret environment variables.
# Their values are generated here, so the Terraform state holds them too: keep the state bucket
# private (docs/deploy.md, step 2).

resource "random_password" "pii_key" {
  length  = 48
  special = false
}

resource "google_secret_manager_secret" "pii_key" {
  secret_id = "${var.name_prefix}-pii-key"
  project   = var.project_id

  replication {
    user_managed {
      replicas {
        location = var.region
      }
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_version" "pii_key" {
  secret      = google_secret_manager_secret.pii_key.id
  secret_data = random_password.pii_key.result

  # Rotating the key changes every hashed identifier: do it on purpose, never by a re-apply.
  lifecycle {
    ignore_changes = [secret_data]
  }
}

# URL-safe (no special characters) because it is spliced into the database URI.
resource "random_password" "mlflow_db" {
  length  = 32
  special = false
}

resource "google_secret_manager_secret" "mlflow_db_password" {
  secret_id = "${var.name_prefix}-mlflow-db-password"
  project   = var.project_id

  replication {
    user_managed {
      replicas {
        location = var.region
      }
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_version" "mlflow_db_password" {
  secret      = google_secret_manager_secret.mlflow_db_password.id
  secret_data = random_password.mlflow_db.result
}

# The alert webhook URL (Google Chat, Slack, Teams) grants posting into a channel to whoever
# holds it, so it is a secret too: created only when alert_webhook_url is set.
locals {
  alert_webhook_enabled = var.alert_webhook_url != ""
  # One entry (secret id and version) when the webhook is set; what the functions' and the
  # retrain job's secret environment variable blocks iterate over.
  alert_webhook_secrets = local.alert_webhook_enabled ? {
    webhook = {
      secret_id = google_secret_manager_secret.alert_webhook[0].secret_id
      version   = google_secret_manager_secret_version.alert_webhook[0].version
    }
  } : {}
}

resource "google_secret_manager_secret" "alert_webhook" {
  count = local.alert_webhook_enabled ? 1 : 0

  secret_id = "${var.name_prefix}-alert-webhook"
  project   = var.project_id

  replication {
    user_managed {
      replicas {
        location = var.region
      }
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_version" "alert_webhook" {
  count = local.alert_webhook_enabled ? 1 : 0

  secret      = google_secret_manager_secret.alert_webhook[0].id
  secret_data = var.alert_webhook_url
}

resource "google_secret_manager_secret_iam_member" "alert_webhook_accessor" {
  for_each = local.alert_webhook_enabled ? toset(local.function_names) : toset([])

  project   = var.project_id
  secret_id = google_secret_manager_secret.alert_webhook[0].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function[each.key].email}"
}
