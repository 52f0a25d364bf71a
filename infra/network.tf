# A small VPC so that everything can stay internal:
# - the functions reach MLflow (internal ingress) through Direct VPC egress, all traffic;
# - MLflow reaches Cloud SQL on its private IP (no public IP on the database);
# - Cloud NAT lets the functions post to an alert webhook outside Google (Slack, Teams) and, with
#   storage_backend = "s3", reach AWS STS and S3; Google Chat webhooks and every Google API are
#   reached through Private Google Access without it. The functions must keep
#   VPC_EGRESS_ALL_TRAFFIC (they call MLflow, whose ingress is internal-only, and only traffic that
#   leaves through the VPC counts as internal), so everything bound for the internet goes through
#   the VPC and needs this NAT: PRIVATE_RANGES_ONLY would reach AWS directly but lose MLflow.
# Direct VPC egress has no idle cost (unlike a Serverless VPC Access connector).

resource "google_compute_network" "vpc" {
  name                    = "${var.name_prefix}-vpc"
  project                 = var.project_id
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"

  depends_on = [google_project_service.enabled]
}

resource "google_compute_subnetwork" "serverless" {
  name          = "${var.name_prefix}-serverless"
  project       = var.project_id
  region        = var.region
  network       = google_compute_network.vpc.id
  ip_cidr_range = var.subnet_cidr

  # Google APIs (Storage, BigQuery, Pub/Sub, *.run.app) are reached without public IPs.
  private_ip_google_access   = true
  private_ipv6_google_access = "ENABLE_OUTBOUND_VM_ACCESS_TO_GOOGLE"

  log_config {
    aggregation_interval = "INTERVAL_10_MIN"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

locals {
  # S3 on AWS is on the internet: the S3 backend needs the NAT whatever internet_egress_enabled says.
  nat_enabled = var.internet_egress_enabled || var.storage_backend == "s3"
}

resource "google_compute_router" "nat" {
  count = local.nat_enabled ? 1 : 0

  name    = "${var.name_prefix}-router"
  project = var.project_id
  region  = var.region
  network = google_compute_network.vpc.id
}

resource "google_compute_router_nat" "nat" {
  count = local.nat_enabled ? 1 : 0

  name                               = "${var.name_prefix}-nat"
  project                            = var.project_id
  region                             = var.region
  router                             = google_compute_router.nat[0].name
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "LIST_OF_SUBNETWORKS"

  subnetwork {
    name                    = google_compute_subnetwork.serverless.id
    source_ip_ranges_to_nat = ["ALL_IP_RANGES"]
  }

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}

# Private services access: the range Cloud SQL takes its private IP from.
resource "google_compute_global_address" "private_services" {
  name          = "${var.name_prefix}-private-services"
  project       = var.project_id
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = var.private_services_prefix_length
  network       = google_compute_network.vpc.id
}

resource "google_service_networking_connection" "private_services" {
  network                 = google_compute_network.vpc.id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.private_services.name]
}

# Nothing listens inside this VPC: refuse all inbound traffic explicitly, and log attempts.
resource "google_compute_firewall" "deny_all_ingress" {
  name      = "${var.name_prefix}-deny-all-ingress"
  project   = var.project_id
  network   = google_compute_network.vpc.id
  direction = "INGRESS"
  priority  = 65534

  source_ranges = ["0.0.0.0/0"]

  deny {
    protocol = "all"
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}
