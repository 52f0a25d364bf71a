# MLflow tracking server and model registry: Cloud Run (scales to zero) in front of a Cloud SQL
# PostgreSQL backend on a private IP; artifacts are proxied by the server (--serve-artifacts)
# into the model-artifacts bucket, so no client needs bucket access. Internal ingress and no
# public invoker: only the functions' service accounts (and mlflow_operator_members) may call it.

resource "google_artifact_registry_repository" "images" {
  #checkov:skip=CKV_GCP_84:Google-managed encryption; the repository holds the public MLflow image and the function build images, no data, and CMEK is out of scope by design (see CKV_GCP_81).
  repository_id = "${var.name_prefix}-images"
  project       = var.project_id
  location      = var.region
  format        = "DOCKER"
  description   = "MLflow server image and the function build images of dropscore."

  # Every function deploy pushes a build image here: drop untagged ones after 30 days.
  cleanup_policies {
    id     = "delete-old-untagged"
    action = "DELETE"
    condition {
      tag_state  = "UNTAGGED"
      older_than = "2592000s"
    }
  }

  cleanup_policies {
    id     = "keep-recent-versions"
    action = "KEEP"
    most_recent_versions {
      keep_count = 10
    }
  }

  depends_on = [google_project_service.enabled]
}

# Instance names cannot be reused for a week after deletion: a suffix keeps re-creation possible.
resource "random_id" "mlflow_db_suffix" {
  byte_length = 3
}

resource "google_sql_database_instance" "mlflow" {
  name                = "${var.name_prefix}-mlflow-${random_id.mlflow_db_suffix.hex}"
  project             = var.project_id
  region              = var.region
  database_version    = var.mlflow_db_version
  deletion_protection = var.deletion_protection

  settings {
    # db-f1-micro and db-g1-small exist only in the Enterprise edition.
    edition                     = "ENTERPRISE"
    tier                        = var.mlflow_db_tier
    availability_type           = "ZONAL"
    disk_type                   = "PD_SSD"
    disk_size                   = 10
    disk_autoresize             = true
    disk_autoresize_limit       = 50
    deletion_protection_enabled = var.deletion_protection
    user_labels                 = local.labels

    ip_configuration {
      ipv4_enabled    = false
      private_network = google_compute_network.vpc.id
      # Only the Cloud SQL Auth Proxy (sidecar below) can connect: it holds short-lived client
      # certificates and checks the caller's IAM role.
      ssl_mode = "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
    }

    backup_configuration {
      enabled                        = true
      start_time                     = "07:00"
      point_in_time_recovery_enabled = true
      transaction_log_retention_days = 7
      backup_retention_settings {
        retained_backups = 7
      }
    }

    maintenance_window {
      day          = 7
      hour         = 8
      update_track = "stable"
    }

    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }
    database_flags {
      name  = "log_connections"
      value = "on"
    }
    database_flags {
      name  = "log_disconnections"
      value = "on"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
    database_flags {
      name  = "log_min_messages"
      value = "error"
    }
    database_flags {
      name  = "log_temp_files"
      value = "0"
    }
    database_flags {
      name  = "log_min_duration_statement"
      value = "-1"
    }
    database_flags {
      name  = "cloudsql.enable_pgaudit"
      value = "on"
    }
    database_flags {
      name  = "log_statement"
      value = "ddl"
    }
    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }
    database_flags {
      name  = "log_hostname"
      value = "on"
    }
    database_flags {
      name  = "log_duration"
      value = "on"
    }
  }

  depends_on = [google_service_networking_connection.private_services]
}

resource "google_sql_database" "mlflow" {
  name     = "mlflow"
  project  = var.project_id
  instance = google_sql_database_instance.mlflow.name
}

resource "google_sql_user" "mlflow" {
  name     = "mlflow"
  project  = var.project_id
  instance = google_sql_database_instance.mlflow.name
  password = random_password.mlflow_db.result
}

locals {
  mlflow_service_name = "${var.name_prefix}-mlflow"

  # Gunicorn/uvicorn worker processes of `mlflow server` per instance; each holds its own
  # SQLAlchemy pool (MLFLOW_SQLALCHEMYSTORE_POOL_SIZE + MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW).
  mlflow_workers = 2
  # Connections MLflow may open at full scale, every instance and worker at the top of its pool.
  mlflow_peak_connections = var.mlflow_max_instances * local.mlflow_workers * (var.mlflow_db_pool_size + var.mlflow_db_max_overflow)
  # PostgreSQL max_connections of the shared-core tiers (Cloud SQL "Quotas and limits",
  # PostgreSQL: db-f1-micro 25, db-g1-small 50); for other tiers say it in mlflow_db_max_connections.
  mlflow_db_tier_connections = { "db-f1-micro" = 25, "db-g1-small" = 50 }
  mlflow_db_connection_limit = coalesce(var.mlflow_db_max_connections, lookup(local.mlflow_db_tier_connections, var.mlflow_db_tier, 100))
  # Cloud SQL keeps some connections for its own superuser and maintenance: leave room for them
  # and for an operator's psql session.
  mlflow_db_reserved_connections = 5

  # Startup probes may not wait longer than failure_threshold x period_seconds = 240 s on Cloud
  # Run (provider docs, google_cloud_run_v2_service, startup_probe: "Maximum value for startup
  # probe is 240"; Cloud Run "Configure container health checks (services)").
  startup_probe_limit_seconds = 240
}

resource "google_cloud_run_v2_service" "mlflow" {
  name                = local.mlflow_service_name
  project             = var.project_id
  location            = var.region
  description         = "MLflow tracking server and model registry for dropscore."
  ingress             = var.mlflow_operator_access ? "INGRESS_TRAFFIC_ALL" : "INGRESS_TRAFFIC_INTERNAL_ONLY"
  deletion_protection = var.deletion_protection

  template {
    service_account = google_service_account.mlflow.email
    timeout         = "300s"
    # Cloud Run refuses HTTP/1 requests above 32 MiB, and MLflow's proxied multipart upload needs
    # a signing key the service account does not have (docs/deploy.md, "Model size"): one
    # artifact file per request, each under 32 MiB, is the stated cap.

    scaling {
      min_instance_count = 0
      max_instance_count = var.mlflow_max_instances
    }

    # Private ranges only: Cloud SQL's private IP goes through the VPC, Google APIs do not.
    vpc_access {
      egress = "PRIVATE_RANGES_ONLY"
      network_interfaces {
        network    = google_compute_network.vpc.name
        subnetwork = google_compute_subnetwork.serverless.name
      }
    }

    containers {
      name       = "mlflow"
      image      = var.mlflow_image
      depends_on = ["cloud-sql-proxy"]
      command    = ["/bin/sh", "-c"]
      # The shell assembles the database URI from the secret at start-up, so the password never
      # appears in the service definition. The database is reached through the proxy sidecar on
      # localhost, which encrypts and authorizes the connection.
      args = [join(" ", [
        "exec mlflow server",
        "--host 0.0.0.0 --port $${PORT} --workers 2",
        "--backend-store-uri \"postgresql+psycopg2://mlflow:$${DB_PASSWORD}@127.0.0.1:5432/mlflow\"",
        "--serve-artifacts --artifacts-destination gs://${google_storage_bucket.model_artifacts.name}/mlflow",
      ])]

      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = "1"
          memory = "2Gi"
        }
        cpu_idle          = true
        startup_cpu_boost = true
      }

      env {
        name = "DB_PASSWORD"
        value_source {
          secret_key_ref {
            secret  = google_secret_manager_secret.mlflow_db_password.secret_id
            version = google_secret_manager_secret_version.mlflow_db_password.version
          }
        }
      }
      # One SQLAlchemy pool per worker process: pool_size + max_overflow connections each, so the
      # whole service stays under the database's max_connections (precondition below).
      env {
        name  = "MLFLOW_SQLALCHEMYSTORE_POOL_SIZE"
        value = tostring(var.mlflow_db_pool_size)
      }
      env {
        name  = "MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW"
        value = tostring(var.mlflow_db_max_overflow)
      }
      # Recycle connections the proxy or the database closed while the instance slept (cpu_idle).
      env {
        name  = "MLFLOW_SQLALCHEMYSTORE_POOL_RECYCLE"
        value = "1800"
      }
      # MLflow refuses Host headers it does not know (DNS-rebinding protection).
      env {
        name  = "MLFLOW_SERVER_ALLOWED_HOSTS"
        value = "${local.mlflow_service_name}-*.run.app,localhost,localhost:*,127.0.0.1:*"
      }

      # The first start migrates the database schema, which takes a while on a small instance:
      # 24 x 10 s = 240 s, the most Cloud Run allows (local.startup_probe_limit_seconds).
      startup_probe {
        initial_delay_seconds = 10
        period_seconds        = 10
        timeout_seconds       = 5
        failure_threshold     = 24
        tcp_socket {
          port = 8080
        }
      }

      liveness_probe {
        period_seconds  = 30
        timeout_seconds = 5
        http_get {
          path = "/health"
        }
      }
    }

    containers {
      name  = "cloud-sql-proxy"
      image = var.cloud_sql_proxy_image
      # --lazy-refresh (Cloud SQL Auth Proxy >= 2.11.0): fetch the instance's certificate when a
      # connection needs it instead of in a background loop. With cpu_idle = true Cloud Run
      # throttles the CPU between requests, so background refreshes stall and the next
      # connection fails with an expired certificate; the proxy's documentation recommends lazy
      # refresh for exactly this ("environments where the CPU may be throttled").
      args = [
        "--private-ip",
        "--lazy-refresh",
        "--address=127.0.0.1",
        "--port=5432",
        "--health-check",
        "--http-address=0.0.0.0",
        "--http-port=9090",
        google_sql_database_instance.mlflow.connection_name,
      ]

      resources {
        limits = {
          cpu    = "1"
          memory = "512Mi"
        }
        cpu_idle = true
      }

      startup_probe {
        period_seconds    = 2
        timeout_seconds   = 1
        failure_threshold = 30
        http_get {
          path = "/startup"
          port = 9090
        }
      }
    }
  }

  depends_on = [
    google_secret_manager_secret_iam_member.mlflow_db_password_accessor,
    google_project_iam_member.mlflow_cloudsql_client,
    google_sql_user.mlflow,
    google_sql_database.mlflow,
  ]

  lifecycle {
    precondition {
      condition     = local.mlflow_peak_connections <= local.mlflow_db_connection_limit - local.mlflow_db_reserved_connections
      error_message = "MLflow could open ${local.mlflow_peak_connections} database connections (mlflow_max_instances x ${local.mlflow_workers} workers x (mlflow_db_pool_size + mlflow_db_max_overflow)), more than the ${local.mlflow_db_connection_limit} the ${var.mlflow_db_tier} tier allows minus ${local.mlflow_db_reserved_connections} reserved: lower mlflow_max_instances or the pool, or pick a larger tier."
    }
  }
}

# Callers of MLflow: the four functions and the named operators. No allUsers, ever.
resource "google_cloud_run_v2_service_iam_member" "mlflow_invoker" {
  for_each = merge(
    { for name in local.function_names : "function-${name}" => "serviceAccount:${google_service_account.function[name].email}" },
    { for member in var.mlflow_operator_members : "operator-${member}" => member },
  )

  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.mlflow.name
  role     = "roles/run.invoker"
  member   = each.value
}
