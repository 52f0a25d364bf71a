# Retrain requests (published by drift, DROPSCORE_RETRAIN_TOPIC) reach the retrain function
# through a push subscription we own, so it can carry a dead-letter policy; alerts
# (DROPSCORE_ALERT_TOPIC) are published by every function.
#
# The push goes to <retrain URL>/projects/P/topics/T: functions-framework turns the raw Pub/Sub
# push body into a google.cloud.pubsub.topic.v1.messagePublished CloudEvent and reads the topic
# from that path, so retrain(cloud_event) sees the same event shape Eventarc would deliver.

resource "google_pubsub_topic" "retrain" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption; messages are small retrain requests with no personal data, and CMEK is out of scope by design (see CKV_GCP_81).
  name                       = "${var.name_prefix}-retrain"
  project                    = var.project_id
  message_retention_duration = "604800s"

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "retrain_dead_letter" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption, as for the retrain topic it backs up.
  name                       = "${var.name_prefix}-retrain-dead-letter"
  project                    = var.project_id
  message_retention_duration = "604800s"

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "alerts" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption; alert records hold counts and names, never row data, and CMEK is out of scope by design (see CKV_GCP_81).
  name                       = "${var.name_prefix}-alerts"
  project                    = var.project_id
  message_retention_duration = "604800s"

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_subscription" "retrain_push" {
  name    = "${var.name_prefix}-retrain-push"
  project = var.project_id
  topic   = google_pubsub_topic.retrain.id

  # Pub/Sub waits this long for the function to answer; retrain runs up to its timeout.
  ack_deadline_seconds       = 600
  message_retention_duration = "604800s"
  expiration_policy {
    ttl = ""
  }

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.function["retrain"].service_config[0].uri}/${google_pubsub_topic.retrain.id}"

    oidc_token {
      service_account_email = google_service_account.retrain_push.email
      audience              = google_cloudfunctions2_function.function["retrain"].service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "60s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.retrain_dead_letter.id
    max_delivery_attempts = var.retrain_max_delivery_attempts
  }
}

# Keeps dead-lettered retrain requests readable (a topic without subscriptions drops messages).
resource "google_pubsub_subscription" "retrain_dead_letter" {
  name                       = "${var.name_prefix}-retrain-dead-letter"
  project                    = var.project_id
  topic                      = google_pubsub_topic.retrain_dead_letter.id
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"
  expiration_policy {
    ttl = ""
  }
}

# Keeps alert records for a week for whoever wants to pull them (chat bots, ticketing).
resource "google_pubsub_subscription" "alerts" {
  name                       = "${var.name_prefix}-alerts"
  project                    = var.project_id
  topic                      = google_pubsub_topic.alerts.id
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"
  expiration_policy {
    ttl = ""
  }
}
