"""Cloud Function (gen2, CloudEvent): a clean batch landed -> score it with the champion model."""

import functions_framework
from cloudevents.http import CloudEvent

from shared.handlers import handle_score_event


@functions_framework.cloud_event
def score(cloud_event: CloudEvent) -> None:
    handle_score_event(cloud_event)
