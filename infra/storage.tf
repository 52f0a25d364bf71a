# Buckets: one per data area (raw, clean, quarantine, predictions, reports), the MLflow model
# artifacts, the function source zips, and (access_logs_enabled) the access logs of all of them.
# Every bucket has uniform bucket-level access, enforced public access prevention and versioning.
#
# Usage logs are written by the Google-owned group cloud-storage-analytics@google.com, which must
# be granted objectCreator on the log bucket. Organisations with domain restricted sharing
# (constraint iam.allowedPolicyMemberDomains, part of Google's secure-by-default organisation
# policies) refuse that binding and the whole apply fails, so the logs are off by default. Turn
# them on where the constraint allows it; Cloud Audit Logs (Data Access logs for
# storage.googleapis.com, docs/deploy.md) record object reads and writes either way.

locals {
  # Days after which live objects of an area are deleted; null keeps them.
  area_retention_days = {
    raw         = var.raw_retention_days
    clean       = null
    quarantine  = var.quarantine_retention_days
    predictions = null
    reports     = null
  }
}

locals {
  # The log bucket as a one-element list while the logs are on: what the logging blocks iterate.
  access_log_buckets = google_storage_bucket.access_logs[*].name
}

resource "google_storage_bucket" "access_logs" {
  #checkov:skip=CKV_GCP_62:This bucket receives the access logs of every other bucket; logging it into itself would log its own log writes.
  count = var.access_logs_enabled ? 1 : 0

  name                        = local.access_logs_bucket_name
  project                     = var.project_id
  location                    = upper(var.region)
  storage_class               = "STANDARD"
  force_destroy               = var.force_destroy_buckets
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age = var.access_log_retention_days
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_version_retention_days
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

# Cloud Storage writes usage logs as this Google-owned group.
resource "google_storage_bucket_iam_member" "access_logs_writer" {
  count = var.access_logs_enabled ? 1 : 0

  bucket = google_storage_bucket.access_logs[0].name
  role   = "roles/storage.objectCreator"
  member = "group:cloud-storage-analytics@google.com"
}

resource "google_storage_bucket" "data" {
  for_each = local.data_bucket_names

  name                        = each.value
  project                     = var.project_id
  location                    = upper(var.region)
  storage_class               = "STANDARD"
  force_destroy               = var.force_destroy_buckets
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  versioning {
    enabled = true
  }

  dynamic "logging" {
    for_each = local.access_log_buckets
    content {
      log_bucket        = logging.value
      log_object_prefix = each.value
    }
  }

  dynamic "lifecycle_rule" {
    for_each = local.area_retention_days[each.key] == null ? [] : [local.area_retention_days[each.key]]
    content {
      condition {
        age = lifecycle_rule.value
      }
      action {
        type = "Delete"
      }
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_version_retention_days
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      age = 1
    }
    action {
      type = "AbortIncompleteMultipartUpload"
    }
  }

  depends_on = [google_project_service.enabled]
}

# MLflow artifacts (models, reference samples), written only by the MLflow server (--serve-artifacts).
resource "google_storage_bucket" "model_artifacts" {
  name                        = local.artifacts_bucket_name
  project                     = var.project_id
  location                    = upper(var.region)
  storage_class               = "STANDARD"
  force_destroy               = var.force_destroy_buckets
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  versioning {
    enabled = true
  }

  dynamic "logging" {
    for_each = local.access_log_buckets
    content {
      log_bucket        = logging.value
      log_object_prefix = local.artifacts_bucket_name
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_version_retention_days
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

# The zips built by `make package`; read by the function build only.
resource "google_storage_bucket" "function_sources" {
  name                        = local.sources_bucket_name
  project                     = var.project_id
  location                    = upper(var.region)
  storage_class               = "STANDARD"
  force_destroy               = var.force_destroy_buckets
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  versioning {
    enabled = true
  }

  dynamic "logging" {
    for_each = local.access_log_buckets
    content {
      log_bucket        = logging.value
      log_object_prefix = local.sources_bucket_name
    }
  }

  # Old zips are only needed to roll back a deploy.
  lifecycle_rule {
    condition {
      age = 90
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_version_retention_days
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

# Named by content hash: a code change is a new object, hence a new build and revision.
resource "google_storage_bucket_object" "function_source" {
  for_each = local.function_zips

  bucket       = google_storage_bucket.function_sources.name
  name         = "functions/${each.key}/${filesha256(each.value)}.zip"
  source       = each.value
  content_type = "application/zip"
}
