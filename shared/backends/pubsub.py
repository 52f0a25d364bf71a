"""Publishing to Pub/Sub: one publisher client per process, shared by everything that publishes.

The drift step asks for retraining on the retrain topic; alerts go out on the alert topic. A
``PublisherClient`` opens a gRPC channel and starts batching threads, so it is built once (on
first use: it reads ``PUBSUB_EMULATOR_HOST`` then) and kept, like every client
(:mod:`shared.backends.process_cache`).
"""

from __future__ import annotations

from typing import Any

from shared.backends.process_cache import per_process


@per_process
def publisher() -> Any:  # google.cloud.pubsub_v1.PublisherClient, imported only when something publishes
    from google.cloud import pubsub_v1

    return pubsub_v1.PublisherClient()


def publish(topic: str, data: bytes, *, timeout: float, **attributes: str) -> str:
    """Publish ``data`` on ``topic`` (``projects/P/topics/T``) and wait up to ``timeout`` seconds for
    the server's message id. Errors are the client's own: callers decide what a failed publish means."""
    return str(publisher().publish(topic, data, **attributes).result(timeout=timeout))
