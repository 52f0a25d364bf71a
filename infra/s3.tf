# S3 fallback: one bucket with the areas as prefixes (s3://<bucket>/<s3_prefix>/raw/, ...), the
# layout shared/settings.py derives from DROPSCORE_STORAGE=s3://<bucket>/<s3_prefix>.
# Created when storage_backend = "s3" or s3_fallback_enabled = true.
#
# Access: an IAM policy limited to this bucket (and its KMS key), attached to a role that the
# functions' Google service accounts assume with their Google-signed identity tokens (web
# identity federation: no long-lived AWS keys anywhere). Attach the same policy to the role or
# group of anyone else who runs dropscore against the bucket.

locals {
  s3_count = local.s3_enabled ? 1 : 0
}

data "aws_caller_identity" "current" {
  count = local.s3_count
}

data "aws_partition" "current" {
  count = local.s3_count
}

resource "aws_kms_key" "s3" {
  count = local.s3_count

  description             = "dropscore ${var.name_prefix} S3 fallback bucket"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministration"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current[0].partition}:iam::${data.aws_caller_identity.current[0].account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
    ]
  })
}

resource "aws_kms_alias" "s3" {
  count = local.s3_count

  name          = "alias/${var.name_prefix}-dropscore-s3"
  target_key_id = aws_kms_key.s3[0].key_id
}

# ---------------------------------------------------------------------------------------------
# Access-log bucket
# ---------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_18:This bucket is the access-log target of the data bucket; logging it into itself would log its own log writes.
  #checkov:skip=CKV_AWS_144:Access logs of a fallback bucket do not justify a second-region copy and its cost.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events from the access-log bucket.
  #checkov:skip=CKV_AWS_145:S3 server access logging only delivers to buckets encrypted with SSE-S3 (AES256), not SSE-KMS.
  count = local.s3_count

  bucket        = "${local.s3_bucket_name}-logs"
  force_destroy = var.force_destroy_buckets
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  count = local.s3_count

  bucket = aws_s3_bucket.access_logs[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  count = local.s3_count

  bucket                  = aws_s3_bucket.access_logs[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "access_logs" {
  count = local.s3_count

  bucket = aws_s3_bucket.access_logs[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  count = local.s3_count

  bucket = aws_s3_bucket.access_logs[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  count = local.s3_count

  bucket = aws_s3_bucket.access_logs[0].id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.access_log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  count = local.s3_count

  bucket = aws_s3_bucket.access_logs[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "S3ServerAccessLogsDelivery"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.access_logs[0].arn}/*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current[0].account_id }
          ArnLike      = { "aws:SourceArn" = aws_s3_bucket.data[0].arn }
        }
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.access_logs[0].arn, "${aws_s3_bucket.access_logs[0].arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })

  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}

# ---------------------------------------------------------------------------------------------
# Data bucket
# ---------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "data" {
  #checkov:skip=CKV_AWS_144:The bucket is itself the fallback copy of the GCS buckets; a cross-region replica would double storage cost for no stated need.
  #checkov:skip=CKV2_AWS_62:The pipeline is driven by Google Cloud events and dropscore commands; nothing subscribes to S3 event notifications.
  count = local.s3_count

  bucket        = local.s3_bucket_name
  force_destroy = var.force_destroy_buckets
}

resource "aws_s3_bucket_ownership_controls" "data" {
  count = local.s3_count

  bucket = aws_s3_bucket.data[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "data" {
  count = local.s3_count

  bucket                  = aws_s3_bucket.data[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "data" {
  count = local.s3_count

  bucket = aws_s3_bucket.data[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  count = local.s3_count

  bucket = aws_s3_bucket.data[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.s3[0].arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_logging" "data" {
  count = local.s3_count

  bucket        = aws_s3_bucket.data[0].id
  target_bucket = aws_s3_bucket.access_logs[0].id
  target_prefix = "${local.s3_bucket_name}/"
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  count = local.s3_count

  bucket = aws_s3_bucket.data[0].id

  rule {
    id     = "expire-raw"
    status = "Enabled"
    filter {
      prefix = "${var.s3_prefix}/raw/"
    }
    expiration {
      days = var.raw_retention_days
    }
  }

  rule {
    id     = "expire-quarantine"
    status = "Enabled"
    filter {
      prefix = "${var.s3_prefix}/quarantine/"
    }
    expiration {
      days = var.quarantine_retention_days
    }
  }

  rule {
    id     = "noncurrent-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.data]
}

resource "aws_s3_bucket_policy" "data" {
  count = local.s3_count

  bucket = aws_s3_bucket.data[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.data[0].arn, "${aws_s3_bucket.data[0].arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })

  depends_on = [aws_s3_bucket_public_access_block.data]
}

# ---------------------------------------------------------------------------------------------
# Access policy (this bucket and its key only) and the role the functions assume
# ---------------------------------------------------------------------------------------------

resource "aws_iam_policy" "s3_access" {
  count = local.s3_count

  name        = "${var.name_prefix}-dropscore-s3"
  description = "Read and write dropscore data in s3://${local.s3_bucket_name} only."
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ListTheBucket"
        Effect   = "Allow"
        Action   = ["s3:ListBucket", "s3:GetBucketLocation"]
        Resource = aws_s3_bucket.data[0].arn
      },
      {
        Sid      = "ReadWriteObjects"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
        Resource = "${aws_s3_bucket.data[0].arn}/*"
      },
      {
        Sid      = "UseTheBucketKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = aws_kms_key.s3[0].arn
      },
    ]
  })
}

locals {
  s3_role_name = "${var.name_prefix}-dropscore-functions"
  # The audience the functions ask the metadata server for (shared/backends/storage/aws_credentials.py uses
  # AWS_ROLE_ARN itself), so a token minted for anything else is refused here. Built from the
  # account and the name, not from aws_iam_role.functions.arn, which would refer to itself.
  s3_role_arn = local.s3_enabled ? "arn:${data.aws_partition.current[0].partition}:iam::${data.aws_caller_identity.current[0].account_id}:role/${local.s3_role_name}" : null
  # Who may assume the role: the functions' service accounts and the retrain job's (the same
  # account as the retrain function).
  s3_web_identity_subjects = [for name in local.function_names : google_service_account.function[name].unique_id]
}

# Trusts Google-signed identity tokens of the function service accounts only. For Google, AWS
# maps the token's claims to condition keys this way (IAM User Guide, "Available keys for AWS web
# identity federation"): accounts.google.com:aud is the token's azp claim when it has one, and a
# service account's ID token carries azp = its unique ID; accounts.google.com:oaud is then the
# token's aud claim (the audience requested from the metadata server); accounts.google.com:sub
# is the sub claim, again the service account's unique ID. All three are pinned: aud and sub to
# the functions' accounts, oaud to this role's ARN.
resource "aws_iam_role" "functions" {
  count = local.s3_count

  name                 = local.s3_role_name
  description          = "Assumed by the dropscore Cloud Run functions through Google web identity federation."
  max_session_duration = 3600
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Principal = { Federated = "accounts.google.com" }
        Action    = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          StringEquals = {
            "accounts.google.com:aud"  = local.s3_web_identity_subjects
            "accounts.google.com:sub"  = local.s3_web_identity_subjects
            "accounts.google.com:oaud" = local.s3_role_arn
          }
        }
      },
    ]
  })
}

resource "aws_iam_role_policy_attachment" "functions_s3_access" {
  count = local.s3_count

  role       = aws_iam_role.functions[0].name
  policy_arn = aws_iam_policy.s3_access[0].arn
}
