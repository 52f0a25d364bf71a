"""Just enough of the Pub/Sub service for the local stack: ``Publish``, then a push to a subscriber.

The drift function publishes retrain requests with the real google-cloud-pubsub client
(``PUBSUB_EMULATOR_HOST`` points it here, over gRPC as in the cloud). Each message is
handed to ``on_message``, which the event router turns into the push the retrain
subscription makes (infra/pubsub.tf), with its retries and dead letter. No pull, no
subscriptions API: nothing in dropscore uses them.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger("dropscore.pubsub")

PUBLISHER_SERVICE = "google.pubsub.v1.Publisher"


@dataclass(frozen=True)
class PublishedMessage:
    topic: str
    message_id: str
    data: bytes
    attributes: dict[str, str]
    publish_time: datetime


class LocalPubSub:
    """A gRPC server on ``host:port`` implementing ``Publisher.Publish`` for any topic."""

    def __init__(self, host: str, port: int, on_message: Callable[[PublishedMessage], None]) -> None:
        import grpc
        from google.pubsub_v1.types import PublishRequest, PublishResponse

        self._on_message = on_message
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        handler = grpc.method_handlers_generic_handler(
            PUBLISHER_SERVICE,
            {
                "Publish": grpc.unary_unary_rpc_method_handler(
                    self._publish,
                    request_deserializer=PublishRequest.deserialize,
                    response_serializer=PublishResponse.serialize,
                )
            },
        )
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="pubsub"))
        self._server.add_generic_rpc_handlers((handler,))
        self.port = self._server.add_insecure_port(f"{host}:{port}")
        if self.port == 0:
            raise OSError(f"cannot listen on {host}:{port} for the local Pub/Sub")
        self.address = f"{host}:{self.port}"

    def _publish(self, request: Any, context: Any) -> Any:
        from google.pubsub_v1.types import PublishResponse

        now = datetime.now(UTC)
        message_ids = []
        for message in request.messages:
            with self._lock:
                message_id = str(next(self._ids))
            message_ids.append(message_id)
            published = PublishedMessage(request.topic, message_id, bytes(message.data), dict(message.attributes), now)
            logger.info("published message %s on %s", message_id, request.topic)
            self._on_message(published)
        return PublishResponse(message_ids=message_ids)

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop(grace=1)
