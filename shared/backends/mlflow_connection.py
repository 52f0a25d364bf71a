"""Reaching an MLflow server: a Cloud Run ID token when the server wants one, short retries on loopback.

The MLflow client reads its credentials (``MLFLOW_TRACKING_TOKEN``) and HTTP retry settings from the
environment on every request; these two functions set them before the registry talks to a server.
"""

from __future__ import annotations

import logging
import os
import time
from urllib.parse import urlparse

logger = logging.getLogger(__name__)

_TOKEN_REFRESH_SECONDS = 45 * 60  # Google ID tokens live one hour
_token_fetched_at: dict[str, float] = {}


def ensure_cloud_run_token(tracking_uri: str) -> None:
    """Authenticate to an MLflow server on Cloud Run that has no public invoker.

    Cloud Run wants a Google ID token whose audience is the service URL; the MLflow client
    sends ``MLFLOW_TRACKING_TOKEN`` as a bearer token. We fetch one from the metadata server
    (or the local service-account credentials) and refresh it before it expires. Local
    servers (loopback) and an explicitly set token are left alone.
    """
    host = urlparse(tracking_uri).hostname or ""
    if not tracking_uri.startswith("https://") or host in ("localhost", "127.0.0.1"):
        return
    if os.environ.get("MLFLOW_TRACKING_TOKEN") and tracking_uri not in _token_fetched_at:
        return  # someone set their own token (e.g. `gcloud auth print-identity-token`)
    if time.monotonic() - _token_fetched_at.get(tracking_uri, -1e9) < _TOKEN_REFRESH_SECONDS:
        return
    try:
        import google.auth.transport.requests
        import google.oauth2.id_token

        token = google.oauth2.id_token.fetch_id_token(google.auth.transport.requests.Request(), tracking_uri.rstrip("/"))
    except Exception as exc:  # no Google credentials here: let the request go and fail with the server's answer
        logger.warning("could not fetch an ID token for %s: %s", tracking_uri, exc)
        return
    os.environ["MLFLOW_TRACKING_TOKEN"] = token
    _token_fetched_at[tracking_uri] = time.monotonic()


# MLflow retries a refused connection 7 times with doubling waits: four minutes before it says
# anything. A server on loopback that refuses is simply not started, so say so in seconds.
LOOPBACK_HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}


def fail_fast_on_loopback(tracking_uri: str) -> None:
    """Short MLflow HTTP retries for a loopback server, unless the environment already chose."""
    parsed = urlparse(tracking_uri)
    if parsed.scheme in ("http", "https") and parsed.hostname in ("localhost", "127.0.0.1", "::1"):
        for name, value in LOOPBACK_HTTP_DEFAULTS.items():
            os.environ.setdefault(name, value)  # MLflow reads these per request, not at import
