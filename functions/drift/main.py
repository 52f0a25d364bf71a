"""Cloud Function (gen2, HTTP): Cloud Scheduler calls it monthly -> drift and performance check."""

import flask
import functions_framework

from shared.handlers import handle_drift_request


@functions_framework.http
def drift(request: flask.Request) -> tuple[str, int, dict[str, str]]:
    return handle_drift_request(request)
