# ---------------------------------------------------------------------------------------------
# Project and naming
# ---------------------------------------------------------------------------------------------

variable "project_id" {
  type        = string
  description = "Google Cloud project ID that hosts dropscore (buckets, BigQuery, functions, MLflow)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project ID: 6-30 lowercase letters, digits or hyphens."
  }
}

variable "region" {
  type        = string
  description = "Region for buckets, functions, Cloud Run, Cloud SQL and the scheduler (e.g. us-central1, us-east1, southamerica-east1, southamerica-west1)."
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a single Google Cloud region such as us-central1 (multi-regions are not supported: Eventarc storage triggers need the bucket and the function in one region)."
  }
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name. Buckets are named <name_prefix>-raw, <name_prefix>-clean, ... and bucket names are global, so include your company, e.g. \"acme-dropscore\"."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 4-20 characters: lowercase letters, digits and hyphens, starting with a letter (service account IDs derived from it are limited to 30 characters)."
  }
}

variable "labels" {
  type        = map(string)
  description = "Extra labels (and AWS tags) added to every resource that supports them."
  default     = {}
}

# ---------------------------------------------------------------------------------------------
# Storage
# ---------------------------------------------------------------------------------------------

variable "storage_backend" {
  type        = string
  description = "Where the functions keep their data areas: \"gcs\" (one bucket per area) or \"s3\" (one S3 bucket with raw/, clean/, ... prefixes). \"s3\" also creates the S3 fallback bucket."
  default     = "gcs"

  validation {
    condition     = contains(["gcs", "s3"], var.storage_backend)
    error_message = "storage_backend must be \"gcs\" or \"s3\"."
  }
}

variable "s3_fallback_enabled" {
  type        = bool
  description = "Create the S3 fallback bucket and its IAM policy even while storage_backend is \"gcs\" (a standby you can switch to)."
  default     = false
}

variable "aws_region" {
  type        = string
  description = "AWS region of the S3 fallback bucket."
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS region such as us-east-1 or sa-east-1."
  }
}

variable "s3_bucket_name" {
  type        = string
  description = "Name of the S3 fallback bucket; null means \"<name_prefix>-data\"."
  default     = null
  nullable    = true

  validation {
    condition     = var.s3_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.s3_bucket_name))
    error_message = "s3_bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)."
  }
}

variable "s3_prefix" {
  type        = string
  description = "Key prefix inside the S3 bucket under which the areas raw/, clean/, ... live (DROPSCORE_STORAGE=s3://<bucket>/<s3_prefix>)."
  default     = "dropscore"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]*$", var.s3_prefix))
    error_message = "s3_prefix must be a single path segment without slashes."
  }
}

variable "raw_retention_days" {
  type        = number
  description = "Days after which files in the raw area (GCS bucket or S3 raw/ prefix) are deleted. They are the users' original uploads and may hold personal data."
  default     = 30

  validation {
    condition     = var.raw_retention_days >= 1 && var.raw_retention_days <= 3650
    error_message = "raw_retention_days must be between 1 and 3650."
  }
}

variable "quarantine_retention_days" {
  type        = number
  description = "Days after which rejected rows in the quarantine area are deleted."
  default     = 90

  validation {
    condition     = var.quarantine_retention_days >= 1 && var.quarantine_retention_days <= 3650
    error_message = "quarantine_retention_days must be between 1 and 3650."
  }
}

variable "noncurrent_version_retention_days" {
  type        = number
  description = "Days a replaced or deleted object version is kept (bucket versioning) before it is removed for good."
  default     = 30

  validation {
    condition     = var.noncurrent_version_retention_days >= 1 && var.noncurrent_version_retention_days <= 3650
    error_message = "noncurrent_version_retention_days must be between 1 and 3650."
  }
}

variable "access_logs_enabled" {
  type        = bool
  description = "Write Cloud Storage usage logs of every bucket into <name_prefix>-access-logs. Needs an IAM grant to the Google-owned group cloud-storage-analytics@google.com, which organisations with domain restricted sharing (iam.allowedPolicyMemberDomains) refuse: off by default; turn on where that constraint allows it."
  default     = false
}

variable "access_log_retention_days" {
  type        = number
  description = "Days the bucket access logs are kept."
  default     = 365

  validation {
    condition     = var.access_log_retention_days >= 1 && var.access_log_retention_days <= 3650
    error_message = "access_log_retention_days must be between 1 and 3650."
  }
}

variable "force_destroy_buckets" {
  type        = bool
  description = "Allow `terraform destroy` to delete buckets that still hold objects. Keep false outside throwaway projects."
  default     = false
}

variable "deletion_protection" {
  type        = bool
  description = "Protect BigQuery tables, the Cloud SQL instance and the MLflow service against deletion by Terraform."
  default     = true
}

# ---------------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------------

variable "package_dir" {
  type        = string
  description = "Folder holding <function>.zip built by `make package`, relative to infra/ unless absolute."
  default     = "../dist/functions"
}

variable "function_runtime" {
  type        = string
  description = "Cloud Run functions runtime for all four functions."
  default     = "python311"

  validation {
    condition     = contains(["python311", "python312", "python313"], var.function_runtime)
    error_message = "function_runtime must be one of python311, python312, python313 (requirements.txt is resolved for 3.11+)."
  }
}

variable "function_settings" {
  type = map(object({
    memory          = string
    timeout_seconds = number
    max_instances   = number
  }))
  description = "Memory (e.g. \"2Gi\"), timeout in seconds and maximum instance count of each function, keyed clean, score, drift, retrain. Event-driven functions (clean, score, retrain) allow at most 540 s; drift (HTTP) at most 1800 s, the Cloud Scheduler limit."
  default = {
    clean   = { memory = "2Gi", timeout_seconds = 540, max_instances = 10 }
    score   = { memory = "2Gi", timeout_seconds = 540, max_instances = 10 }
    drift   = { memory = "2Gi", timeout_seconds = 1800, max_instances = 1 }
    retrain = { memory = "1Gi", timeout_seconds = 540, max_instances = 1 }
  }

  validation {
    condition     = toset(keys(var.function_settings)) == toset(["clean", "score", "drift", "retrain"])
    error_message = "function_settings must have exactly the keys clean, score, drift and retrain."
  }

  validation {
    condition     = alltrue([for settings in values(var.function_settings) : contains(["256Mi", "512Mi", "1Gi", "2Gi", "4Gi", "8Gi", "16Gi", "32Gi"], settings.memory)])
    error_message = "memory must be one of 256Mi, 512Mi, 1Gi, 2Gi, 4Gi, 8Gi, 16Gi, 32Gi."
  }

  validation {
    condition     = alltrue([for name, settings in var.function_settings : settings.timeout_seconds >= 60 && settings.timeout_seconds <= (name == "drift" ? 1800 : 540)])
    error_message = "timeout_seconds must be 60-540 for clean, score and retrain (event-driven) and 60-1800 for drift."
  }

  validation {
    condition     = alltrue([for settings in values(var.function_settings) : settings.max_instances >= 1 && settings.max_instances <= 100])
    error_message = "max_instances must be between 1 and 100."
  }
}

variable "model_name" {
  type        = string
  description = "Registered model name in MLflow (DROPSCORE_MODEL_NAME)."
  default     = "dropscore"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$", var.model_name))
    error_message = "model_name must be 1-63 letters, digits, dots, hyphens or underscores."
  }
}

variable "language" {
  type        = string
  description = "Language of reports and alert messages (DROPSCORE_LANG)."
  default     = "es"

  validation {
    condition     = contains(["es", "en"], var.language)
    error_message = "language must be \"es\" or \"en\"."
  }
}

variable "max_event_age_seconds" {
  type        = number
  description = "Storage and Pub/Sub events older than this are dropped without work (DROPSCORE_MAX_EVENT_AGE_SECONDS). Eventarc retries for up to 24 hours."
  default     = 86400

  validation {
    condition     = var.max_event_age_seconds >= 60 && var.max_event_age_seconds <= 604800
    error_message = "max_event_age_seconds must be between 60 and 604800 (7 days)."
  }
}

variable "shard_bytes" {
  type        = number
  description = "Dropped files larger than this many bytes are cleaned into shards, each scored by its own score invocation in parallel (DROPSCORE_SHARD_BYTES). Smaller shards: more parallel instances and less /tmp per clean instance; larger: fewer invocations."
  default     = 268435456

  validation {
    condition     = var.shard_bytes >= 2097152 && var.shard_bytes <= 1073741824
    error_message = "shard_bytes must be between 2097152 (2 MiB, the clean step's read block: shared/settings.py MIN_SHARD_BYTES refuses less) and 1073741824 (1 GiB)."
  }
}

variable "alert_webhook_url" {
  type        = string
  description = "URL receiving alert messages as a JSON POST (Google Chat, Slack or Teams incoming webhook); empty disables it (DROPSCORE_ALERT_WEBHOOK)."
  default     = ""
  sensitive   = true

  validation {
    condition     = var.alert_webhook_url == "" || startswith(var.alert_webhook_url, "https://")
    error_message = "alert_webhook_url must be empty or an https:// URL."
  }
}

# ---------------------------------------------------------------------------------------------
# Drift schedule
# ---------------------------------------------------------------------------------------------

variable "drift_schedule" {
  type        = string
  description = "Cron expression (Cloud Scheduler, unix-cron) for the drift check. Default: 06:00 on the first day of every month."
  default     = "0 6 1 * *"

  validation {
    condition     = length(split(" ", trimspace(var.drift_schedule))) == 5
    error_message = "drift_schedule must be a five-field unix-cron expression such as \"0 6 1 * *\"."
  }
}

variable "drift_time_zone" {
  type        = string
  description = "IANA time zone the drift schedule is read in."
  default     = "America/Guayaquil"

  validation {
    condition     = can(regex("^(UTC|Etc/[A-Za-z0-9+-]+|[A-Z][A-Za-z_]+/[A-Za-z_/+-]+)$", var.drift_time_zone))
    error_message = "drift_time_zone must be an IANA time zone such as America/Guayaquil, America/Bogota or UTC."
  }
}

# ---------------------------------------------------------------------------------------------
# Retrain
# ---------------------------------------------------------------------------------------------

variable "retrain_max_delivery_attempts" {
  type        = number
  description = "Deliveries of a retrain request before it moves to the dead-letter topic."
  default     = 5

  validation {
    condition     = var.retrain_max_delivery_attempts >= 5 && var.retrain_max_delivery_attempts <= 100
    error_message = "retrain_max_delivery_attempts must be between 5 and 100 (Pub/Sub limits)."
  }
}

variable "retrain_image" {
  type        = string
  description = "Container image of the retrain Cloud Run job, built from the retrain function's zip by infra/retrain/Dockerfile (cloudbuild.yaml does it), e.g. us-central1-docker.pkg.dev/PROJECT/PREFIX-images/retrain:<zip sha256>."

  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?/.+[:@].+$", var.retrain_image))
    error_message = "retrain_image must be a full image reference with a tag or digest, e.g. us-central1-docker.pkg.dev/PROJECT/PREFIX-images/retrain:TAG."
  }
}

variable "retrain_job_settings" {
  type = object({
    cpu             = string
    memory          = string
    timeout_seconds = number
    max_retries     = number
  })
  description = "vCPU, memory, task timeout and retries of the retrain Cloud Run job. Memory bounds the labeled rows a retrain can load (roughly 1 GiB per 250 000 rows of 30 columns); Cloud Run jobs allow up to 8 vCPU, 32 GiB and 168 hours."
  default = {
    cpu             = "4"
    memory          = "16Gi"
    timeout_seconds = 21600
    max_retries     = 1
  }

  validation {
    condition     = contains(["1", "2", "4", "8"], var.retrain_job_settings.cpu)
    error_message = "retrain_job_settings.cpu must be \"1\", \"2\", \"4\" or \"8\"."
  }

  validation {
    condition     = contains(["2Gi", "4Gi", "8Gi", "16Gi", "24Gi", "32Gi"], var.retrain_job_settings.memory)
    error_message = "retrain_job_settings.memory must be one of 2Gi, 4Gi, 8Gi, 16Gi, 24Gi, 32Gi."
  }

  # Cloud Run's minimum vCPU per memory size: above 4 GiB 2 vCPU, above 8 GiB 4, above 16 GiB 6
  # (so 8 among the choices here), above 24 GiB 8.
  validation {
    condition = tonumber(var.retrain_job_settings.cpu) >= lookup(
      { "2Gi" = 1, "4Gi" = 1, "8Gi" = 2, "16Gi" = 4, "24Gi" = 8, "32Gi" = 8 }, var.retrain_job_settings.memory, 8
    )
    error_message = "retrain_job_settings: 8Gi needs at least 2 vCPU, 16Gi at least 4, 24Gi and 32Gi need 8 (Cloud Run minimums)."
  }

  validation {
    condition     = var.retrain_job_settings.timeout_seconds >= 600 && var.retrain_job_settings.timeout_seconds <= 604800
    error_message = "retrain_job_settings.timeout_seconds must be between 600 and 604800 (168 hours, the Cloud Run jobs limit)."
  }

  validation {
    condition     = var.retrain_job_settings.max_retries >= 0 && var.retrain_job_settings.max_retries <= 10
    error_message = "retrain_job_settings.max_retries must be between 0 and 10."
  }
}

# ---------------------------------------------------------------------------------------------
# MLflow
# ---------------------------------------------------------------------------------------------

variable "mlflow_image" {
  type        = string
  description = "Container image of the MLflow tracking server; it needs mlflow, psycopg2 and google-cloud-storage (infra/mlflow/Dockerfile builds one). Artifact Registry or Docker Hub only, e.g. us-central1-docker.pkg.dev/PROJECT/PREFIX-images/mlflow:3.17.2."

  validation {
    condition     = length(var.mlflow_image) > 0
    error_message = "mlflow_image must name a container image."
  }
}

variable "cloud_sql_proxy_image" {
  type        = string
  description = "Cloud SQL Auth Proxy image run as a sidecar of the MLflow service."
  default     = "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.18.2"

  validation {
    condition     = can(regex("cloud-sql-proxy:[0-9]+[.][0-9]+[.][0-9]+$", var.cloud_sql_proxy_image))
    error_message = "cloud_sql_proxy_image must be a pinned cloud-sql-proxy image (tag x.y.z)."
  }
}

variable "mlflow_db_tier" {
  type        = string
  description = "Cloud SQL machine tier of the MLflow backend store. db-f1-micro is the cheapest (shared core) and enough for a few users."
  default     = "db-f1-micro"

  validation {
    condition     = can(regex("^db-(f1-micro|g1-small|custom-[0-9]+-[0-9]+|perf-optimized-N-[0-9]+)$", var.mlflow_db_tier))
    error_message = "mlflow_db_tier must be a Cloud SQL tier such as db-f1-micro, db-g1-small or db-custom-1-3840."
  }
}

variable "mlflow_db_version" {
  type        = string
  description = "PostgreSQL major version of the MLflow backend store."
  default     = "POSTGRES_18"

  validation {
    condition     = contains(["POSTGRES_16", "POSTGRES_17", "POSTGRES_18"], var.mlflow_db_version)
    error_message = "mlflow_db_version must be POSTGRES_16, POSTGRES_17 or POSTGRES_18."
  }
}

variable "mlflow_max_instances" {
  type        = number
  description = "Maximum Cloud Run instances of the MLflow server (it scales to zero when idle)."
  default     = 2

  validation {
    condition     = var.mlflow_max_instances >= 1 && var.mlflow_max_instances <= 20
    error_message = "mlflow_max_instances must be between 1 and 20."
  }
}

variable "mlflow_db_pool_size" {
  type        = number
  description = "Connections each MLflow worker process keeps open to the database (MLFLOW_SQLALCHEMYSTORE_POOL_SIZE). With mlflow_max_instances and 2 workers per instance the total must fit the tier's max_connections (checked at plan time)."
  default     = 2

  validation {
    condition     = var.mlflow_db_pool_size >= 1 && var.mlflow_db_pool_size <= 20
    error_message = "mlflow_db_pool_size must be between 1 and 20."
  }
}

variable "mlflow_db_max_overflow" {
  type        = number
  description = "Extra connections each MLflow worker may open above its pool under load (MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW)."
  default     = 1

  validation {
    condition     = var.mlflow_db_max_overflow >= 0 && var.mlflow_db_max_overflow <= 20
    error_message = "mlflow_db_max_overflow must be between 0 and 20."
  }
}

variable "mlflow_db_max_connections" {
  type        = number
  description = "max_connections of the MLflow database; null uses the Cloud SQL default of the tier (db-f1-micro 25, db-g1-small 50, others assumed 100). Set it when you pick a custom tier or change the flag."
  default     = null
  nullable    = true

  validation {
    condition     = var.mlflow_db_max_connections == null || try(var.mlflow_db_max_connections >= 10, false)
    error_message = "mlflow_db_max_connections must be null or at least 10."
  }
}

variable "mlflow_operator_access" {
  type        = bool
  description = "Temporarily accept MLflow requests from outside the VPC (for the first `dropscore train` from a laptop through `gcloud run services proxy`). Requests still need an identity in mlflow_operator_members; set back to false afterwards."
  default     = false
}

variable "mlflow_operator_members" {
  type        = list(string)
  description = "IAM members (user:..., group:..., serviceAccount:...) allowed to call MLflow, e.g. the data person training the first model. Never allUsers."
  default     = []

  validation {
    condition     = alltrue([for member in var.mlflow_operator_members : can(regex("^(user|group|serviceAccount|domain):", member))])
    error_message = "mlflow_operator_members entries must start with user:, group:, serviceAccount: or domain: (allUsers and allAuthenticatedUsers are refused)."
  }
}

# ---------------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------------

variable "internet_egress_enabled" {
  type        = bool
  description = "Create Cloud NAT so the functions can reach the internet (a Slack or Teams alert webhook). Its external IP costs about USD 3.65 a month; Google Chat webhooks and Google APIs work without it."
  default     = true
}

variable "subnet_cidr" {
  type        = string
  description = "CIDR of the subnet used for Direct VPC egress by the functions and MLflow (at least /26)."
  default     = "10.20.0.0/24"

  validation {
    condition     = can(cidrhost(var.subnet_cidr, 0)) && try(tonumber(split("/", var.subnet_cidr)[1]) <= 26, false)
    error_message = "subnet_cidr must be an IPv4 CIDR of size /26 or larger."
  }
}

variable "private_services_prefix_length" {
  type        = number
  description = "Prefix length of the range reserved for private services access (Cloud SQL private IP)."
  default     = 20

  validation {
    condition     = var.private_services_prefix_length >= 16 && var.private_services_prefix_length <= 24
    error_message = "private_services_prefix_length must be between 16 and 24."
  }
}
