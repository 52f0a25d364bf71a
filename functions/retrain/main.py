"""Cloud Function (gen2, CloudEvent from Pub/Sub): a retrain request -> challenger, gates, promotion."""

import functions_framework
from cloudevents.http import CloudEvent

from shared.handlers import handle_retrain_event


@functions_framework.cloud_event
def retrain(cloud_event: CloudEvent) -> None:
    handle_retrain_event(cloud_event)
