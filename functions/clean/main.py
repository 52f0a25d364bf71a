"""Cloud Function (gen2, CloudEvent): a file landed in the raw bucket -> validate, clean, quarantine."""

import functions_framework
from cloudevents.http import CloudEvent

from shared.handlers import handle_clean_event


@functions_framework.cloud_event
def clean(cloud_event: CloudEvent) -> None:
    handle_clean_event(cloud_event)
