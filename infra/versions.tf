# Provider ranges are pinned to one major version each: a new major is an explicit upgrade.
# google >= 7.21 is needed for Direct VPC egress on Cloud Run functions (2nd gen).
terraform {
  required_version = ">= 1.6, < 2.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 7.21, < 8.0"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = ">= 7.21, < 8.0"
    }
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0, < 7.0"
    }
    # Not used to zip the functions: `make package` (shared/local/packaging.py) builds them
    # byte-for-byte reproducibly, which archive_file does not promise across versions. Pinned so
    # every machine resolves the same lock file when a zip of a small asset is needed.
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4, < 3.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.6, < 4.0"
    }
    # time_sleep waits for IAM grants to propagate before the function builds and Eventarc
    # triggers use them, as the provider's "Cloudfunctions2 Basic Builder" example does.
    time = {
      source  = "hashicorp/time"
      version = ">= 0.12, < 1.0"
    }
  }

  # Remote state in a GCS bucket created by hand once (docs/deploy.md, step 2):
  #   terraform init -backend-config="bucket=<STATE_BUCKET>" -backend-config="prefix=dropscore"
  # `terraform init -backend=false && terraform validate` needs no bucket.
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = local.labels
}

provider "google-beta" {
  project = var.project_id
  region  = var.region

  default_labels = local.labels
}

# The AWS provider is only exercised when the S3 fallback is on; otherwise it must not demand
# AWS credentials from people who deploy on Google Cloud only.
provider "aws" {
  region = var.aws_region

  skip_credentials_validation = !local.s3_enabled
  skip_requesting_account_id  = !local.s3_enabled
  skip_metadata_api_check     = !local.s3_enabled
  # Placeholders only while no AWS resource exists, so a plan never looks for AWS credentials;
  # with the fallback on, null lets the provider use the normal chain (AWS_PROFILE, env, SSO).
  access_key = local.s3_enabled ? null : "unused-s3-fallback-off"
  secret_key = local.s3_enabled ? null : "unused-s3-fallback-off"

  default_tags {
    tags = local.labels
  }
}
