# The warehouse (DROPSCORE_WAREHOUSE=bigquery://PROJECT/DATASET). Table schemas are the JSON
# files the code's BigQuery backend uses (shared/backends/warehouse/schemas/<table>.json, BigQuery JSON schema
# format), so Terraform and the code cannot disagree on a column.

locals {
  schemas_dir = "${path.module}/../shared/backends/warehouse/schemas"

  # The warehouse tables of shared/backends/warehouse/schema.py (TABLES). tables.json holds each table's
  # time_partitioning (daily, on its timestamp column), clustering and description, in the
  # shape of google_bigquery_table's arguments.
  bigquery_table_names   = ["predictions", "batches", "drift_results", "alerts", "model_events"]
  bigquery_table_options = jsondecode(file("${local.schemas_dir}/tables.json"))
}

resource "google_bigquery_dataset" "warehouse" {
  #checkov:skip=CKV_GCP_81:Google-managed encryption at rest; a customer-managed Cloud KMS key adds key administration and per-key cost not warranted for the small teams dropscore targets (docs/deploy.md, Security).
  dataset_id                 = local.dataset_id
  project                    = var.project_id
  location                   = var.region
  friendly_name              = "dropscore"
  description                = "dropscore warehouse: predictions, batches, drift results, alerts and model events."
  delete_contents_on_destroy = false

  depends_on = [google_project_service.enabled]
}

resource "google_bigquery_table" "tables" {
  #checkov:skip=CKV_GCP_80:Google-managed encryption at rest, as for the dataset (CKV_GCP_81); no customer-managed key by design.
  for_each = toset(local.bigquery_table_names)

  project             = var.project_id
  dataset_id          = google_bigquery_dataset.warehouse.dataset_id
  table_id            = each.key
  description         = local.bigquery_table_options[each.key].description
  deletion_protection = var.deletion_protection
  schema              = jsonencode(jsondecode(file("${local.schemas_dir}/${each.key}.json")))
  clustering          = local.bigquery_table_options[each.key].clustering

  time_partitioning {
    type  = local.bigquery_table_options[each.key].time_partitioning.type
    field = local.bigquery_table_options[each.key].time_partitioning.field
  }
}

# What the business reads as "the predictions": every scored row except those of the deployment
# smoke test (infra/smoke_test.py drops its file under incoming/smoke/, and every row it produces
# carries that path in source_uri; shared/monitor/smoke_rows.py). The drift check skips them in code.
resource "google_bigquery_table" "predictions_production" {
  #checkov:skip=CKV_GCP_80:A view stores no data; the table it reads is covered by the dataset's Google-managed encryption (CKV_GCP_81).
  project             = var.project_id
  dataset_id          = google_bigquery_dataset.warehouse.dataset_id
  table_id            = "predictions_production"
  description         = "The predictions table without the deployment smoke test's rows (source_uri under incoming/smoke/)."
  deletion_protection = var.deletion_protection

  view {
    query          = "SELECT * FROM `${var.project_id}.${google_bigquery_dataset.warehouse.dataset_id}.${google_bigquery_table.tables["predictions"].table_id}` WHERE NOT STRPOS(IFNULL(source_uri, ''), '/incoming/smoke/') > 0"
    use_legacy_sql = false
  }
}
