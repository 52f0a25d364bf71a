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
